"""One-line forms never refuse silently: Enter on an empty answer, or on a wrong confirmation, says
what is wanted and keeps the form open; a right answer is submitted with Enter."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Static

from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.widgets.confirm import ConfirmScreen


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
