"""Nothing acknowledged is lost: outages spool and replay in order; kill -9 loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.core.log.base import LogUnavailable
from cockpit.core.log.postgres import PostgresLog
from cockpit.core.log.spool import Spool, SpooledLog, is_pending
from cockpit.core.log.sqlite import SqliteLog
from tests.helpers.pgproxy import PgProxy
from tests.log.conftest import new

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def proxy() -> Iterator[PgProxy]:
    p = PgProxy().start()
    yield p
    p.cut()


def _spooled(dsn: str, spool: Path) -> SpooledLog:
    return SpooledLog(lambda: PostgresLog(dsn, connect_timeout=2), spool, retry_interval=0)


def test_a_postgres_outage_mid_session_loses_nothing_and_replays_in_order(pg_dsn: str, proxy: PgProxy,
                                                                         tmp_path: Path) -> None:
    log = _spooled(proxy.dsn(pg_dsn), tmp_path / "spool")
    stored = [log.append(new(i=i)) for i in range(3)]
    assert [e.seq for e in stored] == [1, 2, 3]

    proxy.cut()
    waiting = [log.append(new(i=i)) for i in range(3, 7)]
    assert all(is_pending(e) and e.seq == 0 for e in waiting)
    assert log.pending_count() == 4
    assert [e.payload["i"] for e in log.pending()] == [3, 4, 5, 6]
    assert "unreachable" in log.last_error
    with pytest.raises(LogUnavailable):
        log.count()

    proxy.restore()
    after = log.append(new(i=7))  # waiting entries go first, then this one
    assert after.seq == 8 and log.pending_count() == 0
    direct = PostgresLog(pg_dsn)
    assert [e.payload["i"] for e in direct.entries()] == list(range(8))
    assert [e.uid for e in direct.entries()][3:7] == [e.uid for e in waiting]
    assert direct.verify().ok
    direct.close()
    log.close()


def test_opening_the_log_replays_what_a_previous_run_spooled(pg_dsn: str, proxy: PgProxy, tmp_path: Path) -> None:
    proxy.cut()
    first = _spooled(proxy.dsn(pg_dsn), tmp_path / "spool")  # the store was away from the start
    for i in range(3):
        assert is_pending(first.append(new(i=i)))
    first.close()
    proxy.restore()
    second = _spooled(proxy.dsn(pg_dsn), tmp_path / "spool")
    assert second.pending_count() == 0
    assert [e.payload["i"] for e in second.entries()] == [0, 1, 2]
    second.close()


def test_a_crash_between_store_commit_and_spool_rewrite_replays_nothing_twice(tmp_path: Path) -> None:
    store = SqliteLog(tmp_path / "log.sqlite")
    spool = Spool(tmp_path / "spool")
    entries = [new(i=i) for i in range(3)]
    with spool.locked():
        for e in entries:
            spool.add(e)
    store.append(entries[0])  # committed, then the process died before rewriting the spool
    store.append(entries[1])
    log = SpooledLog(lambda: SqliteLog(tmp_path / "log.sqlite"), tmp_path / "spool")
    assert log.pending_count() == 0
    assert [e.payload["i"] for e in log.entries()] == [0, 1, 2]
    store.close()
    log.close()


def test_a_torn_last_line_was_never_acknowledged_and_is_dropped(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with spool.locked():
        spool.add(new(i=0))
    with open(spool.path, "ab") as f:
        f.write(b'{"at": "2026-01-01T00:00:00.000000Z", "rel')  # killed mid-write
    assert [e.payload["i"] for e in spool.read()] == [0]
    with spool.locked():
        spool.add(new(i=1))
    assert [e.payload["i"] for e in spool.read()] == [0, 1]


def test_an_unreadable_line_is_set_aside_not_dropped(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    with spool.locked():
        spool.add(new(i=0))
    with open(spool.path, "ab") as f:
        f.write(b"garbage\n")
    with spool.locked():
        spool.add(new(i=1))
        assert [e.payload["i"] for e in spool.read()] == [0, 1]
    assert spool.rejected_path.read_bytes() == b"garbage\n" and spool.rejected_count() == 1


def _acks(proc: subprocess.Popen[str], n: int) -> list[tuple[str, str]]:
    out = []
    assert proc.stdout is not None
    while len(out) < n:
        line = proc.stdout.readline()
        assert line, f"appender died: {proc.stderr.read() if proc.stderr else ''}"
        if line.strip() != "ready":
            seq, uid = line.split()
            out.append((seq, uid))
    return out


def _kill9(proc: subprocess.Popen[str]) -> list[tuple[str, str]]:
    """kill -9, then every ack it managed to print before dying."""
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    return [tuple(line.split()) for line in rest.splitlines() if line.strip() and line.strip() != "ready"]  # type: ignore[misc]


def test_kill_9_during_sqlite_appends_loses_nothing_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "tests.log.appender", "sqlite", str(path), "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked = _acks(proc, 40)
    acked += _kill9(proc)
    log = SqliteLog(path)
    stored = [e.uid for e in log.entries()]
    assert [uid for _, uid in acked] == stored[: len(acked)]  # all there, in order (one more may have landed)
    assert len(stored) - len(acked) <= 1 and log.verify().ok
    log.close()


def test_kill_9_while_postgres_is_away_loses_nothing_acknowledged(pg_dsn: str, proxy: PgProxy,
                                                                   tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    proc = subprocess.Popen([sys.executable, "-m", "tests.log.appender", "postgres", proxy.dsn(pg_dsn), "0",
                             str(spool_dir)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked = _acks(proc, 15)
    assert all(seq != "pending" for seq, _ in acked)
    proxy.cut()  # mid-session: the appender spools from here on
    spooled = _acks(proc, 40)
    assert sum(seq == "pending" for seq, _ in spooled) >= 30
    acked += spooled + _kill9(proc)

    proxy.restore()
    log = _spooled(proxy.dsn(pg_dsn), spool_dir)  # opening replays
    assert log.pending_count() == 0
    stored = [e.uid for e in log.entries()]
    assert stored[: len(acked)] == [uid for _, uid in acked]  # every ack, once, in the order acknowledged
    assert len(stored) - len(acked) <= 1
    assert log.verify().ok
    log.close()
