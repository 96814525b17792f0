"""The watcher: samples the open windows of a release and acts on a breach, with or without a screen.

`cockpit watch` runs one in its own process (for systemd or a pod); an open cockpit runs one too. Only
the holder of the environment's watch lease (a row of the lock table beside the cutover lock, core/log/
lock.py) samples and acts, and every entry it writes is guarded by that lease inside the store's
serialised append: two watchers never act twice, and a watcher that lost its lease stops writing.

What is written is what changes: a window's state or failure count, a breach and its action, an hourly
summary, the close. A watcher killed and started again reads all of that back from the log and goes on
where the last one stopped (a breach whose action was not carried out is carried out then).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cockpit.core import guardrail, kinds
from cockpit.core.guardrail import WindowState
from cockpit.core.log import lock
from cockpit.core.log.base import AppendRefused, LockInfo, LogUnavailable
from cockpit.core.log.entry import Actor, format_at
from cockpit.core.release import StageStatus

if TYPE_CHECKING:
    from cockpit.core.evidence import Evidence
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.guardrails import GuardrailConfig

SUMMARY_EVERY = timedelta(hours=1)
MIN_LEASE = timedelta(seconds=10)


def watch_actor(person: Actor) -> Actor:
    """Who a watcher is in the log and the lease: the person who runs it, this process on this host (two
    watchers of one person must not both hold the lease)."""
    return replace(person, name=f"{person.name} (watch {socket.gethostname()}:{os.getpid()})")


@dataclass
class _Tally:
    """What a window saw since its last summary (kept in memory: a restart starts a new tally)."""

    count: int = 0
    failures: int = 0
    low: float | None = None
    high: float | None = None

    def add(self, s: guardrail.Sample) -> None:
        self.count += 1
        self.failures += s.verdict == guardrail.FAILING
        if s.value is not None:
            self.low = s.value if self.low is None else min(self.low, s.value)
            self.high = s.value if self.high is None else max(self.high, s.value)


@dataclass
class Watcher:
    session: ReleaseSession
    actor: Actor
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    say: Callable[[str], None] = lambda line: None
    """One line per event worth telling (a CLI prints them)."""
    take: Callable[[str], Awaitable[Evidence]] | None = None
    """How a check is sampled (default: the check's kind, core/checks)."""
    _due: dict[str, datetime] = field(default_factory=dict)
    _tally: dict[str, _Tally] = field(default_factory=dict)
    _lease_until: datetime | None = None
    _lease_renewed: datetime | None = None
    waiting_for: str = ""
    """Who holds the lease when it is not us ("" when we hold it)."""

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.session.clock

    @property
    def lease(self) -> timedelta:
        """Long enough for a few rounds (a round may wait out a slow query), short enough that a watcher
        that died is replaced within a few intervals."""
        rb = self.session.runbook
        guarded = {g.check for s in rb.stages for g in s.guardrails}
        intervals = [g.interval for s in rb.stages for g in s.guardrails]
        timeouts = [c.timeout for c in rb.checks if c.id in guarded]
        return max(MIN_LEASE, 3 * min(intervals, default=MIN_LEASE), 2 * max(timeouts, default=MIN_LEASE))

    @property
    def holding(self) -> bool:
        return self._lease_until is not None and self._lease_until > self.clock()

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Watch until no window of the release is open (and every breach has been acted on)."""
        try:
            while True:
                wait = await self.round()
                if wait is None:
                    return
                await self.sleep(wait)
        finally:
            await self.give_back()

    async def round(self) -> float | None:
        """One look at every window that is due; seconds until the next is due, None when none is open."""
        s = self.session
        try:
            await s.refresh()
        except LogUnavailable:
            return 5.0
        pending = self._pending()
        if not pending:
            return None
        if not await self._hold_lease():
            return max(1.0, min(self.lease.total_seconds() / 3, 30.0))
        try:
            for w in pending:
                await self._look(w)
        except AppendRefused as e:  # the lease went to another watcher between two writes
            self._lease_until = None
            self.say(f"lease lost: {e}")
            return 1.0
        now = self.clock()
        upcoming = [self._due.get(w.key, now) for w in self._pending()]
        renew_at = (self._lease_renewed or now) + self.lease / 3
        nxt = min([*upcoming, renew_at], default=now)
        return None if not self._pending() else max((nxt - now).total_seconds(), 0.05)

    def _pending(self) -> list[WindowState]:
        """Windows to sample, and breached ones whose action is still to carry out."""
        s = self.session
        if not s.state.phase.in_flight:
            return []
        return [w for w in s.windows() if w.is_open or (w.breached_at is not None and not w.acted)]

    def _rail(self, w: WindowState) -> GuardrailConfig:
        return next(g for g in self.session.runbook.stage(w.stage).guardrails if g.check == w.check)

    async def _record(self, kind: str, payload: dict[str, Any]) -> None:
        await self.session.record(kind, payload, guard=self._guard, actor=self.actor)

    def _guard(self, row: LockInfo | None) -> None:
        held = lock.current(row, self.clock())
        if held is None or not held.held_by(self.session.release_id, self.actor):
            raise AppendRefused("the watch lease is " + (f"held by {held.describe()}" if held else "not held"))

    # -- one window ---------------------------------------------------------------------------
    async def _look(self, w: WindowState) -> None:
        now = self.clock()
        if w.breached_at is not None:
            await self._act(w)
            return
        if now >= w.until:
            await self._record(kinds.GUARDRAIL_CLOSED, {"stage": w.stage, "check": w.check, "outcome": "clean",
                                                         "count": w.sample_count})
            self.say(f"{w.stage}/{w.check}: window over, clean")
            return
        if self._due.get(w.key, now) > now:
            return
        self._due[w.key] = now + w.interval
        rail = self._rail(w)
        ev = await self._sample(w.check)
        sample = guardrail.judge(ev, rail, w.baseline)
        self._tally.setdefault(w.key, _Tally()).add(sample)
        step = guardrail.advance(w, sample)
        if step.payload is not None:
            await self._record(kinds.GUARDRAIL_CHANGED, step.payload)
            self.say(f"{w.stage}/{w.check}: {w.state} ({w.failures}/{w.failure_limit} failed) — {sample.detail}")
        if step.breached:
            await self._breach(w, sample)
            return
        if now - (w.summarized_at or w.opened_at) >= SUMMARY_EVERY:
            await self._summary(w, sample)

    async def _sample(self, check_id: str) -> Evidence:
        if self.take is not None:
            return await self.take(check_id)
        from cockpit.core.checks import take  # startup: the check kinds load with the first sample

        check = next(c for c in self.session.runbook.checks if c.id == check_id)
        return await take(check, self.session.context())

    async def _summary(self, w: WindowState, sample: guardrail.Sample) -> None:
        t = self._tally.pop(w.key, _Tally())
        await self._record(kinds.GUARDRAIL_SUMMARY, {
            "stage": w.stage, "check": w.check, "count": t.count, "failures": t.failures, "min": t.low,
            "max": t.high, "last": sample.value, "state": w.state, "sampled_at": sample.at.isoformat(),
            "samples": list(w.samples)})

    async def _breach(self, w: WindowState, sample: guardrail.Sample) -> None:
        detail = (f"{w.failures} of {w.failure_limit} samples failed"
                  f"{' in a row' if w.consecutive else ''}: {sample.detail}")
        await self._record(kinds.GUARDRAIL_BREACHED, {
            "stage": w.stage, "check": w.check, "action": w.on_breach, "failures": w.failures, "detail": detail,
            "baseline": w.baseline, "limits": w.limit_text, "value": sample.value, "samples": list(w.samples)})
        self.say(f"{w.stage}/{w.check}: BREACHED — {detail}")
        await self._act(w)

    async def _act(self, w: WindowState) -> None:
        """The breach's action: the stage's flags off at once (kill), or the alert alone. Carried out once:
        `guardrail.acted` says it was (a restarted watcher finishes what a killed one left)."""
        s = self.session
        flags_off: list[str] = []
        problems: list[str] = []
        if w.on_breach == "kill" and s.state.stage(w.stage).status is StageStatus.STARTED:
            flags_off = list(s.runbook.stage(w.stage).flags)
            reason = f"guardrail {w.check} breached (automatic): {w.breach_detail or w.last_detail}"
            try:
                outcome = await s.kill_stage(w.stage, reason)
                problems = outcome.problems
            except Exception as e:  # noqa: BLE001 - a flag service away or a missing token: said, and alerted
                problems = [f"the stage's flags could not be turned off: {type(e).__name__}: {e}"]
        await self._record(kinds.GUARDRAIL_ACTED, {"stage": w.stage, "check": w.check, "action": w.on_breach,
                                                   "ok": not problems, "flags_off": flags_off, "problems": problems})
        self.say(f"{w.stage}/{w.check}: " + (f"flags off: {', '.join(flags_off)}" if flags_off else "alert raised")
                 + "".join(f"\n  ! {p}" for p in problems))

    # -- the lease ----------------------------------------------------------------------------
    async def _hold_lease(self) -> bool:
        s = self.session
        now = self.clock()
        key = s.environment + lock.WATCH_LEASE
        if self.holding and self._lease_renewed and now - self._lease_renewed < self.lease / 3:
            return True
        try:
            if self.holding:
                expires = now + self.lease
                await asyncio.to_thread(s.log.renew_lease, key, s.release_id, self.actor, expires)
                self._lease_until, self._lease_renewed = expires, now
                return True
            row = await asyncio.to_thread(s.log.lock_row, key)
            held = lock.current(row, now)
            if held is not None and not held.held_by(s.release_id, self.actor):
                if self.waiting_for != held.holder.name:
                    self.say(f"another watcher holds the lease: {held.describe()}")
                self.waiting_for = held.holder.name
                return False
            expires = now + self.lease
            payload = {"lease_s": int(self.lease.total_seconds()), "taken_at": format_at(now),
                       "expires_at": format_at(expires)}
            await s.record(kinds.WATCH_STARTED, payload, guard=self._take_guard(now), actor=self.actor)
        except AppendRefused as e:
            self._lease_until = None
            self.say(f"watch lease refused: {e}")
            return False
        except LogUnavailable:
            return False
        self._lease_until, self._lease_renewed, self.waiting_for = expires, now, ""
        self.say(f"watching {s.release_id} in {s.environment} (lease {int(self.lease.total_seconds())} s)")
        return True

    def _take_guard(self, now: datetime) -> Callable[[LockInfo | None], None]:
        def guard(row: LockInfo | None) -> None:
            held = lock.current(row, now)
            if held is not None and not held.held_by(self.session.release_id, self.actor):
                raise AppendRefused(f"the watch lease is held by {held.describe()}")
        return guard

    async def give_back(self) -> None:
        if not self.holding:
            return
        self._lease_until = None
        try:
            await self.session.record(kinds.WATCH_STOPPED, {"reason": "no window open"}, actor=self.actor,
                                      guard=lambda row: None)
        except (AppendRefused, LogUnavailable):
            pass  # the lease lapses by itself
