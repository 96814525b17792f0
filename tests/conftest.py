"""Fixtures shared by the whole suite: real PostgreSQL databases and real git repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.gitrepos import Repo, make_repo
from tests.helpers.pg import create_database, drop_database


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A fresh, empty database on the real server; dropped afterwards."""
    dsn = create_database()
    try:
        yield dsn
    finally:
        drop_database(dsn)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo")
