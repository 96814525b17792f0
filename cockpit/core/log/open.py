"""open_log(runbook): the release log a cockpit command uses — the configured store behind the spool."""

from __future__ import annotations

import hashlib
import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.core.log.spool import Spool, SpooledLog, Store
from cockpit.core.secrets import get_secret

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook

DSN_ENV = "COCKPIT_LOG_DSN"


@dataclass(frozen=True)
class StoreFactory:
    """Opens the configured store; called again after an outage until it answers."""

    sqlite_path: Path | None = None
    dsn: str | None = None
    password: str | None = None

    def __call__(self) -> Store:
        if self.dsn is not None:
            from cockpit.core.log.postgres import PostgresLog  # startup: only the configured store loads

            return PostgresLog(self.dsn, self.password)
        from cockpit.core.log.sqlite import SqliteLog  # startup: only the configured store loads (sqlite3)

        assert self.sqlite_path is not None
        return SqliteLog(self.sqlite_path)

    @property
    def description(self) -> str:
        if self.dsn is not None:
            from cockpit.core.log import pgwire  # startup: psycopg loads only for a DSN pgwire does not parse

            try:
                try:
                    info: dict[str, str] = pgwire.dsn_fields(self.dsn)  # libpq's answer, without psycopg
                except pgwire.Unsupported:
                    from psycopg.conninfo import conninfo_to_dict  # a DSN pgwire leaves to libpq

                    info = conninfo_to_dict(self.dsn)
                return f"PostgreSQL postgresql://{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
            except Exception:
                return "PostgreSQL (unparsable DSN)"
        return f"SQLite {self.sqlite_path}"

    @property
    def identity(self) -> str:
        """Names the spool file, so entries spooled for one store never replay into another."""
        key = self.description if self.dsn is not None else f"sqlite:{self.sqlite_path}"
        return hashlib.sha256(key.encode()).hexdigest()[:12]


def store_factory(runbook: Runbook) -> StoreFactory:
    """[log] path → SQLite; [log] dsn or COCKPIT_LOG_DSN → PostgreSQL (password from [log] password_secret)."""
    dsn = os.environ.get(DSN_ENV) or runbook.log.dsn
    if dsn:
        password = None
        if runbook.log.password_secret:
            password = get_secret(runbook.log.password_secret)  # MissingSecret names the entry, not a value
        return StoreFactory(dsn=dsn, password=password)
    assert runbook.log.path is not None
    return StoreFactory(sqlite_path=runbook.resolve_path(runbook.log.path).resolve())


def spool_dir(runbook: Runbook) -> Path:
    return runbook.resolve_path(runbook.log.spool or ".deploy/spool")


def _spool_name(factory: StoreFactory) -> str:
    return f"spool-{factory.identity}"


def local_spool(runbook: Runbook, factory: StoreFactory | None = None) -> Spool:
    """The entries waiting to be replayed into the runbook's store (readers count them, never replay them)."""
    return Spool(spool_dir(runbook), _spool_name(factory or store_factory(runbook)))


def open_log(runbook: Runbook, *, replay: bool = True, retry_interval: float = 2.0) -> SpooledLog:
    """The log, always spooled; replays waiting entries now when the store answers.

    Opening never fails because the store is away (appends then spool); it raises MissingSecret
    when the password secret is not set.
    """
    factory = store_factory(runbook)
    return SpooledLog(factory, spool_dir(runbook), name=_spool_name(factory), replay=replay,
                      retry_interval=retry_interval)


def opened_log(runbook: Runbook) -> closing[SpooledLog]:
    """The runbook's log, opened now and closed when the `with` block ends.

    Raises OpeningError (cockpit.core.opening, which words a missing secret or a bad store) before
    the block starts, so an error inside the block is never mistaken for one of opening.
    """
    from cockpit.core.opening import open_runbook_log  # startup: open_log's users (flag commands) skip it

    return closing(open_runbook_log(runbook))  # type: ignore[arg-type]  (open_runbook_log opens open_log's SpooledLog)
