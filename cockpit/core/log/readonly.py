"""The release log opened read-only at the source, for those who only read it: the auditor's
browser and `cockpit log verify`.

Readers never go through SpooledLog (its reads replay the spool, i.e. append): they open the
configured store themselves — PostgreSQL sessions with default_transaction_read_only=on, SQLite
with mode=ro — skip migrations, and hold it behind `ReadOnlyLog`, which has no method that could
write. Entries waiting in the local spool are counted (open.local_spool), never replayed from here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.core.log.base import Keep, LogFilter, LogUnavailable, VerifyResult
from cockpit.core.log.entry import Entry

if TYPE_CHECKING:
    from cockpit.core.log.open import StoreFactory


class LogUnreadable(Exception):
    """The log cannot be read (unreachable, not a release log, a bad DSN): a message for people."""


class NoLogYet(LogUnreadable):
    """Nothing was ever logged to this store: no SQLite file, or a database without the log's table."""


class InvalidDsn(LogUnreadable, ValueError):
    """[log] dsn is not a DSN libpq can parse (a configuration error, not an outage)."""


class Reader(Protocol):
    """The reading half of ReleaseLog: all a reader may call."""

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None, before_seq: int | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Entry]: ...

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]: ...

    def count(self, flt: LogFilter = LogFilter()) -> int: ...

    def head(self) -> Entry | None: ...

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult: ...


class ReadOnlyLog:
    """A ReleaseLog with only its reading methods (no append, no append_guarded, no migrate)."""

    __slots__ = ("_log",)

    def __init__(self, log: Any):
        self._log = log

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None, before_seq: int | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Entry]:
        return self._log.page(flt, after_seq=after_seq, before_seq=before_seq, limit=limit, newest_first=newest_first)

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]:
        return self._log.entries(flt)

    def count(self, flt: LogFilter = LogFilter()) -> int:
        return self._log.count(flt)

    def head(self) -> Entry | None:
        return self._log.head()

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult:
        return self._log.verify(progress, keep=keep)

    def follower(self) -> Any:
        """Wakes when any process appends (cockpit.core.log.follow); reads nothing itself."""
        from cockpit.core.log.follow import follower_for  # startup: only a live browser follows

        return follower_for(self._log)

    def describe(self) -> str:
        describe = getattr(self._log, "describe", None)
        return describe() if describe else "release log"

    def close(self) -> None:
        self._log.close()


class EmptyLog:
    """A store nothing was logged to yet, read as what it holds: the empty chain, which is intact."""

    def __init__(self, description: str):
        self._description = description

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None, before_seq: int | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Entry]:
        return []

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]:
        return iter(())

    def count(self, flt: LogFilter = LogFilter()) -> int:
        return 0

    def head(self) -> Entry | None:
        return None

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult:
        return VerifyResult(ok=True, checked=0)

    def describe(self) -> str:
        return self._description

    def close(self) -> None:
        pass


def read_only_dsn(dsn: str) -> str:
    """The DSN with every transaction of the session read-only (the server refuses writes)."""
    # startup: psycopg loads only for a PostgreSQL log
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from cockpit.core.log.pgwire import read_only  # the one spelling of a read-only session

    try:
        return make_conninfo(dsn, options=read_only(conninfo_to_dict(dsn).get("options") or ""))
    except psycopg.ProgrammingError as e:
        raise InvalidDsn(f"[log] dsn is not a valid PostgreSQL DSN: {str(e).splitlines()[0]}") from None


def _open_sqlite(path: Path) -> Any:
    from cockpit.core.log.sqlite import SqliteLog  # startup: only the configured store loads

    # SqliteLog has no read-only mode of its own: its one connection is opened here with mode=ro
    # instead (no folder created, no journal pragma written), so SQLite itself refuses any write.
    class ReadOnlySqliteLog(SqliteLog):
        def _connect(self) -> sqlite3.Connection:
            try:
                return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self._timeout,
                                       isolation_level=None, check_same_thread=False)
            except sqlite3.Error as e:
                raise LogUnavailable(f"the release log {self.path} cannot be opened: {e}") from None

    if not path.is_file():
        raise NoLogYet(f"there is no release log at {path} yet (nothing has been logged)")
    return ReadOnlySqliteLog(path, migrate=False)


def _is_missing_table(e: Exception) -> bool:
    try:
        from psycopg.errors import UndefinedTable  # startup: psycopg loads only for a PostgreSQL log
    except ImportError:  # pragma: no cover  (psycopg is a dependency)
        return False
    return isinstance(e, UndefinedTable)


def open_store(*, sqlite_path: Path | None = None, dsn: str | None = None, password: str | None = None) -> ReadOnlyLog:
    """Open one store read-only and check that it holds a release log. Raises LogUnreadable
    (NoLogYet when nothing was ever logged there, InvalidDsn for a DSN libpq cannot parse)."""
    try:
        if dsn is not None:
            from cockpit.core.log.postgres import PostgresLog  # startup: only the configured store loads

            try:
                store: Any = PostgresLog(read_only_dsn(dsn), password, migrate=False)
            except InvalidDsn:
                raise
            except ValueError as e:
                raise InvalidDsn(str(e)) from None
        else:
            assert sqlite_path is not None
            store = _open_sqlite(sqlite_path)
        log = ReadOnlyLog(store)
        try:
            log.page(limit=1)
        except LogUnavailable:
            log.close()
            raise
        except Exception as e:  # no log_entries table: a database the cockpit has never written to
            log.close()
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            if _is_missing_table(e):
                raise NoLogYet(f"{store.describe()} holds no release log yet ({first})") from None
            raise LogUnreadable(f"{store.describe()} cannot be read as a release log ({first})") from None
        return log
    except LogUnavailable as e:
        raise LogUnreadable(str(e)) from None


def open_read_only(factory: StoreFactory) -> ReadOnlyLog:
    """The configured store (open.store_factory) read-only; raises as open_store does."""
    return open_store(sqlite_path=factory.sqlite_path, dsn=factory.dsn, password=factory.password)


def open_for_verify(factory: StoreFactory) -> Any:
    """open_read_only, except that a PostgreSQL log whose DSN and server pgwire handles is walked without
    psycopg (cockpit.core.log.wirelog); raises as open_store does."""
    if factory.dsn is not None:
        from cockpit.core.log import pgwire, wirelog  # startup: only verify walks over the wire

        try:
            log = wirelog.open_wire(factory.dsn, factory.password)
        except wirelog.NoTable as e:
            raise NoLogYet(f"{factory.description} holds no release log yet ({e})") from None
        except LogUnavailable as e:
            raise LogUnreadable(str(e)) from None
        except pgwire.ServerError as e:
            raise LogUnreadable(f"{factory.description} cannot be read as a release log ({e})") from None
        if log is not None:
            return log
    return open_read_only(factory)
