"""The release lock: one active cutover per environment, across the whole team.

Who holds an environment's lock, and until when, is a row of the store's lock table (a lease, so a
crashed cockpit does not lock everyone out for ever). Taking, forcing and giving back the lock are
chain entries (`lock.taken` / `lock.released`) appended with a guard: the store runs the guard on the
lock row inside its serialised append and updates the row in the same transaction, so two cockpits
can never both take it. Renewing a lease only moves the row's expiry: it is not history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.core.kinds import LOCK_RELEASED, LOCK_TAKEN
from cockpit.core.log.base import AppendRefused, Guard, LockInfo, ReleaseLog
from cockpit.core.log.entry import Actor, format_at

__all__ = ["LockInfo", "current", "force", "give_back", "lock_holder", "lock_key", "take"]

WATCH_LEASE = "@watch"


def lock_key(kind: str, environment: str) -> str:
    """The lock-table row an entry is guarded by and keeps: the watchers' lease beside the cutover lock
    for a watcher's entries (core/watch.py: two watchers never act twice), else the environment's lock."""
    return environment + WATCH_LEASE if kind.startswith(("watch.", "guardrail.")) else environment


def current(row: LockInfo | None, now: datetime) -> LockInfo | None:
    """The lock row if its lease still runs at `now`, else None (free)."""
    return row if row is not None and row.expires_at > now else None


# The entries themselves are appended by the release that takes or gives back the lock
# (ReleaseSession.take_lock & co.): each function below returns the entry's kind, its payload and the
# guard that the store runs inside its serialised append.


def take(environment: str, release_id: str, actor: Actor, lease: timedelta, at: datetime
         ) -> tuple[str, dict[str, Any], Guard]:
    """Take the environment's lock for a release. Refused (AppendRefused naming the holder and the end
    of their lease) while someone else holds an unexpired lock."""
    payload = {"lease_s": int(lease.total_seconds()), "taken_at": format_at(at), "expires_at": format_at(at + lease)}

    def guard(row: LockInfo | None) -> None:
        held = current(row, at)
        if held is not None and not held.held_by(release_id, actor):
            raise AppendRefused(f"{environment} is locked by {held.describe()}")

    return LOCK_TAKEN, payload, guard


def may_renew(row: LockInfo | None, environment: str, release_id: str, actor: Actor) -> None:
    """A lease is renewed by its holder only — also once it lapsed, as long as nobody took it since."""
    if row is None:
        raise AppendRefused(f"{environment} is not locked by you for release {release_id}: take the lock")
    if not row.held_by(release_id, actor):
        raise AppendRefused(f"{environment} is locked by {row.describe()}")


def give_back(environment: str, release_id: str, actor: Actor, at: datetime) -> tuple[str, dict[str, Any], Guard]:
    """Give the lock back; refused unless you hold it."""

    def guard(row: LockInfo | None) -> None:
        held = current(row, at)
        if held is None:
            raise AppendRefused(f"{environment} is not locked")
        if not held.held_by(release_id, actor):
            raise AppendRefused(f"{environment} is locked by {held.describe()}; use a forced unlock with a reason")

    return LOCK_RELEASED, {"forced": False}, guard


def force(environment: str, held: LockInfo, reason: str, at: datetime) -> tuple[str, dict[str, Any], Guard]:
    """Break someone's lock (a crashed cockpit, a colleague gone home). Needs a reason; recorded in the
    release whose lock is broken (`held`) as lock.released with forced=true, the reason and who held it."""
    if not reason or not reason.strip():
        raise ValueError("a forced unlock needs a reason (it is written to the release log)")

    def guard(row: LockInfo | None) -> dict[str, Any]:
        now_held = current(row, at)
        if now_held is None or now_held.seq != held.seq:
            raise AppendRefused(f"the lock on {environment} changed meanwhile; look again (cockpit log status)")
        return {"previous_holder": now_held.holder.to_json(), "lease_was_until": format_at(now_held.expires_at)}

    return LOCK_RELEASED, {"forced": True, "reason": reason.strip()}, guard


def lock_holder(log: ReleaseLog, environment: str, now: datetime | None = None) -> LockInfo | None:
    """Who holds the environment's lock now (None: free, or the lease ran out)."""
    return current(log.lock_row(environment), now or datetime.now(UTC))
