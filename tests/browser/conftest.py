"""Stores for the browser tests: real SQLite files and real PostgreSQL databases, same history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.core.log.entry import Entry
from tests.browser import logdata


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def writable_store(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A writable store (what a cockpit writes through); the tests read it back read-only."""
    if store_kind == "sqlite":
        from cockpit.core.log.sqlite import SqliteLog

        store: Any = SqliteLog(tmp_path / "log.sqlite")
        store.location = {"sqlite_path": tmp_path / "log.sqlite"}
    else:
        from cockpit.core.log.postgres import PostgresLog

        dsn = request.getfixturevalue("pg_dsn")
        store = PostgresLog(dsn)
        store.location = {"dsn": dsn}
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def history_store(writable_store: Any) -> tuple[Any, list[Entry]]:
    """60 releases (~620 entries) with rollbacks and NO-GOs, loaded in one transaction."""
    entries = logdata.bulk_load(writable_store, logdata.history(60))
    return writable_store, entries
