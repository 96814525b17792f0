"""What the browser reads from: the configured store, opened read-only, and the spool's count.

The auditor needs no flag token and takes no lock. The browser never goes through SpooledLog
(its reads replay the spool, i.e. append): it opens the store itself, read-only *at the source*
— PostgreSQL sessions with default_transaction_read_only=on, SQLite with mode=ro — skips
migrations, and holds the store behind `ReadOnlyLog`, which has no method that could write.
Entries waiting in the local spool are counted (a file read), never replayed from here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.core.log.base import LogFilter, LogUnavailable, VerifyResult
from cockpit.core.log.entry import Entry

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook


class BrowseError(Exception):
    """The log cannot be browsed (no log yet, unreachable, no schema): a message for the user."""


class Reader(Protocol):
    """The reading half of ReleaseLog: all the browser may call."""

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None, before_seq: int | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Entry]: ...

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]: ...

    def count(self, flt: LogFilter = LogFilter()) -> int: ...

    def head(self) -> Entry | None: ...

    def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyResult: ...


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

    def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        return self._log.verify(progress)

    def describe(self) -> str:
        describe = getattr(self._log, "describe", None)
        return describe() if describe else "release log"

    def close(self) -> None:
        self._log.close()


@dataclass
class Source:
    """Everything the browser screen is given: the reader, where it is, and the spool count."""

    reader: Reader
    description: str
    spool_waiting: Callable[[], int] = lambda: 0
    """How many entries wait in the local spool (not yet in the chain); read each time it is shown."""
    close: Callable[[], None] = lambda: None
    counter: Reader | None = None
    """A second read-only connection for count(filter) (None: counts share `reader`)."""


def read_only_dsn(dsn: str) -> str:
    """The DSN with every transaction of the session read-only (the server refuses writes)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        options = conninfo_to_dict(dsn).get("options") or ""
        return make_conninfo(dsn, options=f"{options} -c default_transaction_read_only=on".strip())
    except psycopg.ProgrammingError as e:
        raise BrowseError(f"[log] dsn is not a valid PostgreSQL DSN: {str(e).splitlines()[0]}") from None


def open_sqlite_read_only(path: Path) -> Any:
    from cockpit.core.log.sqlite import SqliteLog

    class ReadOnlySqliteLog(SqliteLog):
        def _connect(self) -> sqlite3.Connection:
            try:
                return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=self._timeout,
                                       isolation_level=None, check_same_thread=False)
            except sqlite3.Error as e:
                raise LogUnavailable(f"the release log {self.path} cannot be opened: {e}") from None

    if not path.is_file():
        raise BrowseError(f"there is no release log at {path} yet (nothing has been logged)")
    return ReadOnlySqliteLog(path, migrate=False)


def open_store(*, sqlite_path: Path | None = None, dsn: str | None = None, password: str | None = None) -> ReadOnlyLog:
    """Open one store read-only and check that it holds a release log."""
    try:
        if dsn is not None:
            from cockpit.core.log.postgres import PostgresLog

            try:
                store: Any = PostgresLog(read_only_dsn(dsn), password, migrate=False)
            except ValueError as e:
                raise BrowseError(str(e)) from None
        else:
            assert sqlite_path is not None
            store = open_sqlite_read_only(sqlite_path)
        log = ReadOnlyLog(store)
        try:
            log.page(limit=1)
        except LogUnavailable:
            log.close()
            raise
        except Exception as e:  # no log_entries table: a database the cockpit has never written to
            log.close()
            raise BrowseError(f"{store.describe()} holds no release log yet ({str(e).splitlines()[0]})") from None
        return log
    except LogUnavailable as e:
        raise BrowseError(str(e)) from None


def open_source(runbook: Runbook) -> Source:
    """The runbook's log, read-only, with the count of its spool. Raises BrowseError, MissingSecret."""
    from cockpit.core.log.open import spool_dir, store_factory
    from cockpit.core.log.spool import Spool

    factory = store_factory(runbook)
    log = open_store(sqlite_path=factory.sqlite_path, dsn=factory.dsn, password=factory.password)
    counter = open_store(sqlite_path=factory.sqlite_path, dsn=factory.dsn, password=factory.password)
    spool = Spool(spool_dir(runbook), f"spool-{factory.identity}")

    def close() -> None:
        log.close()
        counter.close()

    return Source(reader=log, description=log.describe(), spool_waiting=spool.count, close=close, counter=counter)


EXPORT_FORMATS = {".tsv": "tsv", ".md": "md", ".markdown": "md", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def export_format(path: str) -> str:
    """tsv | md | jsonl from the file name; ValueError naming the choices otherwise."""
    fmt = EXPORT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{Path(path).name or path!r}: end the file name in .tsv, .md or .jsonl")
    return fmt


def export_filter(reader: Reader, path: str, flt: LogFilter, *, title: str = "Release log") -> tuple[Path, int, str]:
    """Export the entries matching `flt` (core export.py) to `path`, atomically; (absolute path, count, format)."""
    from cockpit.core.log.export import export_to_file

    fmt = export_format(path)
    target = Path(path).expanduser().resolve()
    if not target.parent.is_dir():
        raise OSError(f"the folder {target.parent} does not exist")
    n = export_to_file(reader, fmt, target, flt, title=title)  # type: ignore[arg-type]  (reads only)
    return target, n, fmt
