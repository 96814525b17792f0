"""Failures become notifications, never a crash: a release that cannot be opened, actions pressed
before it is open, a flag service whose secret is missing."""

from __future__ import annotations

from pathlib import Path

from cockpit.runbook.config import load_runbook
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.ui.app import make_app
from tests.helpers.demo import Demo, in_cutover
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop")


async def test_a_release_that_cannot_open_is_explained_and_keys_do_not_crash(demo: Demo, tmp_path: Path) -> None:
    text = demo.scratch.runbook_path.read_text().replace('repo = "."', f'repo = "{tmp_path}"', 1)
    broken = demo.scratch.runbook_path.with_name("broken.toml")
    broken.write_text(text)
    runbook = load_runbook(broken)
    assert runbook.repo_path == tmp_path  # not a git repository: the target cannot be resolved
    log = open_log(runbook)
    app = make_app(runbook, log, actor=ANN, refresh_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await workers_done(app)
        await pilot.pause()
        assert app.session is None and app.open_error and "git" in app.open_error.lower()
        for key in ("s", "g", "n", "r", "space", "2", "f", "k"):
            await pilot.press(key)
            await pilot.pause()
        assert app.is_running  # still here, nothing raised out of a handler
        messages = [n.message for n in app._notifications]
        assert any("git" in m.lower() for m in messages), messages
    log.close()


async def test_a_missing_flag_secret_at_stage_start_is_a_notification(demo: Demo, monkeypatch) -> None:  # noqa: ANN001
    log = open_log(demo.runbook)
    session = await in_cutover(demo.runbook, log, ANN)
    await session.mark_stable("layer-0", "green")
    monkeypatch.delenv("COCKPIT_SECRET_DEMO_FLAGS")
    app = make_app(demo.runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(110, 32)) as pilot:
        await workers_done(app)
        await pilot.pause()
        assert app.current_mode == "cutover"
        app.screen.query_one("#stages").move_cursor(row=1)  # layer-1: its flag needs the flag service's token
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#confirm")
        await workers_done(app)
        await pilot.pause()
        assert app.is_running
        assert app.session.state.stage("layer-1").status.value == "pending"  # nothing half-done was recorded
        messages = " ".join(n.message for n in app._notifications)
        assert "demo-flags" in messages and "COCKPIT_SECRET_DEMO_FLAGS" in messages, messages
        assert demo.target.token not in messages
    log.close()
