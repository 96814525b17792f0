"""UI fixtures: the embedded demo target with its scratch checkout, and deterministic Textual runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.runbook.config import Runbook, load_runbook
from cockpit.demo.scratch import Scratch, make_scratch
from cockpit.demo.target import DemoTarget


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
