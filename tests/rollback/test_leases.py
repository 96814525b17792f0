"""Leases outside the chain: whatever holds the environment's lock — the cockpit, the rollback wizard,
a headless command — keeps its lease renewed for as long as it acts (a 1 s lease, acts of several
seconds), and the log holds no renewal entries: only taking and releasing the lock are history."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.core.log.base import LogFilter
from cockpit.core.log.lock import lock_holder
from cockpit.core.log.sqlite import SqliteLog
from cockpit.runbook.config import Runbook, load_runbook
from cockpit.ui.app import make_app
from cockpit.ui.rollback_app import make_rollback_app
from tests.helpers.demo import in_cutover
from tests.rollback.conftest import Demo
from tests.rollback.release import ALICE, BOB, go_release
from tests.rollback.test_wizard import confirm_step, settle, wizard
from tests.ui.fixtures import workers_done

LEASE = "2s"
"""Short, so a held lock outlives it only by being renewed; long enough that a busy machine's late renewal
(every third of it) does not open a gap."""


def short_lease(demo: Demo) -> Runbook:
    """The demo runbook with a 2 s lease, on disk too (for the commands run as processes)."""
    path = demo.scratch.runbook_path
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[release]\n", f'[release]\nlock_lease = "{LEASE}"\n', 1), encoding="utf-8")
    return load_runbook(path)


class LockWatch:
    """Another process's view of the lock, sampled every 100 ms in a thread with its own connection."""

    def __init__(self, path: Path):
        self.log = SqliteLog(path)
        self.samples: list[tuple[datetime, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC)
            held = lock_holder(self.log, "production", now)
            self.samples.append((now, held.holder.name if held else None))
            time.sleep(0.1)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.log.close()

    def held_by(self, name: str) -> timedelta:
        """How long `name` held the lock without a gap (the longest run of samples)."""
        best, start = timedelta(0), None
        for at, who in self.samples:
            if who == name:
                start = start or at
                best = max(best, at - start)
            else:
                start = None
        return best


def no_renewals(demo: Demo) -> None:
    kinds_written = {e.kind for e in demo.log.entries(LogFilter(kind="lock."))}
    assert kinds_written <= {"lock.taken", "lock.released"} and "lock.taken" in kinds_written


def test_a_headless_rollback_keeps_its_lease_while_the_deploy_runs(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    runbook = short_lease(demo)
    asyncio.run(go_release(runbook, demo.log))
    env = {**os.environ, "DEMO_DEPLOY_STEP_SECONDS": "1"}  # a deploy of 4 s: two leases
    with LockWatch(demo.scratch.log_path) as watch:
        p = subprocess.run([sys.executable, "-m", "cockpit", "rollback", "--config", str(demo.scratch.runbook_path),
                            "--as", "bob", "--yes"], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    assert watch.held_by("bob") >= timedelta(seconds=3)  # renewed all along, never lapsed
    assert lock_holder(demo.log, "production") is None  # given back at the end
    no_renewals(demo)


def test_the_rollback_wizard_keeps_its_lease_while_a_step_runs(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    runbook = short_lease(demo)
    asyncio.run(go_release(runbook, demo.log))
    monkeypatch.setenv("DEMO_DEPLOY_STEP_SECONDS", "1")

    async def run() -> None:
        app = make_rollback_app(runbook, demo.log, "production", BOB, flag_backoff=0.01, tick_seconds=0)
        async with app.run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            await confirm_step(pilot)  # flags: the wizard takes the lock over from alice
            with LockWatch(demo.scratch.log_path) as watch:
                await confirm_step(pilot)  # the 4 s deploy
            assert wizard(pilot).status["deploy"] == "done"
            assert watch.held_by("bob") >= timedelta(seconds=3)

    asyncio.run(run())
    no_renewals(demo)


async def _opened(pilot) -> None:  # noqa: ANN001
    for _ in range(3):  # the release opens after the first paint
        await workers_done(pilot.app)
        await pilot.pause()


def test_the_cockpit_keeps_its_lease_from_go_on(demo: Demo) -> None:
    runbook = short_lease(demo)

    async def run() -> None:
        app = make_app(runbook, demo.log, actor=ALICE, refresh_every=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await _opened(pilot)
            session = app.session  # the cockpit's own release, acted on as its screens do
            await session.sign_off("alice", "bob", "v1.0.0")
            await session.tick("overlap-tested", "tested on staging")
            await session.take_evidence()
            await session.go(session.target.short)
            with LockWatch(demo.scratch.log_path) as watch:
                await asyncio.sleep(5.0)
            assert watch.held_by("alice") >= timedelta(seconds=4.5)  # two leases and more: renewed

    asyncio.run(run())
    no_renewals(demo)


def test_a_cockpit_reopened_mid_cutover_renews_the_lease_it_holds(demo: Demo) -> None:
    runbook = short_lease(demo)

    async def crashed() -> None:  # a cockpit that went GO and died: its lease is no longer renewed
        session = await in_cutover(runbook, demo.log, ALICE)
        session.close()

    asyncio.run(crashed())

    async def run() -> None:
        app = make_app(runbook, demo.log, actor=ALICE, refresh_every=None, take_on_open=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await _opened(pilot)
            assert app.session.state.phase == "cutover"
            with LockWatch(demo.scratch.log_path) as watch:
                await asyncio.sleep(5.0)
            assert watch.held_by("alice") >= timedelta(seconds=4.5)  # two leases and more: renewed
            assert "lock: you" in app.view.log_status

    asyncio.run(run())
    no_renewals(demo)
