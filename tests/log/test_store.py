"""The two stores: one schema, append-only, one linear chain however many cockpits append."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.core.log.base import LogFilter
from cockpit.core.log.chain import PayloadError
from cockpit.core.log.entry import GENESIS, Entry
from tests.log.conftest import ALICE, BOB, Stores, new

ROOT = Path(__file__).resolve().parents[2]


def test_append_seals_a_chain_that_reads_back_identically(stores: Stores) -> None:
    log = stores.open()
    first = log.append(new(text="one"))
    second = log.append(new("flag.flipped", actor=BOB, flag="CHECKOUT", before=False, after=True))
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.expected_hash() == first.hash and second.expected_hash() == second.hash
    again = stores.open()  # another cockpit reads exactly what was sealed
    assert list(again.entries()) == [first, second]
    assert again.head() == second and again.count() == 2
    assert again.entry(1) == first and again.entry(3) is None


def test_payload_is_normalised_so_every_store_rehashes_it(stores: Stores) -> None:
    log = stores.open()
    e = log.append(new(big=1e16, negzero=-0.0, nul="a\x00b", nested={"x": [1.5, "ü"]}))
    back = stores.open().entry(e.seq)
    assert back == e and back.expected_hash() == e.hash
    assert back.payload["big"] == 10**16 and back.payload["nul"] == "a\ufffdb"
    assert log.verify().ok
    with pytest.raises(PayloadError, match="JSON"):
        log.append(new(bad=float("nan")))
    with pytest.raises(PayloadError, match="not JSON"):
        log.append(new(bad=object()))
    assert log.count() == 1


def test_the_same_uid_is_stored_once(stores: Stores) -> None:
    log = stores.open()
    entry = new()
    a = log.append(entry)
    b = stores.open().append(entry)  # a replay after a crash
    assert a == b and log.count() == 1


def test_keyset_pages_and_filters(stores: Stores) -> None:
    log = stores.open()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    from dataclasses import replace
    for i in range(30):
        kind = ["note", "flag.flipped", "flag.snapshot", "decision.go"][i % 4]
        log.append(replace(new(kind, release=f"r{i % 3}", env="prod" if i % 2 else "staging",
                               actor=ALICE if i < 20 else BOB, text=f"entry {i} Needle" if i == 17 else f"entry {i}"),
                           at=t0 + timedelta(minutes=i)))
    assert [e.seq for e in log.page(limit=5)] == [1, 2, 3, 4, 5]
    assert [e.seq for e in log.page(after_seq=5, limit=3)] == [6, 7, 8]
    assert [e.seq for e in log.page(limit=3, newest_first=True)] == [30, 29, 28]
    assert [e.seq for e in log.page(before_seq=28, limit=2, newest_first=True)] == [27, 26]
    assert log.count(LogFilter(kind="flag.")) == 15
    assert all(e.kind.startswith("flag.") for e in log.entries(LogFilter(kind="flag.")))
    assert log.count(LogFilter(kind="flag")) == 0  # exact unless it ends with '.'
    assert [e.seq for e in log.entries(LogFilter(release_id="r1", environment="prod"))] == [2, 8, 14, 20, 26]
    assert log.count(LogFilter(actor="bob")) == 10
    assert [e.seq for e in log.entries(LogFilter(since=t0 + timedelta(minutes=10), until=t0 + timedelta(minutes=12)))] == [11, 12]
    assert [e.seq for e in log.entries(LogFilter(text="needle"))] == [18]
    assert log.count(LogFilter(text="100%")) == 0  # LIKE wildcards are literal
    assert [e.seq for e in log.page(LogFilter(release_id="r0"), after_seq=10, limit=2)] == [13, 16]


def test_entries_streams_in_keyset_batches(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.core.log import sqlstore
    monkeypatch.setattr(sqlstore, "STREAM_BATCH", 4)
    log = stores.open()
    for i in range(11):
        log.append(new(i=i))
    pages: list[int | None] = []
    real_page = log.page
    monkeypatch.setattr(log, "page", lambda *a, **kw: pages.append(kw.get("after_seq")) or real_page(*a, **kw))
    assert [e.seq for e in log.entries()] == list(range(1, 12))
    assert pages == [None, 4, 8]  # three bounded reads, never the whole log


REWRITES = ["UPDATE log_entries SET kind = 'x'", "DELETE FROM log_entries", "DELETE FROM log_entries WHERE seq = 1"]


@pytest.mark.parametrize("statement", REWRITES)
def test_triggers_refuse_rewriting_history(stores: Stores, statement: str) -> None:
    log = stores.open()
    log.append(new())
    with pytest.raises(Exception, match="append-only"):
        stores.execute(statement)
    assert log.count() == 1 and log.verify().ok


def test_postgres_refuses_truncate(pg_dsn: str) -> None:
    """SQLite has no TRUNCATE (its DELETE without WHERE is covered above); PostgreSQL's needs its own trigger."""
    import psycopg

    from cockpit.core.log.postgres import PostgresLog

    log = PostgresLog(pg_dsn)
    log.append(new())
    with psycopg.connect(pg_dsn, autocommit=True) as conn, pytest.raises(Exception, match="append-only"):
        conn.execute("TRUNCATE log_entries")
    assert log.count() == 1 and log.verify().ok
    log.close()


def test_migrations_are_versioned_and_idempotent(stores: Stores) -> None:
    log = stores.open()
    assert log.schema_version() == 4
    assert log.migrate() == []  # nothing left to apply
    assert stores.open().schema_version() == 4


def _chain_is_one_line(entries: list[Entry], n: int) -> None:
    assert [e.seq for e in entries] == list(range(1, n + 1))
    prev = GENESIS
    for e in entries:
        assert e.prev_hash == prev and e.expected_hash() == e.hash
        prev = e.hash


def test_ten_threads_appending_at_once_make_one_chain(stores: Stores) -> None:
    logs = [stores.open() for _ in range(10)]
    start = threading.Barrier(10)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            for j in range(20):
                logs[i].append(new(i=i, j=j))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    entries = list(logs[0].entries())
    _chain_is_one_line(entries, 200)
    assert logs[0].verify().ok


def test_ten_processes_appending_at_once_make_one_chain(stores: Stores) -> None:
    # Each child also runs the migrations on a fresh database at the same moment (advisory lock / BEGIN IMMEDIATE).
    procs = [subprocess.Popen([sys.executable, "-m", "tests.log.appender", stores.kind, stores.target, "15"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(10)]
    acked: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        acked += [line.split()[1] for line in out.splitlines()[1:]]
    log = stores.open()
    entries = list(log.entries())
    _chain_is_one_line(entries, 150)
    assert sorted(e.uid for e in entries) == sorted(acked)
    assert log.verify().ok
