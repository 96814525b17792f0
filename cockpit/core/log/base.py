"""The ReleaseLog protocol: what every store (PostgreSQL, SQLite) offers.

Stores are synchronous (appends are short transactions); the UI calls them from thread
workers, the CLI directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cockpit.core.log.entry import Actor, Entry, NewEntry, format_at


@dataclass(frozen=True)
class LogFilter:
    """What the auditor (and the fold) asks for; every field narrows, None means any."""

    release_id: str | None = None
    environment: str | None = None
    actor: str | None = None
    kind: str | None = None          # exact kind, or a prefix ending in '.' ("flag.")
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None          # free text over payload, kind, release and actor


Keep = Callable[[str, str, str], bool]
"""Asked of every intact row verify walks, with its kind, environment and payload JSON text: True keeps the
row for the caller (VerifyResult.kept)."""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    head: tuple[int, str] | None = None
    """The last entry walked (seq, hash): the head verify prints, read in the same pass."""
    kept: tuple[Any, ...] = ()
    """Rows (chain.StoredRow, without the hashed text) the caller's Keep asked for, checked like the rest:
    the decisions whose signatures verify judges next, without a second read of the log."""


class LogUnavailable(Exception):
    """The store cannot be reached now (network, server down): spool and retry later."""


class AppendRefused(Exception):
    """A guarded append whose guard said no (e.g. the environment is locked by someone else)."""


@dataclass(frozen=True)
class LockInfo:
    """An environment's cutover lock as the store's lock table holds it (the lease may have run out)."""

    environment: str
    release_id: str
    holder: Actor
    taken_at: datetime
    expires_at: datetime
    seq: int
    """The lock.taken entry."""

    def describe(self) -> str:
        return (f"{self.holder.name} ({self.holder.os_user}@{self.holder.host}) for release {self.release_id}, "
                f"lease until {format_at(self.expires_at)}")

    def held_by(self, release_id: str, actor: Actor) -> bool:
        return self.release_id == release_id and self.holder.name == actor.name


Guard = Callable[["LockInfo | None"], "dict[str, Any] | None"]
"""Called inside the serialised append with the environment's lock as the store holds it (expired or
not; None when free); raises AppendRefused, or returns fields to add to the entry's payload (e.g.
whose lock is broken)."""


class ReleaseLog(Protocol):
    def append(self, entry: NewEntry) -> Entry: ...

    def append_guarded(self, entry: NewEntry, guard: Guard) -> Entry: ...

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]: ...

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None,
             before_seq: int | None = None, limit: int = 100, newest_first: bool = False) -> list[Entry]: ...

    def head(self) -> Entry | None: ...

    def lock_row(self, environment: str) -> LockInfo | None: ...

    def renew_lease(self, environment: str, release_id: str, actor: Actor, expires_at: datetime) -> LockInfo: ...

    def count(self, flt: LogFilter = LogFilter()) -> int: ...

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult: ...

    def close(self) -> None: ...
