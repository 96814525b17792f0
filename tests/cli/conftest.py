"""CLI tests run the real `cockpit` in a subprocess against the demo target on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.demo.scratch import Scratch, make_scratch
from cockpit.demo.target import DemoTarget


@dataclass
class Cli:
    target: DemoTarget
    scratch: Scratch

    @property
    def config(self) -> str:
        return str(self.scratch.runbook_path)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COCKPIT_SECRET_DEMO_FLAGS": self.target.token, "COCKPIT_ACTOR": "ci-bot"}
        return subprocess.run([sys.executable, "-m", "cockpit", *args], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=self.scratch.checkout)

    def json(self, *args: str) -> tuple[int, Any]:
        r = self.run(*args, "--json")
        try:
            return r.returncode, json.loads(r.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON (exit {r.returncode}):\n{r.stdout}\n{r.stderr}") from None


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    with DemoTarget() as target:
        yield Cli(target, make_scratch(tmp_path / "demo", target))
