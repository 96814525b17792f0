"""`cockpit demo` in a real terminal, as a newcomer meets it: the TUI itself says where the target
answers and which commands to try from another terminal (the banner printed before it is hidden
while the TUI runs), those commands work while it runs, and its scratch folder is there for as long
as the demo runs — removed only when it ends."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from cockpit.cli.demo_cmd import SECRET
from cockpit.core.secrets import env_name
from tests.ui.terminal import Terminal

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_tui_shows_what_to_try_and_keeps_its_folder_while_it_runs() -> None:
    env = {k: v for k, v in os.environ.items() if k != env_name(SECRET)}
    term = Terminal(["demo", "--as", "newcomer"], ROOT, env)
    try:
        term.wait_for("try, from another terminal:")  # the banner, before the TUI takes the screen
        at = term.wait_for("what to try from another terminal")  # the TUI's demo line
        banner = term.text
        url = re.search(r"demo target\s+(http://127\.0\.0\.1:\d+)", banner).group(1)
        runbook = Path(re.search(r"runbook\s+(\S+)", banner).group(1))
        folder = runbook.parent.parent  # the temporary folder: origin.git and the shop checkout
        assert f"target {url}".encode() in term.seen[max(0, at - 200):at]

        # From another terminal, while the cockpit runs: the suggested check works on the scratch runbook.
        for _ in range(3):
            assert runbook.exists() and (folder / "origin.git").is_dir()
            check = subprocess.run([sys.executable, "-m", "cockpit", "check", "--config", str(runbook)],
                                   capture_output=True, text=True, timeout=120, env=env)
            assert check.returncode in (0, 1), check.stderr
            assert "release checks pass" in check.stdout, check.stdout + check.stderr
            time.sleep(1)

        shown = term.type(b"?")  # the help carries the same hints, inside the TUI
        term.wait_for("Try, from another terminal", since=shown)
        term.wait_for(str(runbook), since=shown)
        term.wait_for(f"cockpit check --config {runbook}", since=shown)
        term.wait_for(f"{url}/admin", since=shown)  # the flag API, beside the target
        term.wait_for("(removed when the demo", since=shown)

        term.type(b"?")  # close the help
        term.type(b"q")
        assert term.wait_exit() == 0, term.text[-2000:]
        assert not folder.exists(), "the temporary scratch folder is removed when the demo ends"
        assert f"demo folder removed: {folder}" in term.text  # said under the banner that shows again
    finally:
        term.kill()
