"""The environment's cutover lock as the release holds it (mixed into ReleaseSession): taken and given
back as chain entries, its lease renewed in the store's lock table for as long as this release holds it
(core/log/lock.py has the rules; this is who applies them and when)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cockpit.core.log import lock
from cockpit.core.log.base import AppendRefused, LogUnavailable

if TYPE_CHECKING:
    from cockpit.core.log.entry import Entry
    from cockpit.core.log.lock import LockInfo
    from cockpit.core.session import ReleaseSession


class LeaseActions:
    """Taking, renewing and giving back the lock; `self` is the ReleaseSession."""

    async def take_lock(self: ReleaseSession) -> Entry | None:
        """Take the environment's cutover lock for this release (one cutover per environment) and keep
        its lease renewed from now on. Already ours: the lease is renewed, nothing is recorded."""
        held = await self.lock_holder()
        if held is not None and held.held_by(self.release_id, self.actor):
            await self.renew_lock()
            self._keep_renewing()
            return None
        kind, payload, guard = lock.take(self.environment, self.release_id, self.actor,
                                         self.runbook.release.lock_lease, self.clock())
        entry = await self.record(kind, payload, guard=guard)
        self._keep_renewing()
        return entry

    async def renew_lock(self: ReleaseSession) -> LockInfo:
        """Move this release's lease on (the lock table only: renewals are not history)."""
        expires = self.clock() + self.runbook.release.lock_lease
        return await asyncio.to_thread(self.log.renew_lease, self.environment, self.release_id, self.actor, expires)

    async def release_lock(self: ReleaseSession) -> Entry:
        self._stop_renewing()
        kind, payload, guard = lock.give_back(self.environment, self.release_id, self.actor, self.clock())
        return await self.record(kind, payload, guard=guard)

    async def force_unlock(self: ReleaseSession, reason: str, held: LockInfo) -> Entry:
        """Break the lock `held` (of this release); recorded with the reason and who held it."""
        kind, payload, guard = lock.force(self.environment, held, reason, self.clock())
        return await self.record(kind, payload, guard=guard)

    async def lock_holder(self: ReleaseSession) -> LockInfo | None:
        return await asyncio.to_thread(lock.lock_holder, self.log, self.environment, self.clock())

    @property
    def renewing(self: ReleaseSession) -> bool:
        """This session keeps the environment's lease renewed now."""
        return self._lease_task is not None and not self._lease_task.done()

    def _keep_renewing(self: ReleaseSession) -> None:
        """Renew the lease every third of it for as long as this session holds the lock (a cockpit, a
        rollback wizard, a headless command: whatever took it). Stops when the lock is given back or
        someone else holds it; an unreachable store is tried again at the next turn."""
        if self.renewing:
            return
        every = min(max(self.runbook.release.lock_lease.total_seconds() / 3, 0.5), 300.0)

        async def renew() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.renew_lock()
                    self.lock_lost = ""
                except AppendRefused as e:
                    self.lock_lost = str(e)
                    return
                except LogUnavailable:
                    continue

        self._lease_task = asyncio.get_running_loop().create_task(renew(), name=f"lease {self.environment}")

    def _stop_renewing(self: ReleaseSession) -> None:
        task, self._lease_task = self._lease_task, None
        if task is not None:
            task.cancel()

    def close(self: ReleaseSession) -> None:
        """Stop renewing the lease (the lock itself stays until given back or its lease ends)."""
        self._stop_renewing()

    async def keep_lease(self: ReleaseSession) -> str:
        """Who holds the environment's lock, for a status line; a release in flight that holds it (opened
        again after a crash, say) keeps its lease renewed from here on."""
        try:
            holder = await self.lock_holder()
        except Exception as e:  # noqa: BLE001 - a status line must not raise
            return f"lock unknown: {type(e).__name__}"
        if holder is None:
            return f"lock lost: {self.lock_lost}" if self.lock_lost else ""
        mine = holder.held_by(self.release_id, self.actor)
        if mine and self.state.phase.in_flight:
            self._keep_renewing()
        return f"lock: {'you' if mine else holder.holder.name} until {holder.expires_at:%H:%M:%S}Z"
