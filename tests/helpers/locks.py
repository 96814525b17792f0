"""The lock's rules (cockpit.core.log.lock) applied straight to a store, for the lock's own tests.

In the product every lock entry is recorded by its release (ReleaseSession.take_lock & co.); these
tests check the guards and the store's serialised guarded append without a runbook around them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.core.log import lock
from cockpit.core.log.base import AppendRefused, ReleaseLog
from cockpit.core.log.entry import Actor, Entry, NewEntry


def _at(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _append(log: ReleaseLog, release_id: str, environment: str, actor: Actor, at: datetime, made) -> Entry:  # noqa: ANN001
    kind, payload, guard = made
    return log.append_guarded(NewEntry(release_id, environment, kind, payload, actor, at), guard)


def take_lock(log: ReleaseLog, environment: str, release_id: str, actor: Actor, lease: timedelta, *,
              now: datetime | None = None) -> Entry:
    at = _at(now)
    return _append(log, release_id, environment, actor, at, lock.take(environment, release_id, actor, lease, at))


def renew(log: ReleaseLog, environment: str, release_id: str, actor: Actor, lease: timedelta, *,
          now: datetime | None = None) -> lock.LockInfo:
    return log.renew_lease(environment, release_id, actor, _at(now) + lease)


def release_lock(log: ReleaseLog, environment: str, release_id: str, actor: Actor, *,
                 now: datetime | None = None) -> Entry:
    at = _at(now)
    return _append(log, release_id, environment, actor, at, lock.give_back(environment, release_id, actor, at))


def force_unlock(log: ReleaseLog, environment: str, reason: str, actor: Actor, *, now: datetime | None = None) -> Entry:
    at = _at(now)
    if not reason.strip():
        raise ValueError("a forced unlock needs a reason (it is written to the release log)")
    current = lock.lock_holder(log, environment, at)
    if current is None:
        raise AppendRefused(f"{environment} is not locked")
    return _append(log, current.release_id, environment, actor, at, lock.force(environment, current, reason, at))
