"""The cockpit paints from the runbook's outline, then validates the runbook and opens the log and the
release. While that runs the screen is there and keys are refused with a reason; a runbook that
fails validation ends the app with the key and line (exit 2), also in a real terminal."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from rich.text import Text

from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.opening import Opening
from cockpit.runbook.outline import read_outline
from cockpit.ui.app import CockpitApp
from cockpit.ui.widgets.checklist import Checklist
from tests.helpers.demo import Demo
from tests.ui.fixtures import workers_done
from tests.ui.terminal import run_in_terminal

ANN = Actor("Ann", "ann", "laptop")


def row_keys(app: CockpitApp) -> list[str]:
    return [r.key for r in app.screen.query_one("#checklist", Checklist).rows]


def plain(cells: list[Text]) -> list[str]:
    return [c.plain for c in cells]


async def test_the_checklist_is_painted_before_the_runbook_is_loaded(demo: Demo) -> None:
    log = open_log(demo.runbook)
    outline = read_outline(demo.scratch.runbook_path.read_text())
    assert outline is not None
    go_on = threading.Event()

    def slow_load():  # the real runbook and log, held back until the test has looked at the screen
        assert go_on.wait(30)
        return demo.runbook, log

    app = CockpitApp(Opening(outline, slow_load), actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        assert app.runbook is None and app.session is None  # still loading
        checks = [c.id for c in outline.checks]
        assert [k for k in row_keys(app) if not k.startswith("stage:")] == checks
        table = app.screen.query_one("#checklist", Checklist)
        manual = next(c for c in outline.checks if c.kind == "manual")
        assert plain(table.rows[table.row_index(manual.id)].cells)[:3] == ["… pending", "MUST", manual.label]
        assert "opening the release" in str(app.screen.query_one("#release").render())
        for key in ("space", "s", "g", "f5"):  # tick, sign off, GO, re-take: refused until it is open
            await pilot.press(key)
            await pilot.pause()
        assert app.is_running
        assert any("still being opened" in n.message for n in app._notifications)

        go_on.set()
        for _ in range(3):
            await workers_done(app)
            await pilot.pause()
        assert app.session is not None and app.runbook is demo.runbook
        assert [k for k in row_keys(app) if not k.startswith("stage:")] == checks  # the same rows, now live
        assert app.sub_title.endswith(app.session.release_id)
    log.close()


async def test_a_runbook_that_fails_validation_ends_the_app_with_key_and_line(demo: Demo) -> None:
    text = demo.scratch.runbook_path.read_text()
    bad = demo.scratch.runbook_path.with_name("typo.toml")
    bad.write_text(text.replace("[[checks]]\n", "[[checks]]\nmax_agee = \"1h\"\n", 1))
    line = bad.read_text().splitlines().index('max_agee = "1h"') + 1
    opening = Opening.from_file(bad)  # shaped like a runbook: the screen comes first
    app = CockpitApp(opening, actor=ANN, refresh_every=None)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(50):
            if not app.is_running:
                break
            await pilot.pause(0.05)
    assert app.return_code == 2
    assert app.startup_error and f"line {line}: checks[0].max_agee: unknown key" in app.startup_error
    assert app.log_store is None  # nothing was opened, nothing logged


# -- the real command in a real (pseudo) terminal ----------------------------------------------------

def test_cockpit_run_in_a_terminal_paints_and_quits(demo: Demo) -> None:
    first = demo.runbook.checks[0].label
    code, screen = run_in_terminal(["run", "--config", str(demo.scratch.runbook_path), "--refresh", "0"],
                                   demo.scratch.checkout, until="GO", keys=b"q")
    assert code == 0, screen[-2000:]
    assert first[:20] in screen and "Release gate" in screen


def test_cockpit_run_in_a_terminal_with_a_typo_exits_2_naming_the_line(demo: Demo) -> None:
    text = demo.scratch.runbook_path.read_text()
    bad = demo.scratch.runbook_path.with_name("typo.toml")
    bad.write_text(text.replace("[[checks]]\n", "[[checks]]\nmax_agee = \"1h\"\n", 1))
    line = bad.read_text().splitlines().index('max_agee = "1h"') + 1
    code, screen = run_in_terminal(["run", "--config", str(bad)], demo.scratch.checkout)
    assert code == 2, screen[-2000:]
    assert f"line {line}: checks[0].max_agee: unknown key" in screen


def test_cockpit_run_with_a_file_that_is_no_runbook_exits_2_before_any_screen(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[release]\nname = "shop"\n[log]\npath = "x.db"\n[environments.prod]\n[[checks]]\nid = "a"\nkind = "htp"\n')
    r = subprocess.run([sys.executable, "-m", "cockpit", "run", "--config", str(bad)], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 2
    assert "line 8: checks[0].kind" in r.stderr and "htp" in r.stderr
    assert "\x1b[" not in r.stdout  # refused before Textual took the terminal
