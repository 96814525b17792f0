"""The release lock: one active cutover per environment, across the whole team.

The lock lives in the log itself: `lock.taken` / `lock.renewed` / `lock.released` entries of the
environment. The newest of them says who holds it and until when (a lease, so a crashed cockpit
does not lock everyone out for ever). Taking it is a guarded append: the guard reads the lock
entries inside the store's serialised append, so two cockpits can never both take it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.core.kinds import LOCK_RELEASED, LOCK_RENEWED, LOCK_TAKEN
from cockpit.core.log.base import AppendRefused, Guard, LogFilter, ReleaseLog
from cockpit.core.log.entry import Actor, Entry, format_at, parse_at

LOCK_KINDS = "lock."
"""The prefix every lock entry's kind shares (a LogFilter kind prefix)."""


@dataclass(frozen=True)
class LockInfo:
    environment: str
    release_id: str
    holder: Actor
    taken_at: datetime
    expires_at: datetime
    seq: int

    def describe(self) -> str:
        return (f"{self.holder.name} ({self.holder.os_user}@{self.holder.host}) for release {self.release_id}, "
                f"lease until {format_at(self.expires_at)}")


def holder_from(entries: list[Entry], environment: str, now: datetime) -> LockInfo | None:
    """Who holds the lock after these entries (oldest first), or None when free or expired."""
    for e in reversed(entries):
        if e.environment != environment or e.kind not in (LOCK_TAKEN, LOCK_RENEWED, LOCK_RELEASED):
            continue
        if e.kind == LOCK_RELEASED:
            return None
        try:
            expires = parse_at(e.payload["expires_at"])
        except (KeyError, TypeError, ValueError):
            return None  # a lock entry we cannot read locks nobody out
        if expires <= now:
            return None
        taken_at = parse_at(e.payload["taken_at"]) if "taken_at" in e.payload else e.at
        return LockInfo(environment, e.release_id, e.actor, taken_at, expires, e.seq)
    return None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _same_holder(info: LockInfo, release_id: str, actor: Actor) -> bool:
    return info.release_id == release_id and info.holder.name == actor.name


# The entries themselves are appended by the release that takes, renews or gives back the lock
# (ReleaseSession.take_lock & co.): each function below returns the entry's payload and the guard
# that the store runs inside its serialised append, so two cockpits can never both take the lock.


def take(environment: str, release_id: str, actor: Actor, lease: timedelta, at: datetime
         ) -> tuple[str, dict[str, Any], Guard]:
    """Take the environment's lock for a release. Refused (AppendRefused naming the holder and the end
    of their lease) while someone else holds an unexpired lock; taking it again yourself renews it."""
    payload = {"lease_s": int(lease.total_seconds()), "taken_at": format_at(at), "expires_at": format_at(at + lease)}

    def guard(locks: list[Entry]) -> None:
        held = holder_from(locks, environment, at)
        if held is not None and not _same_holder(held, release_id, actor):
            raise AppendRefused(f"{environment} is locked by {held.describe()}")

    return LOCK_TAKEN, payload, guard


def renew(environment: str, release_id: str, actor: Actor, lease: timedelta, at: datetime
          ) -> tuple[str, dict[str, Any], Guard]:
    """Extend your lease; refused unless you hold the lock (or it lapsed and nobody took it since)."""

    def guard(locks: list[Entry]) -> dict[str, Any]:
        held = holder_from(locks, environment, at)
        if held is None:  # lapsed: still yours if the last lock entry is your unreleased lease
            held = holder_from(locks, environment, datetime.min.replace(tzinfo=UTC))
            if held is None or not _same_holder(held, release_id, actor):
                raise AppendRefused(f"{environment} is not locked by you for release {release_id}: take the lock")
        elif not _same_holder(held, release_id, actor):
            raise AppendRefused(f"{environment} is locked by {held.describe()}")
        return {"taken_at": format_at(held.taken_at)}

    payload = {"lease_s": int(lease.total_seconds()), "expires_at": format_at(at + lease)}
    return LOCK_RENEWED, payload, guard


def give_back(environment: str, release_id: str, actor: Actor, at: datetime) -> tuple[str, dict[str, Any], Guard]:
    """Give the lock back; refused unless you hold it."""

    def guard(locks: list[Entry]) -> None:
        held = holder_from(locks, environment, at)
        if held is None:
            raise AppendRefused(f"{environment} is not locked")
        if not _same_holder(held, release_id, actor):
            raise AppendRefused(f"{environment} is locked by {held.describe()}; use a forced unlock with a reason")

    return LOCK_RELEASED, {"forced": False}, guard


def force(environment: str, current: LockInfo, reason: str, at: datetime) -> tuple[str, dict[str, Any], Guard]:
    """Break someone's lock (a crashed cockpit, a colleague gone home). Needs a reason; recorded in the
    release whose lock is broken (`current`) as lock.released with forced=true, the reason and who held it."""
    if not reason or not reason.strip():
        raise ValueError("a forced unlock needs a reason (it is written to the release log)")

    def guard(locks: list[Entry]) -> dict[str, Any]:
        held = holder_from(locks, environment, at)
        if held is None or held.seq != current.seq:
            raise AppendRefused(f"the lock on {environment} changed meanwhile; look again (cockpit log status)")
        return {"previous_holder": held.holder.to_json(), "lease_was_until": format_at(held.expires_at)}

    return LOCK_RELEASED, {"forced": True, "reason": reason.strip()}, guard


def lock_holder(log: ReleaseLog, environment: str, now: datetime | None = None) -> LockInfo | None:
    """Who holds the environment's lock now (None: free, or the lease ran out)."""
    newest = log.page(LogFilter(environment=environment, kind=LOCK_KINDS), limit=1, newest_first=True)
    return holder_from(newest, environment, _now(now))
