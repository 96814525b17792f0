"""Fixtures for the rollback tests: the demo target (on a port it can be restarted on), its scratch
checkout (a real git repo with the deploy script), a real SQLite log, and a release at GO."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.runbook.config import Runbook, load_runbook
from cockpit.core.log.sqlite import SqliteLog
from cockpit.core.session import ReleaseSession
from cockpit.demo import DEMO_TOKEN, DemoTarget
from cockpit.demo.scratch import Scratch, make_scratch
from tests.rollback.release import free_port, go_release


@dataclass
class Demo:
    target: DemoTarget
    scratch: Scratch
    runbook: Runbook
    log: SqliteLog

    @property
    def checkout(self) -> Path:
        return self.scratch.checkout

    def restart_target(self) -> None:
        self.target.start()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    monkeypatch.setenv("COCKPIT_SECRET_DEMO_FLAGS", DEMO_TOKEN)
    monkeypatch.setenv("DEMO_DEPLOY_STEP_SECONDS", "0")
    with DemoTarget(port=free_port()) as target:
        scratch = make_scratch(tmp_path / "scratch", target)
        runbook = load_runbook(scratch.runbook_path)
        log = SqliteLog(scratch.log_path)
        try:
            yield Demo(target, scratch, runbook, log)
        finally:
            log.close()


@pytest.fixture
def released(demo: Demo) -> ReleaseSession:
    """The demo release at GO with layer-1 and layer-2 flags flipped ON (rollback ref v1.0.0, owner bob)."""
    return asyncio.run(go_release(demo.runbook, demo.log))
