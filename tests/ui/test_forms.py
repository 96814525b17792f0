"""One-line forms never refuse silently: Enter on an empty answer, or on a wrong confirmation, says
what is wanted and keeps the form open; a right answer is submitted with Enter."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.widgets.confirm import ConfirmScreen
from tests.helpers.demo import Demo
from tests.ui.fixtures import workers_done


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []


async def test_enter_on_an_empty_note_says_what_is_wanted() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.push_screen(PromptScreen("Tick: backup", "Postgres dump done?", "a note: where the proof is"),
                        app.results.append)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        wanted = app.screen.query_one("#wanted", Static)
        assert isinstance(app.screen, PromptScreen) and wanted.display
        assert "type a note: where the proof is first" in str(wanted.render())
        await pilot.press(*"dump in s3://backups/42", "enter")
        await pilot.pause()
        assert app.results == ["dump in s3://backups/42"]


async def test_enter_on_a_wrong_confirmation_says_what_to_type() -> None:
    app = Host()
    async with app.run_test() as pilot:
        app.push_screen(ConfirmScreen("Give GO", "target abc1234", type_to_confirm="abc1234"), app.results.append)
        await pilot.pause()
        await pilot.press(*"abc123", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.results == []
        assert any("Type abc1234 exactly" in n.message for n in app._notifications)
        await pilot.press("4", "enter")
        await pilot.pause()
        assert app.results == [True]


async def test_cutover_actions_say_why_before_asking_anything(demo: Demo) -> None:
    """Mark-stable, start and close are checked against the release before a note or a confirmation
    is asked for: the refusal comes first, with its reason, and no form opens."""
    from cockpit.core.log.entry import Actor
    from cockpit.core.log.open import open_log
    from cockpit.ui.app import make_app
    from tests.helpers.demo import in_cutover

    log = open_log(demo.runbook)
    await in_cutover(demo.runbook, log, Actor("Ann", "ann", "laptop"))  # layer-0 started, its window open
    app = make_app(demo.runbook, log, actor=Actor("Ann", "ann", "laptop"), refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await workers_done(app)
        await pilot.pause()
        screen = app.screen
        screen.query_one("#stages").move_cursor(row=1)  # layer-1: layer-0 is not stable yet
        for key in ("m", "f", "D"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen, f"{key} opened a form"
        said = [n.message for n in app._notifications]
        assert any("layer-1 cannot be marked stable: only a started stage" in m for m in said), said
        assert any(m.startswith("layer-1 cannot start:") and "layer-0" in m for m in said), said
        assert any("cannot be closed yet: stages not yet stable" in m for m in said), said


async def test_quit_while_an_action_runs_asks_first(demo: Demo) -> None:
    import asyncio

    from cockpit.core.log.open import open_log
    from cockpit.ui.app import make_app
    from cockpit.ui.messages import RunCore

    release = asyncio.Event()
    app = make_app(demo.runbook, open_log(demo.runbook), refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await workers_done(app)
        app.post_message(RunCore(release.wait))  # stands for a flip or GO in progress
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("escape")  # stay
        await pilot.pause()
        assert app.is_running
        release.set()
        await workers_done(app)
        await pilot.press("ctrl+q")  # nothing runs: leaves at once
        await pilot.pause()
        assert not app.is_running
