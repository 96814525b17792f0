"""Two terminals on one release: the demo runbook's log on SQLite (its own file) or on PostgreSQL
(COCKPIT_LOG_DSN, a fresh database), shared by the cockpit under test and the commands run as
other processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.helpers.demo import Demo, demo

__all__ = ["Demo", "demo", "store", "cockpit"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "postgres":
        monkeypatch.setenv("COCKPIT_LOG_DSN", request.getfixturevalue("pg_dsn"))
    yield request.param


def cockpit(demo: Demo, *args: str, actor: str = "Bob") -> subprocess.CompletedProcess[str]:
    """Another terminal: `cockpit …` as a process of its own, on the demo runbook, as `actor`."""
    command, *rest = args
    sub = [command, rest.pop(0)] if command in ("flags", "log") else [command]
    return subprocess.run([sys.executable, "-m", "cockpit", *sub, "--config", str(demo.scratch.runbook_path),
                           "--env", "production", "--as", actor, *rest],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
