"""Following the release log as it grows: wake up, within a second, when any process appends.

PostgreSQL: every append notifies a channel (a trigger, migration 3), so a follower LISTENs on a
connection of its own and sleeps until then — one wake-up per change, on every machine at once.
SQLite: `PRAGMA data_version` on a connection of its own changes whenever another connection
commits; probing it costs microseconds, so it is probed every 50 ms.

A follower only says "the log may have changed": what changed is read with the usual keyset reads
(ReleaseSession.refresh), so a missed or coalesced wake-up loses nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.core.log.base import LogUnavailable

if TYPE_CHECKING:
    import psycopg

CHANNEL = "release_cockpit_log"
"""The PostgreSQL channel the append trigger notifies (payload: environment and seq)."""

SQLITE_PROBE_EVERY = 0.05
AWAY_RETRY = 1.0
"""While the store is away a follower tries again this often (and wakes when it answers)."""


class Follower(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds; True when the log may have changed since the last call."""

    def close(self) -> None: ...


class PostgresFollower:
    """LISTEN on a connection of its own; reconnects after an outage (and then reports a change)."""

    def __init__(self, connect: Callable[[], psycopg.Connection]):
        self._connect = connect
        self._conn: psycopg.Connection | None = None

    def wait(self, timeout: float) -> bool:
        import psycopg  # startup: loaded with the store that made this follower

        try:
            if self._conn is None:
                self._conn = self._connect()
                self._conn.execute(f"LISTEN {CHANNEL}")
                return True  # what was appended while we were not listening may be new
            if not _received(self._conn, timeout):
                return False
            while _received(self._conn, 0.0):  # a burst of appends is one wake-up
                pass
            return True
        except (psycopg.Error, LogUnavailable):
            self.close()
            time.sleep(min(timeout, AWAY_RETRY))
            return False

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass


def _received(conn: psycopg.Connection, timeout: float) -> bool:
    # The generator holds the connection's lock until closed: close it before the next call.
    notifies = conn.notifies(timeout=timeout, stop_after=1)
    try:
        return any(True for _ in notifies)
    finally:
        notifies.close()


class SqliteFollower:
    """PRAGMA data_version on a read-only connection of its own, probed every SQLITE_PROBE_EVERY."""

    def __init__(self, path: Path):
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None

    def _probe(self) -> int:
        if self._conn is None:
            self._conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True,
                                         isolation_level=None, check_same_thread=False)
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            try:
                version = self._probe()
            except sqlite3.Error:
                self.close()
                time.sleep(min(timeout, AWAY_RETRY))
                return False
            if self._version is None:
                self._version = version
            elif version != self._version:
                self._version = version
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(SQLITE_PROBE_EVERY, left))

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class StoreFollower:
    """Follows whatever store `store()` returns now (a spooled log's store comes and goes)."""

    def __init__(self, store: Callable[[], Any]):
        self._store = store
        self._inner: Follower | None = None

    def wait(self, timeout: float) -> bool:
        if self._inner is None:
            try:
                self._inner = self._store().follower()
            except LogUnavailable:
                time.sleep(min(timeout, AWAY_RETRY))
                return False
            return True  # (back) in touch with the store: read what may have happened meanwhile
        return self._inner.wait(timeout)

    def close(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()


class PollingFollower:
    """For a log with no cheaper way: compare the head's seq every half second."""

    def __init__(self, log: Any, every: float = 0.5):
        self._log, self._every, self._seq = log, every, -1

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while True:
            try:
                head = self._log.head()
                seq = head.seq if head else 0
            except LogUnavailable:
                seq = self._seq
            if self._seq < 0:
                self._seq = seq
            elif seq != self._seq:
                self._seq = seq
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self._every, left))

    def close(self) -> None:
        pass


def follower_for(log: Any) -> Follower:
    """The cheapest follower `log` offers (a store, a spooled log, a read-only log)."""
    make = getattr(log, "follower", None)
    return make() if make is not None else PollingFollower(log)
