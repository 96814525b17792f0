"""`cockpit log verify` on a PostgreSQL log without psycopg: the walk reads COPY over pgwire.

Only the walk goes over the wire; any other read (a chain that broke, the witnesses' neighbours) opens
the read-only PostgresLog on first use, so whatever verify does after the walk reads as it always has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from cockpit.core.log import pgwire
from cockpit.core.log.base import Keep, LogFilter, LogUnavailable, VerifyResult
from cockpit.core.log.chain import walk_stored
from cockpit.core.log.entry import Entry
from cockpit.core.log.migrations import BODY_VERSION
from cockpit.core.log.postgres import copy_rows, verify_query


class NoTable(Exception):
    """The database has no release log (SQLSTATE 42P01 on log_entries or schema_migrations)."""


class WireLog:
    """A read-only PostgreSQL log whose `verify` streams over pgwire; the rest is PostgresLog's."""

    def __init__(self, dsn: str, password: str | None, p: pgwire.Params):
        self._dsn, self._password, self._p = dsn, password, p
        self._store: Any = None
        try:
            self._session: pgwire.Session | None = pgwire.Session(p)
        except pgwire.ConnectionFailed as e:
            raise self._unreachable(e) from None
        try:
            # log_entries is named so that a database without the log says 42P01, as schema_migrations does
            (version, _any), = self._session.query(
                "SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations), "
                "EXISTS (SELECT 1 FROM log_entries)")
        except pgwire.ServerError as e:
            self.close()
            if e.sqlstate == "42P01":
                raise NoTable(str(e)) from None
            raise
        except pgwire.ConnectionFailed as e:
            self.close()
            raise self._unreachable(e) from None
        self._keeps_body = int(version or 0) >= BODY_VERSION

    def describe(self) -> str:
        return f"PostgreSQL {self._p.where}"

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult:
        session = self._session or self._reopen()
        try:
            total = int(session.query("SELECT count(*) FROM log_entries")[0][0] or 0) if progress else 0
            blocks = session.copy_out(verify_query(self._keeps_body))
            return walk_stored(copy_rows(blocks), total, progress, keep=keep)
        except (pgwire.ConnectionFailed, pgwire.ServerError) as e:
            # lost, canceled, shut down, a timeout: the walk did not finish, so nothing is known
            self.close()
            raise self._unreachable(e) from None

    def _reopen(self) -> pgwire.Session:
        try:
            self._session = pgwire.Session(self._p)
        except pgwire.ConnectionFailed as e:
            raise self._unreachable(e) from None
        return self._session

    def _unreachable(self, e: Exception) -> LogUnavailable:
        return LogUnavailable(f"the release log at {self._p.where} is unreachable: {e}")  # psycopg's words

    # -- every other read: the read-only PostgresLog, opened on first use ------------------------------
    def _full(self) -> Any:
        if self._store is None:
            from cockpit.core.log.readonly import LogUnreadable, open_store  # psycopg: only past the walk

            try:
                self._store = open_store(dsn=self._dsn, password=self._password)
            except LogUnreadable as e:  # gone since the walk: verify says it could not finish
                raise LogUnavailable(str(e)) from None
        return self._store

    def page(self, flt: LogFilter = LogFilter(), **kw: Any) -> list[Entry]:
        return self._full().page(flt, **kw)

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]:
        return self._full().entries(flt)

    def count(self, flt: LogFilter = LogFilter()) -> int:
        return self._full().count(flt)

    def head(self) -> Entry | None:
        return self._full().head()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._store is not None:
            self._store.close()
            self._store = None


def open_wire(dsn: str, password: str | None) -> WireLog | None:
    """The log for verify over pgwire, or None when pgwire does not handle this DSN or server (use psycopg).
    Raises LogUnavailable (unreachable), NoTable (no release log there), pgwire.ServerError (unreadable)."""
    try:
        p = pgwire.params(dsn, password)
        return WireLog(dsn, password, p)
    except pgwire.Unsupported:
        return None
