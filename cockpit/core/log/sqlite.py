"""The embedded release log: one SQLite file, the same schema and guarantees as PostgreSQL.

WAL lets readers (the auditor's browser) run beside a writer; synchronous=FULL makes an
acknowledged append survive kill -9 and power loss; BEGIN IMMEDIATE takes the write lock before
reading the head, so appends from several processes are serialised and the chain never forks.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from cockpit.core.log import migrations
from cockpit.core.log.base import LockInfo, LogUnavailable
from cockpit.core.log.chain import StoredRow
from cockpit.core.log.entry import Actor, Entry, canonical_json, format_at, parse_at
from cockpit.core.log.follow import SqliteFollower
from cockpit.core.log.query import SQLITE
from cockpit.core.log.sqlstore import SqlStore, Tx


class SqliteLog(SqlStore):
    dialect = SQLITE
    canonical_columns = True

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 15.0, migrate: bool = True):
        self.path = Path(path)
        self._timeout = busy_timeout_s
        self._lock = threading.RLock()
        self._conn = self._connect()
        if migrate:
            self.migrate()

    def describe(self) -> str:
        return f"SQLite {self.path}"

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we say BEGIN/COMMIT ourselves (BEGIN IMMEDIATE for appends).
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            return conn
        except (sqlite3.Error, OSError) as e:
            raise LogUnavailable(f"the release log {self.path} cannot be opened: {e}") from None

    @contextmanager
    def _reading(self) -> Iterator[Tx]:
        with self._lock:
            try:
                yield self._conn.cursor()
            except sqlite3.OperationalError as e:
                raise LogUnavailable(f"the release log {self.path} is unavailable: {e}") from None

    @contextmanager
    def _serialised(self) -> Iterator[Tx]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:  # locked past the busy timeout, disk, permissions
                raise LogUnavailable(f"the release log {self.path} is unavailable: {e}") from None
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as e:
                try:
                    self._conn.rollback()
                except sqlite3.Error:
                    pass
                if isinstance(e, sqlite3.OperationalError):
                    raise LogUnavailable(f"the release log {self.path} is unavailable: {e}") from None
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def migrate(self) -> list[int]:
        applied: list[int] = []
        with self._serialised() as cur:
            cur.execute(migrations.SQLITE_SCHEMA_MIGRATIONS)
            cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for m in migrations.SQLITE:
                if m.version not in done:
                    for statement in _statements(m.sql):
                        cur.execute(statement)
                    cur.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [m.version, m.name])
                    applied.append(m.version)
        self._keeps_body = None
        return applied

    def _entry(self, row: Sequence[Any]) -> Entry:
        seq, at, release_id, environment, actor, kind, payload, prev_hash, hash_, uid = row
        return Entry(seq=int(seq), at=parse_at(at), release_id=release_id, environment=environment,
                     actor=Actor.from_json(json.loads(actor)), kind=kind, payload=json.loads(payload),
                     prev_hash=prev_hash, hash=hash_, uid=uid or "")

    def _insert_params(self, e: Entry) -> list[Any]:
        return [e.seq, format_at(e.at), e.release_id, e.environment, canonical_json(e.actor.to_json()).decode(),
                e.kind, canonical_json(e.payload).decode(), e.prev_hash, e.hash, e.uid or None, self._body(e)]

    def _ts(self, at: datetime) -> Any:
        return format_at(at)

    def _lock_info(self, row: Sequence[Any]) -> LockInfo:
        environment, release_id, holder, taken_at, expires_at, seq = row
        return LockInfo(environment, release_id, Actor.from_json(json.loads(holder)), parse_at(taken_at),
                        parse_at(expires_at), int(seq))

    def _holder(self, actor: Actor) -> Any:
        return canonical_json(actor.to_json()).decode()

    def follower(self) -> SqliteFollower:
        """Probes PRAGMA data_version on a connection of its own."""
        return SqliteFollower(self.path)

    @contextmanager
    def _verify_rows(self) -> Iterator[Iterator[StoredRow]]:
        # A second connection: its read transaction is one WAL snapshot, and appends go on meanwhile.
        try:
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise LogUnavailable(f"the release log {self.path} cannot be opened: {e}") from None
        try:
            conn.execute("BEGIN")
            cur = conn.execute(verify_query(self.keeps_body()))
            cur.arraysize = 5000
            yield iter(cur)
        except sqlite3.OperationalError as e:
            raise LogUnavailable(f"the release log {self.path} is unavailable: {e}") from None
        finally:
            conn.close()


def verify_query(has_body: bool = True) -> str:
    """The rows verify walks (chain.StoredRow). actor and payload are stored as canonical JSON, so even an
    entry without its body is rebuilt without re-encoding anything."""
    return (f"SELECT seq, prev_hash, hash, {'body' if has_body else 'NULL'}, at, release_id, environment, kind, "
            "actor, payload FROM log_entries ORDER BY seq")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.execute runs one; executescript would COMMIT)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
