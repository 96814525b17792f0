"""A stage's watched windows as the release opens and judges them (mixed into ReleaseSession).

The window opens as the stage's flags go on: each guarded check is sampled just before the flip and
that value, the baseline, is written with `guardrail.opened`. Until every window of the stage has
passed clean, the stage is not marked stable — except by an override with a reason, which is logged.
Sampling and acting on breaches is the watcher's (core/watch.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cockpit.core import guardrail, kinds
from cockpit.core.evidence import Status
from cockpit.core.log.entry import format_at
from cockpit.runbook.durations import humanize

if TYPE_CHECKING:
    from cockpit.core.guardrail import WindowState
    from cockpit.core.session import ReleaseSession


class WatchedWindows:
    """`self` is the ReleaseSession."""

    def windows(self: ReleaseSession, stage_id: str | None = None) -> list[WindowState]:
        """The release's windows (of one stage), in the runbook's order."""
        order = {guardrail.window_key(s.id, g.check): i for i, (s, g) in enumerate(
            (s, g) for s in self.runbook.stages for g in s.guardrails)}
        ws = [w for w in self.state.windows.values() if stage_id is None or w.stage == stage_id]
        return sorted(ws, key=lambda w: order.get(w.key, len(order)))

    def open_windows(self: ReleaseSession) -> list[WindowState]:
        return [w for w in self.windows() if w.is_open]

    def _window_due(self: ReleaseSession, stage_id: str) -> bool:
        """The stage has guardrails and no window opened since it (last) started."""
        started = self.state.stage(stage_id).started_at
        for g in self.runbook.stage(stage_id).guardrails:
            w = self.state.windows.get(guardrail.window_key(stage_id, g.check))
            if w is None or (started is not None and w.opened_at < started):
                return True
        return False

    async def open_stage_windows(self: ReleaseSession, stage_id: str) -> list[WindowState]:
        """Sample the baselines and open the stage's windows (before its flags go on). Idempotent per start."""
        from cockpit.core.checks import take_all  # startup: only a stage with guardrails needs it

        stage = self.runbook.stage(stage_id)
        if not stage.guardrails or not self._window_due(stage_id):
            return []
        by_id = {c.id: c for c in self.runbook.checks}
        checks = [by_id[g.check] for g in stage.guardrails]
        taken = {e.check_id: e for e in await take_all(checks, self.context(stage=stage_id))}
        now = self.clock()
        for g in stage.guardrails:
            ev = taken[g.check]
            value = guardrail.sample_value(ev)
            base = value if ev.status in (Status.PASS, Status.FAIL) and value is not None else None
            payload: dict[str, Any] = {
                "stage": stage_id, "check": g.check, "baseline": base,
                "baseline_detail": ev.detail if base is not None else f"no baseline: {ev.detail}",
                "interval_s": g.interval.total_seconds(), "window_s": g.window.total_seconds(),
                "until": format_at(now + g.window), "failure_limit": g.failure_limit,
                "consecutive": g.consecutive, "on_breach": g.on_breach,
                "inconclusive_limit": g.inconclusive_limit,
                "limits": guardrail.limits(g, getattr(by_id[g.check], "expect", None)),
            }
            await self.record(kinds.GUARDRAIL_OPENED, payload)
        return self.windows(stage_id)

    def window_refusal(self: ReleaseSession, stage_id: str) -> str | None:
        """Why the stage's windows do not let it be marked stable yet, or None."""
        if not self.runbook.stage(stage_id).guardrails:
            return None
        if self._window_due(stage_id):
            return f"stage '{stage_id}' has guardrails whose window has not opened (its flags are not on yet)"
        now = self.clock()
        for w in self.windows(stage_id):
            if w.breached_at is not None:
                return f"guardrail '{w.check}' breached: {w.breach_detail}"
            if w.is_open and w.left(now) > timedelta(0):
                return (f"guardrail '{w.check}' is watching for {humanize(w.left(now))} more "
                        f"({w.state}, {w.failures}/{w.failure_limit} failed)")
            if w.is_open:  # over by the clock, but no watcher closed it: nobody saw it pass
                return (f"guardrail '{w.check}': its window is over but no watcher closed it "
                        f"({w.sample_count or 'no'} samples seen here): keep a cockpit open or run `cockpit watch`")
        return None
