"""Command steps (core/runs.py): real bash processes, real process groups, a real kill -9 of the
process that started them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.core.runs import Runs
from tests.helpers.procs import alive

ROOT = Path(__file__).resolve().parents[2]



def run(runs: Runs, cmd: str, cwd: Path, timeout_s: float = 5, on_line=None):  # type: ignore[no-untyped-def]
    return asyncio.run(runs.start("rel:deploy", cmd, cwd=cwd, timeout_s=timeout_s, on_line=on_line))


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    res = run(Runs(tmp_path / "runs"), f"sleep 60 & echo $! > {pidfile}; echo started; wait", tmp_path, 0.5)
    assert res.timed_out and res.exit_code is None and not res.ok and res.tail == ["started"]
    assert not alive(int(pidfile.read_text()))  # the backgrounded child went with the group


def test_output_is_data(tmp_path: Path) -> None:
    lines: list[str] = []
    cmd = r"printf '[bold red]markup[/]\n\033[2Jclear\n'; printf 'no newline at end'; exit 3"
    res = run(Runs(tmp_path / "runs"), cmd, tmp_path, on_line=lines.append)
    assert res.exit_code == 3 and lines == ["[bold red]markup[/]", "\x1b[2Jclear", "no newline at end"]


def test_cancelled_run_leaves_nothing_running(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"

    async def go() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(Runs(tmp_path / "runs").start(
            "rel:deploy", f"echo $$ > {pidfile}; echo up; exec sleep 60", cwd=tmp_path, timeout_s=60,
            on_line=lambda _: started.set()))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert not alive(int(pidfile.read_text()))


STARTER = """
import asyncio, sys
from pathlib import Path
from cockpit.core.runs import Runs
from tests.helpers.procs import alive
runs, cwd, cmd = Runs(Path(sys.argv[1])), Path(sys.argv[2]), sys.argv[3]
asyncio.run(runs.start("rel:deploy", cmd, cwd=cwd, timeout_s=30))
"""


def start_and_kill9(tmp_path: Path, cmd: str) -> None:
    """A process starts the run, and is killed -9 while the run goes on (the crashed cockpit)."""
    p = subprocess.Popen([sys.executable, "-c", STARTER, str(tmp_path / "runs"), str(tmp_path), cmd], cwd=ROOT)
    deadline = time.monotonic() + 10
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and p.poll() is None, "the run did not start"
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()


CMD = "echo x >> starts; touch started; echo working; sleep 1.2; echo finished"


def test_a_run_that_outlives_its_cockpit_is_followed_never_started_twice(tmp_path: Path) -> None:
    start_and_kill9(tmp_path, CMD)
    runs = Runs(tmp_path / "runs")
    left = runs.find("rel:deploy")
    assert left is not None and runs.running(left)
    with pytest.raises(RuntimeError, match="still running"):
        run(runs, CMD, tmp_path)
    lines: list[str] = []
    res = asyncio.run(runs.follow(left, on_line=lines.append))
    assert res.ok and lines == ["working", "finished"]
    assert (tmp_path / "starts").read_text() == "x\n"  # one start, whoever waited for it


def test_a_run_that_ended_unseen_gives_its_exit_code(tmp_path: Path) -> None:
    start_and_kill9(tmp_path, "touch started; sleep 0.3; exit 7")
    runs = Runs(tmp_path / "runs")
    left = runs.find("rel:deploy")
    assert left is not None
    deadline = time.monotonic() + 10
    while runs.running(left):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert runs.exit_code(left) == 7
    assert asyncio.run(runs.follow(left)).exit_code == 7


def test_a_run_found_by_its_id_when_its_pid_was_never_written(tmp_path: Path) -> None:
    """The marker is written before the start; a cockpit killed between the spawn and writing the pid
    still leaves a run that is found (its processes carry the run id) and can be stopped."""
    start_and_kill9(tmp_path, "touch started; exec sleep 30")
    runs = Runs(tmp_path / "runs")
    left = runs.find("rel:deploy")
    assert left is not None
    left.pid = None  # as if the pid had not been written
    assert runs.running(left)
    runs.stop(left)
    assert not runs.running(left) and runs.exit_code(left) is None
