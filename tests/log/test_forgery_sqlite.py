"""The forgery drills on SQLite: the file edited directly (triggers dropped and made again), every hash
recomputed; each forgery found and named by `cockpit log verify --witnesses` (tests/log/forgery_drills.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.log.forgery import Release, honest_release, stop
from tests.log.forgery_drills import *  # noqa: F403  (the drills, collected here against this store)


@pytest.fixture
async def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Release]:
    rel = await honest_release(tmp_path, "sqlite", str(tmp_path / "release-log.sqlite"), monkeypatch)
    yield rel
    stop(rel)
