"""The browser opens the log read-only at the source, shows the spool's count and never replays it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cockpit.runbook.config import load_runbook
from cockpit.core.log.base import LogFilter
from cockpit.core.log.open import spool_dir, store_factory
from cockpit.core.log.spool import Spool
from cockpit.core.log.readonly import LogUnreadable, open_store
from cockpit.ui.browser.source import open_source
from tests.browser import logdata


def runbook(tmp_path: Path, log: str) -> Any:
    p = tmp_path / "runbook.toml"
    p.write_text(f'[release]\nname = "shop"\n\n[log]\n{log}\n\n[environments.prod]\nurl = "http://127.0.0.1:9"\n',
                 encoding="utf-8")
    return load_runbook(p)


def test_sqlite_is_opened_read_only_and_the_spool_is_counted_not_replayed(tmp_path: Path) -> None:
    from cockpit.core.log.sqlite import SqliteLog

    rb = runbook(tmp_path, 'path = "log.sqlite"')
    store = SqliteLog(tmp_path / "log.sqlite")
    logdata.bulk_load(store, logdata.history(3))
    head = store.head()
    spool = Spool(spool_dir(rb), f"spool-{store_factory(rb).identity}")
    with spool.locked():
        for n in list(logdata.notes(2, release="later")):
            spool.add(n)
    src = open_source(rb)
    try:
        assert src.spool_waiting() == 2
        assert not hasattr(src.reader, "append") and not hasattr(src.reader, "append_guarded")
        assert len(src.reader.page(limit=1000)) == head.seq and src.reader.count(LogFilter(release_id="later")) == 0
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            src.reader._log._conn.execute("DELETE FROM schema_migrations")  # the connection itself refuses
        assert src.spool_waiting() == 2  # reading did not replay the spool
    finally:
        src.close()
    assert store.head() == head and store.count() == head.seq
    store.close()


def test_postgres_session_is_read_only(pg_dsn: str, tmp_path: Path) -> None:
    from cockpit.core.log.postgres import PostgresLog

    store = PostgresLog(pg_dsn)
    logdata.bulk_load(store, logdata.history(2))
    src = open_source(runbook(tmp_path, f'dsn = "{pg_dsn}"'))
    try:
        assert src.reader.count() == store.count() and src.description.startswith("PostgreSQL postgresql://")
        assert src.reader.verify().ok
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            with src.reader._log._reading() as cur:  # the server refuses any write in this session
                cur.execute("INSERT INTO notify_cursors (target, through_seq) VALUES ('x', 1)")
    finally:
        src.close()
    store.close()


def test_no_log_yet_is_a_clear_error_and_creates_nothing(tmp_path: Path, pg_dsn: str) -> None:
    with pytest.raises(LogUnreadable, match="no release log at .* yet"):
        open_source(runbook(tmp_path, 'path = ".deploy/log.sqlite"'))
    assert not (tmp_path / ".deploy").exists()
    with pytest.raises(LogUnreadable, match="holds no release log yet"):
        open_store(dsn=pg_dsn)
    with psycopg.connect(pg_dsn) as conn:  # nothing was migrated into the empty database
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(LogUnreadable, match="unreachable"):
        open_store(dsn="postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    with pytest.raises(LogUnreadable, match="not a valid PostgreSQL DSN"):
        open_store(dsn="postgresql://[bad")
