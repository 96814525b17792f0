"""The environment's release lock during a rollback (cockpit/core/log/lock.py).

What is right under an incident:
- lock free, or held by us for this release: take (or renew) it, like any cutover;
- held by someone else *for this same release* (typically the release owner's cockpit, maybe
  crashed, maybe still open on a colleague's laptop): the incident commander must not be blocked.
  The lock is broken (`lock.released` forced=true, naming the previous holder and the reason) and
  taken; the rollback.started entry says so;
- held by someone else for *another* release: a different cutover is in flight in this
  environment; rolling back over it needs an explicit --force (also logged);
- the lock cannot be taken because the log store is away: the rollback goes on (its entries are
  spooled); the rollback.started entry says the lock was not held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cockpit.core.log.base import AppendRefused

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession


class LockRefused(Exception):
    """Another release holds the environment's lock and the rollback was not forced."""


async def take(session: ReleaseSession, *, force: bool = False) -> tuple[bool | None, str]:
    """(True when we hold the lock, a note for the log — empty when nothing unusual happened)."""
    rid, actor = session.release_id, session.actor
    try:
        note = ""
        held = await session.lock_holder()
        if held is not None and not (held.release_id == rid and held.holder.name == actor.name):
            if held.release_id != rid and not force:
                raise LockRefused(f"{session.environment} is locked by {held.describe()}: another release is in "
                                  "flight. Roll back over it only with --force (it is logged)")
            reason = (f"incident rollback of {rid} by {actor.name}" if held.release_id == rid
                      else f"forced rollback of {rid} by {actor.name} over release {held.release_id}")
            # The forced release is recorded in the release whose lock is broken, by that release's writer.
            owner = session if held.release_id == rid else type(session).writer(
                session.runbook, session.log, session.environment, actor, held.release_id)
            await owner.force_unlock(reason, held)
            note = f"lock taken over from {held.holder.name} (forced: {reason})"
        await session.take_lock()
        return True, note
    except LockRefused:
        raise
    except AppendRefused as e:  # someone took it in between: say so, do not stop an incident for it
        return None, f"lock not held: {e}"
    except Exception as e:  # noqa: BLE001 - store away (the rollback's entries are spooled)
        return None, f"lock not held: {type(e).__name__}: {e}"


async def release(session: ReleaseSession, held: bool | None) -> None:
    if not held:
        return
    try:
        await session.release_lock()
    except Exception:  # noqa: BLE001 - a lock we cannot release lapses with its lease
        pass
