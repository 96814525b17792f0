"""Both stores, real: a SQLite file in tmp_path and a fresh database on the machine's PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cockpit.core.log.entry import Actor, NewEntry

ALICE = Actor(name="alice", os_user="alice", host="laptop-a", git_email="alice@example.com")
BOB = Actor(name="bob", os_user="bob", host="laptop-b", git_email="bob@example.com")


def new(kind: str = "note", release: str = "shop-1", env: str = "prod", actor: Actor = ALICE,
        **payload: Any) -> NewEntry:
    return NewEntry(release_id=release, environment=env, kind=kind, payload=payload or {"text": "hi"}, actor=actor)


@dataclass
class Stores:
    """Opens stores of one kind on one database; `tamper` writes behind the cockpit's back."""

    kind: str
    target: str
    opened: list[Any] = field(default_factory=list)

    def open(self) -> Any:
        if self.kind == "sqlite":
            from cockpit.core.log.sqlite import SqliteLog
            log = SqliteLog(self.target)
        else:
            from cockpit.core.log.postgres import PostgresLog
            log = PostgresLog(self.target)
        self.opened.append(log)
        return log

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """As the database owner, triggers on (so the append-only rules apply)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.target, isolation_level=None)
            try:
                conn.execute(sql.replace("%s", "?"), params)
            finally:
                conn.close()
        else:
            with psycopg.connect(self.target, autocommit=True) as conn:
                conn.execute(sql, params)

    def tamper(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """As a superuser who disabled the triggers (SQLite: dropped and recreated them)."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.target, isolation_level=None)
            try:
                triggers = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
                conn.execute("BEGIN")
                for name in ("log_entries_no_update", "log_entries_no_delete"):
                    conn.execute(f"DROP TRIGGER {name}")
                conn.execute(sql.replace("%s", "?"), params)
                for (ddl,) in triggers:
                    conn.execute(ddl)
                conn.execute("COMMIT")
            finally:
                conn.close()
        else:
            with psycopg.connect(self.target, autocommit=True) as conn:
                conn.execute("SET session_replication_role = replica")  # superuser: triggers off
                conn.execute(sql, params)

    def close(self) -> None:
        for log in self.opened:
            log.close()


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "sqlite":
        s = Stores("sqlite", str(tmp_path / "release-log.sqlite"))
    else:
        s = Stores("postgres", request.getfixturevalue("pg_dsn"))
    yield s
    s.close()


@pytest.fixture
def pg_stores(pg_dsn: str) -> Iterator[Stores]:
    s = Stores("postgres", pg_dsn)
    yield s
    s.close()
