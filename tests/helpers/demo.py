"""The embedded demo target with its scratch checkout (a real git repo) and runbook: the release's
realistic surroundings for core and UI tests alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.core.log.entry import Actor
from cockpit.core.session import ReleaseSession
from cockpit.demo.scratch import Scratch, make_scratch
from cockpit.demo.target import DemoTarget
from cockpit.runbook.config import Runbook, load_runbook


@dataclass
class Demo:
    target: DemoTarget
    scratch: Scratch
    runbook: Runbook


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    with DemoTarget() as target:
        scratch = make_scratch(tmp_path / "demo", target)
        monkeypatch.setenv("COCKPIT_SECRET_DEMO_FLAGS", target.token)
        yield Demo(target, scratch, load_runbook(scratch.runbook_path))


async def in_cutover(runbook: Runbook, log: Any, actor: Actor, stage: str = "layer-0") -> ReleaseSession:
    """The demo release signed off (Ann / Bob, rollback to v1.0.0), ticked, GO, and `stage` started."""
    session = await ReleaseSession.open(runbook, log, "production", actor)
    await session.sign_off("Ann", "Bob", "v1.0.0")
    await session.tick("overlap-tested", "tested on staging")
    await session.take_evidence()
    await session.go(session.target.short)
    await session.start_stage(stage)
    return session
