"""What the PostgreSQL and SQLite stores share: the serialised append, keyset reads, verify, outbox state.

A store subclass supplies a connection (`_reading`, `_serialised`), how rows decode into entries,
and the rows `verify` walks. Everything else — SQL shapes, sealing, the guard — lives here once,
so the two stores cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from cockpit.core.kinds import LOCK_RELEASED, LOCK_TAKEN, WATCH_STARTED, WATCH_STOPPED
from cockpit.core.log.base import Guard, Keep, LockInfo, LogFilter, VerifyResult
from cockpit.core.log.chain import StoredRow, prepare, walk_stored
from cockpit.core.log.entry import GENESIS, Actor, Entry, NewEntry, canonical_json, parse_at, seal
from cockpit.core.log.lock import lock_key, may_renew
from cockpit.core.log.migrations import BODY_VERSION
from cockpit.core.log.query import Dialect, where

ENTRY_COLUMNS = "seq, at, release_id, environment, actor, kind, payload, prev_hash, hash, entry_uid"
"""What an Entry is read from."""
COLUMNS = ENTRY_COLUMNS + ", body"
"""What an append writes, in the order of _insert_params: the entry, and `body`, the text its hash was computed
over (hash = sha256(prev_hash || body)), kept as it was hashed so verify need not rebuild it."""
LOCK_COLUMNS = "environment, release_id, holder, taken_at, expires_at, taken_seq"
STREAM_BATCH = 1000
_TAKES_LOCK = (LOCK_TAKEN, WATCH_STARTED)
_GIVES_LOCK_BACK = (LOCK_RELEASED, WATCH_STOPPED)
"""Entries the lock table follows (_keep_lock_table)."""


class Tx(Protocol):
    """The slice of a DB-API cursor the shared code needs."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SqlStore(ABC):
    dialect: Dialect
    canonical_columns = False
    """actor and payload are stored as canonical JSON text (chain.walk_stored)."""
    _keeps_body: bool | None = None
    """The schema has log_entries.body (migration 4); None: not asked since the last migrate."""

    # -- supplied by each store -------------------------------------------------------------
    @abstractmethod
    def _reading(self) -> AbstractContextManager[Tx]:
        """A cursor for one read; connection errors become LogUnavailable."""

    def schema_version(self) -> int:
        """The newest migration applied to this store."""
        with self._reading() as cur:
            cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
            return int(cur.fetchone()[0])

    def keeps_body(self) -> bool:
        """Whether appends store the hashed text (a store opened without migrating may be older)."""
        if self._keeps_body is None:
            self._keeps_body = self.schema_version() >= BODY_VERSION
        return self._keeps_body

    @abstractmethod
    def _serialised(self) -> AbstractContextManager[Tx]:
        """A cursor inside a transaction that holds the store-wide append lock; commits on exit."""

    @abstractmethod
    def _entry(self, row: Sequence[Any]) -> Entry:
        """One row of ENTRY_COLUMNS as an Entry."""

    @abstractmethod
    def _insert_params(self, e: Entry) -> list[Any]:
        """Parameters for INSERT INTO log_entries (COLUMNS)."""

    @abstractmethod
    def _verify_rows(self) -> AbstractContextManager[Iterator[StoredRow]]:
        """Every row in seq order as chain.StoredRow, streamed from one consistent snapshot."""

    def _append_in_one(self, new: NewEntry) -> Entry | None:
        """A plain append (no guard, no lock row to keep) done by the store in one step, or None: the
        shared path below then runs."""
        return None

    @abstractmethod
    def _ts(self, at: datetime) -> Any:
        """A datetime as this store's parameter."""

    @abstractmethod
    def _lock_info(self, row: Sequence[Any]) -> LockInfo:
        """One row of LOCK_COLUMNS as a LockInfo."""

    @abstractmethod
    def _holder(self, actor: Actor) -> Any:
        """An actor as this store's JSON parameter."""

    @abstractmethod
    def follower(self) -> Any:
        """A cockpit.core.log.follow.Follower on this store: wakes when any process appends."""

    @abstractmethod
    def describe(self) -> str:
        """Where the log lives, for status lines (never a password)."""

    @abstractmethod
    def close(self) -> None: ...

    # -- ReleaseLog -----------------------------------------------------------------------------
    def append(self, entry: NewEntry) -> Entry:
        return self.append_guarded(entry, None)

    def append_guarded(self, entry: NewEntry, guard: Guard | None) -> Entry:
        """Seal and insert under the append lock. Idempotent per NewEntry.uid: a uid already stored
        returns the stored entry (that is how a spool replays without duplicates)."""
        new = prepare(entry)
        if guard is None and new.kind not in _TAKES_LOCK + _GIVES_LOCK_BACK:
            done = self._append_in_one(new)
            if done is not None:
                return done
        p = self.dialect.param
        with self._serialised() as tx:
            tx.execute(f"SELECT {ENTRY_COLUMNS} FROM log_entries WHERE entry_uid = {p}", [new.uid])
            row = tx.fetchone()
            if row is not None:
                return self._entry(row)
            if guard is not None:
                extra = guard(self._lock_row(tx, lock_key(new.kind, new.environment)))
                if extra:  # facts only the guard knows (e.g. whose lock is broken) join the payload
                    new = prepare(replace(new, payload={**new.payload, **extra}))
            tx.execute("SELECT seq, hash FROM log_entries ORDER BY seq DESC LIMIT 1")
            head = tx.fetchone()
            sealed = seal(new, (head[0] + 1) if head else 1, head[1] if head else GENESIS)
            columns, params = COLUMNS, self._insert_params(sealed)
            if not self.keeps_body():
                columns, params = ENTRY_COLUMNS, params[:-1]
            tx.execute(f"INSERT INTO log_entries ({columns}) VALUES ({', '.join([p] * len(params))})", params)
            self._keep_lock_table(tx, sealed)
        return sealed

    @staticmethod
    def _body(e: Entry) -> str:
        """The text e.hash was computed over (seal round-tripped the payload, so this is it exactly)."""
        return canonical_json(e.hashed_fields()).decode("utf-8")

    # -- the lock table: who holds each environment's lock (lock.py), outside the chain -----------
    def _lock_row(self, tx: Tx, environment: str) -> LockInfo | None:
        tx.execute(f"SELECT {LOCK_COLUMNS} FROM release_locks WHERE environment = {self.dialect.param}",
                   [environment])
        row = tx.fetchone()
        return self._lock_info(row) if row else None

    def _keep_lock_table(self, tx: Tx, e: Entry) -> None:
        """Taking and releasing the lock are entries; the row follows them in the same transaction."""
        p = self.dialect.param
        if e.kind in _TAKES_LOCK:
            taken, expires = parse_at(e.payload["taken_at"]), parse_at(e.payload["expires_at"])
            tx.execute(f"INSERT INTO release_locks ({LOCK_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {p}) "
                       "ON CONFLICT (environment) DO UPDATE SET release_id = excluded.release_id, "
                       "holder = excluded.holder, taken_at = excluded.taken_at, expires_at = excluded.expires_at, "
                       "taken_seq = excluded.taken_seq",
                       [lock_key(e.kind, e.environment), e.release_id, self._holder(e.actor), self._ts(taken),
                        self._ts(expires), e.seq])
        elif e.kind in _GIVES_LOCK_BACK:
            tx.execute(f"DELETE FROM release_locks WHERE environment = {p}", [lock_key(e.kind, e.environment)])

    def lock_row(self, environment: str) -> LockInfo | None:
        """The environment's lock row (its lease may have run out: lock.current judges), or None."""
        with self._reading() as cur:
            return self._lock_row(cur, environment)

    def renew_lease(self, environment: str, release_id: str, actor: Actor, expires_at: datetime) -> LockInfo:
        """Move the lease's end; refused (AppendRefused) unless `actor` holds the lock for `release_id`.
        No entry: renewals are not history."""
        p = self.dialect.param
        with self._serialised() as tx:
            row = self._lock_row(tx, environment)
            may_renew(row, environment, release_id, actor)
            assert row is not None
            tx.execute(f"UPDATE release_locks SET expires_at = {p} WHERE environment = {p}",
                       [self._ts(expires_at), environment])
        return replace(row, expires_at=expires_at)

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None,
             before_seq: int | None = None, limit: int = 100, newest_first: bool = False) -> list[Entry]:
        """Keyset page: seq > after_seq and/or seq < before_seq, ordered by seq (descending when
        newest_first), at most `limit` entries. Cost does not grow with the log's size."""
        w, params = where(flt, self.dialect, after_seq=after_seq, before_seq=before_seq)
        order = "DESC" if newest_first else "ASC"
        with self._reading() as cur:
            cur.execute(f"SELECT {ENTRY_COLUMNS} FROM log_entries{w} ORDER BY seq {order} LIMIT {int(limit)}", params)
            return [self._entry(r) for r in cur.fetchall()]

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]:
        """Every matching entry in seq order, read in keyset batches (never the whole log at once)."""
        after: int | None = None
        while True:
            batch = self.page(flt, after_seq=after, limit=STREAM_BATCH)
            yield from batch
            if len(batch) < STREAM_BATCH:
                return
            after = batch[-1].seq

    def entry(self, seq: int) -> Entry | None:
        with self._reading() as cur:
            cur.execute(f"SELECT {ENTRY_COLUMNS} FROM log_entries WHERE seq = {self.dialect.param}", [seq])
            row = cur.fetchone()
        return self._entry(row) if row else None

    def head(self) -> Entry | None:
        page = self.page(limit=1, newest_first=True)
        return page[0] if page else None

    def count(self, flt: LogFilter = LogFilter()) -> int:
        w, params = where(flt, self.dialect)
        with self._reading() as cur:
            cur.execute(f"SELECT count(*) FROM log_entries{w}", params)
            return int(cur.fetchone()[0])

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult:
        total = self.count() if progress is not None else 0
        with self._verify_rows() as rows:
            return walk_stored(rows, total, progress, canonical_columns=self.canonical_columns, keep=keep)

    # -- outbox state (notify.py): outside the chain, mutable ------------------------------------
    def outbox_cursor(self, target: str) -> int | None:
        with self._reading() as cur:
            cur.execute(f"SELECT through_seq FROM notify_cursors WHERE target = {self.dialect.param}", [target])
            row = cur.fetchone()
        return int(row[0]) if row else None

    def outbox_enqueue(self, target: str, through_seq: int, seqs: Sequence[int], now: datetime) -> None:
        """Queue deliveries of `seqs` and move the target's cursor to through_seq, atomically."""
        p = self.dialect.param
        with self._serialised_outbox() as tx:
            for seq in seqs:
                tx.execute(f"INSERT INTO notify_deliveries (target, seq, next_attempt_at) VALUES ({p}, {p}, {p}) "
                           "ON CONFLICT (target, seq) DO NOTHING", [target, seq, self._ts(now)])
            tx.execute(f"INSERT INTO notify_cursors (target, through_seq) VALUES ({p}, {p}) "
                       "ON CONFLICT (target) DO UPDATE SET through_seq = excluded.through_seq "
                       "WHERE excluded.through_seq > notify_cursors.through_seq", [target, through_seq])

    def outbox_due(self, target: str, now: datetime, limit: int = 50) -> list[tuple[int, int]]:
        """(seq, attempts) of pending deliveries whose next attempt is due, oldest first."""
        p = self.dialect.param
        with self._reading() as cur:
            cur.execute(f"SELECT seq, attempts FROM notify_deliveries WHERE target = {p} AND status = 'pending' "
                        f"AND next_attempt_at <= {p} ORDER BY seq LIMIT {int(limit)}", [target, self._ts(now)])
            return [(int(s), int(a)) for s, a in cur.fetchall()]

    def outbox_record(self, target: str, seq: int, *, status: str, attempts: int, error: str,
                      next_attempt_at: datetime, now: datetime) -> None:
        p = self.dialect.param
        delivered = self._ts(now) if status == "delivered" else None
        with self._serialised_outbox() as tx:
            tx.execute(f"UPDATE notify_deliveries SET status = {p}, attempts = {p}, last_error = {p}, "
                       f"next_attempt_at = {p}, delivered_at = {p} WHERE target = {p} AND seq = {p}",
                       [status, attempts, error, self._ts(next_attempt_at), delivered, target, seq])

    def outbox_backlog(self) -> dict[str, dict[str, int]]:
        """Per target: how many deliveries are pending and how many gave up (failed)."""
        with self._reading() as cur:
            cur.execute("SELECT target, status, count(*) FROM notify_deliveries "
                        "WHERE status <> 'delivered' GROUP BY target, status")
            out: dict[str, dict[str, int]] = {}
            for target, status, n in cur.fetchall():
                out.setdefault(target, {"pending": 0, "failed": 0})[status] = int(n)
            return out

    def outbox_last_error(self, target: str) -> str:
        with self._reading() as cur:
            cur.execute(f"SELECT last_error FROM notify_deliveries WHERE target = {self.dialect.param} "
                        "AND last_error <> '' ORDER BY next_attempt_at DESC LIMIT 1", [target])
            row = cur.fetchone()
        return row[0] if row else ""

    def _serialised_outbox(self) -> AbstractContextManager[Tx]:
        """Outbox writes need a transaction but not the append lock; stores may override."""
        return self._serialised()
