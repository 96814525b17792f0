"""The shared release log in PostgreSQL (psycopg 3, imported lazily: the TUI's first paint does not wait on it).

Appends take a transaction-scoped advisory lock, read the head, seal and insert: however many
cockpits append at once, the chain is one line. A plain append does all of that in one call of the
server function log_entries_append (one round trip); guarded appends and lock entries, which need the
lock row read in between, take the shared path. The schema comes from migrations.py.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cockpit.core.log import migrations
from cockpit.core.log.base import LockInfo, LogUnavailable
from cockpit.core.log.chain import StoredRow
from cockpit.core.log.entry import GENESIS, Actor, Entry, NewEntry, canonical_json, seal
from cockpit.core.log.follow import PostgresFollower
from cockpit.core.log.query import POSTGRES
from cockpit.core.log.sqlstore import ENTRY_COLUMNS, SqlStore, Tx

if TYPE_CHECKING:
    import psycopg

# Dead peers must surface as errors, not hangs: TCP keepalives and a user timeout on every connection.
_CONNECT_OPTIONS = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
                    "tcp_user_timeout": 15000, "application_name": "release-cockpit"}

_AT_TEXT = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def verify_query(has_body: bool = True) -> str:
    """The rows verify walks (chain.StoredRow): the hashed text and the queryable columns as text."""
    return (f"SELECT seq, prev_hash, hash, {'body' if has_body else 'NULL::text'}, {_AT_TEXT}, release_id, "
            "environment, kind, actor::text, payload::text FROM log_entries ORDER BY seq")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class PostgresLog(SqlStore):
    dialect = POSTGRES

    def __init__(self, dsn: str, password: str | None = None, *, connect_timeout: int = 5,
                 migrate: bool = True):
        import psycopg  # noqa: F401  (fail here, clearly, if the driver is missing)
        from psycopg.conninfo import conninfo_to_dict

        self._dsn = dsn
        self._password = password
        self._connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._conn: psycopg.Connection | None = None
        try:
            info = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError as e:
            raise ValueError(f"[log] dsn is not a valid PostgreSQL DSN: {_first_line(e)}") from None
        self._where = (f"postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}"
                       f"/{info.get('dbname', '')}")
        with self._lock:
            self._conn = self._connect()
        if migrate:
            self.migrate()

    def describe(self) -> str:
        return f"PostgreSQL {self._where}"

    # -- connections ------------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        import psycopg  # startup: psycopg loads when the first connection opens

        kwargs: dict[str, Any] = dict(_CONNECT_OPTIONS, autocommit=True, connect_timeout=self._connect_timeout)
        if self._password is not None:
            kwargs["password"] = self._password
        try:
            return psycopg.connect(self._dsn, **kwargs)
        except psycopg.Error as e:
            raise LogUnavailable(f"the release log at {self._where} is unreachable: {_first_line(e)}") from None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        import psycopg  # startup: psycopg loads when the first connection opens

        with self._lock:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = None
                self._conn = self._connect()
            try:
                yield self._conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                # The connection is suspect now: the next call reconnects.
                self._discard()
                raise LogUnavailable(f"the release log at {self._where} is unreachable: {_first_line(e)}") from None

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    @contextmanager
    def _reading(self) -> Iterator[Tx]:
        with self._connection() as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def _serialised(self) -> Iterator[Tx]:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [migrations.PG_APPEND_LOCK])
            yield cur

    @contextmanager
    def _serialised_outbox(self) -> Iterator[Tx]:
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        with self._lock:
            self._discard()

    # -- schema -----------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply missing migrations in order; return the versions applied now."""
        applied: list[int] = []
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [migrations.PG_MIGRATE_LOCK])
            conn.execute(migrations.PG_SCHEMA_MIGRATIONS)
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations").fetchall()}
            for m in migrations.POSTGRES:
                if m.version not in done:
                    conn.execute(m.sql)
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", [m.version, m.name])
                    applied.append(m.version)
        self._keeps_body = None
        return applied

    # -- rows -------------------------------------------------------------------------------------
    def _entry(self, row: Sequence[Any]) -> Entry:
        seq, at, release_id, environment, actor, kind, payload, prev_hash, hash_, uid = row
        return Entry(seq=int(seq), at=at.astimezone(UTC), release_id=release_id, environment=environment,
                     actor=Actor.from_json(actor), kind=kind, payload=payload, prev_hash=prev_hash,
                     hash=hash_, uid=uid or "")

    def _insert_params(self, e: Entry) -> list[Any]:
        from psycopg.types.json import Jsonb  # startup: psycopg loads when the first connection opens

        return [e.seq, e.at, e.release_id, e.environment, Jsonb(e.actor.to_json()), e.kind, Jsonb(e.payload),
                e.prev_hash, e.hash, e.uid or None, self._body(e)]

    def _append_in_one(self, new: NewEntry) -> Entry | None:
        """One round trip: the server function locks, reads the head, hashes prev_hash || body and inserts."""
        from psycopg.types.json import Jsonb  # startup: psycopg loads when the first connection opens

        if not self.keeps_body():  # log_entries_append comes with the body (migration 4)
            return None
        # Sealed with seq 0: payload and time as they will be hashed; the server puts the real seq where the
        # body ends (seq is its last key) and hashes it after the head's hash.
        draft = seal(new, 0, GENESIS)
        body = canonical_json(draft.hashed_fields()).decode("utf-8")
        assert body.endswith('"seq":0}')
        before_seq = body[:-2]
        with self._reading() as cur:
            cur.execute("SELECT * FROM log_entries_append(%s, %s, %s, %s, %s, %s, %s, %s)",
                        [before_seq, draft.at, new.release_id, new.environment, Jsonb(new.actor.to_json()), new.kind,
                         Jsonb(draft.payload), new.uid or None])
            seq, prev_hash, hash_, appended = cur.fetchone()
            if not appended:  # this uid is stored already (a spool replay): that entry, as it was stored
                cur.execute(f"SELECT {ENTRY_COLUMNS} FROM log_entries WHERE seq = %s", [seq])
                return self._entry(cur.fetchone())
        if hashlib.sha256(f"{prev_hash}{before_seq}{seq}}}".encode()).hexdigest() != hash_:
            raise RuntimeError(f"the database hashed entry {seq} differently from the cockpit (is its encoding "
                               "UTF8?): `cockpit log verify` will name it")
        return replace(draft, seq=seq, prev_hash=prev_hash, hash=hash_)

    def _ts(self, at: datetime) -> Any:
        return at

    def _lock_info(self, row: Sequence[Any]) -> LockInfo:
        environment, release_id, holder, taken_at, expires_at, seq = row
        return LockInfo(environment, release_id, Actor.from_json(holder), taken_at.astimezone(UTC),
                        expires_at.astimezone(UTC), int(seq))

    def _holder(self, actor: Actor) -> Any:
        from psycopg.types.json import Jsonb  # startup: psycopg loads when the first connection opens

        return Jsonb(actor.to_json())

    def follower(self) -> PostgresFollower:
        """LISTENs on a connection of its own (the append trigger notifies)."""
        return PostgresFollower(self._connect)

    @contextmanager
    def _verify_rows(self) -> Iterator[Iterator[StoredRow]]:
        # Its own connection (appends in other threads go on) and one COPY: a consistent snapshot
        # streamed at wire speed, at and JSON already as text. (A server-side cursor read a batch ahead
        # by a thread measured no faster.)
        import psycopg

        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SET client_encoding TO 'UTF8'")  # what copy_rows decodes
                with cur.copy(f"COPY ({verify_query(self.keeps_body())}) TO STDOUT") as copy:
                    yield copy_rows(copy)
        except (psycopg.OperationalError, psycopg.InterfaceError) as e:
            raise LogUnavailable(f"the release log at {self._where} is unreachable: {_first_line(e)}") from None
        finally:
            conn.close()


_COPY_ESCAPE = re.compile(r"\\(.)")
_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescape(field: str) -> str | None:
    """One field of COPY's text format as its value (\\N is NULL; COPY TO never writes octal or hex escapes)."""
    if field == "\\N":
        return None
    return _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), field)


def copy_rows(blocks: Iterable[Any]) -> Iterator[StoredRow]:
    """COPY's text rows split here, from blocks of whole rows (psycopg gives one row a block, pgwire many):
    psycopg's own row parsing cost more than the whole walk (7 vs 6 µs a row)."""
    for block in blocks:
        for line in bytes(block).decode("utf-8").split("\n")[:-1]:
            fields: list[Any] = line.split("\t")
            if "\\" in line:  # a backslash, a tab or a newline in a value, or a NULL
                fields = [_unescape(f) for f in fields]
            fields[0] = int(fields[0])
            yield fields  # type: ignore[misc]
