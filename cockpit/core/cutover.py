"""GO and the cutover, as methods of the release (mixed into ReleaseSession): GO with its lock, flag
snapshot and tag; stages flipped, watched, marked stable, killed; the release closed.

Each method refuses what the release's state does not allow (ActionRefused, in words) and records
every step through the release's own writer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cockpit.core import gitrepo, kinds
from cockpit.core.flags.flip import snapshot, snapshot_payload
from cockpit.core.log.base import AppendRefused, LogUnavailable
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import StageStatus
from cockpit.core.timeline import plan_at_go
from cockpit.runbook.durations import humanize

if TYPE_CHECKING:
    from cockpit.core.gate import Verdict
    from cockpit.core.session import ReleaseSession


@dataclass
class Outcome:
    """What an action did beyond its entries: things the release owner must see (never hidden)."""

    problems: list[str]
    flips: Any = None  # cockpit.core.flags.flip.KillSwitchResult when flags were flipped

    @property
    def ok(self) -> bool:
        return not self.problems and (self.flips is None or self.flips.ok)


class CutoverActions:
    """GO and the stages; `self` is the ReleaseSession."""

    # -- GO ------------------------------------------------------------------------------
    def go_refusal(self: ReleaseSession, confirmation: str) -> str | None:
        """Why GO may not be recorded now with this confirmation, or None."""
        if not self.state.phase.before_go:
            return f"this release is already '{self.state.phase}'"
        verdict = self.verdict(require_signoff=True)
        if not verdict.go:
            return "the gate says NO-GO: " + "; ".join(verdict.reasons)
        if confirmation.strip().lower() not in (self.target.short, self.target.sha):
            return f"type the target's short SHA ({self.target.short}) to confirm GO"
        return self.signing_refusal()

    async def go(self: ReleaseSession, confirmation: str) -> Outcome:
        """GO only when the gate says GO with the sign-off, confirmed by typing the short target SHA, on
        the release as the shared log has it now (another terminal may have acted meanwhile).

        All or nothing: the lock is taken, the flag snapshot read and the tag created (and pushed) first;
        when any of them fails, GO is refused with the reason (recorded as go.refused), the lock is
        given back, and nothing is flipped. decision.go is the last entry, written only when they all hold.
        """
        await self.refresh()
        refusal = self.go_refusal(confirmation)
        if refusal:
            raise ActionRefused(refusal)
        had_lock = await self._hold_lock()
        problems: list[str] = []
        if self.runbook.flags is not None and self.runbook.all_flags:
            problems += await self._snapshot()
        if not problems:
            first = self.runbook.stages[0].id if self.runbook.stages else self.target.short
            problems += await self._tag(first)
        if problems:
            await self.record(kinds.GO_REFUSED, {"reasons": problems})
            if not had_lock:
                try:
                    await self.release_lock()
                except (AppendRefused, LogUnavailable):
                    pass  # the lease lapses by itself
            raise ActionRefused("GO refused, nothing was flipped: " + "; ".join(problems))
        verdict = self.verdict(require_signoff=True)
        plan = plan_at_go(self.runbook, self.clock())
        await self.record(kinds.DECISION_GO, {
            "target_sha": self.target.sha,
            "confirmation": confirmation.strip(),
            "evidence": {k: v.status.value for k, v in self.state.evidence.items()},
            "warnings": verdict.warnings,
            **({"plan": plan} if plan else {}),
        })
        return Outcome(problems=[])

    async def _hold_lock(self: ReleaseSession) -> bool:
        """Take (or keep) the environment's lock; True when this release held it already."""
        try:
            return await self.take_lock() is None
        except AppendRefused as e:
            raise ActionRefused(f"{e}. Wait for the lease to end, or force it: "
                                f"cockpit log unlock --config … --env {self.environment} --reason …") from None
        except LogUnavailable as e:  # the lock lives in the shared log: no GO or stage start without it
            raise ActionRefused(f"the environment's lock is taken in the shared release log, which is away ({e}); "
                                "the kill switch and the rollback still work") from None

    async def _snapshot(self: ReleaseSession) -> list[str]:
        try:
            backend = self.flag_backend()
        except Exception as e:  # missing secret, bad config: the snapshot is missing, say so
            await self.record(kinds.FLAGS_SNAPSHOT, {"flags": {}, "error": str(e)})
            return [f"flag snapshot not taken: {e}"]
        try:
            snap = await snapshot(backend, self.runbook.all_flags)
        finally:
            await backend.aclose()
        await self.record(kinds.FLAGS_SNAPSHOT, snapshot_payload(snap))
        unread = [f for f, v in snap.items() if v is None]
        # Without a flag's state before GO the rollback could not restore it: no GO.
        return [f"flag snapshot could not read: {', '.join(unread)}"] if unread else []

    async def _tag(self: ReleaseSession, suffix: str) -> list[str]:
        """Seed 000's `pre-<...>-layer-X`: an annotated tag on the target, pushed when a remote is set."""
        prefix = self.runbook.release.tag_prefix
        if not prefix:
            return []
        return await self._tag_named(f"{prefix}{suffix}", suffix)

    async def _tag_named(self: ReleaseSession, name: str, suffix: str) -> list[str]:
        repo = self.runbook.repo_path
        message = f"{self.release_id}: {self.actor.name} before {suffix}"
        try:
            await asyncio.to_thread(gitrepo.create_tag, repo, name, self.target.sha, message)
        except gitrepo.GitRefError as e:
            await self.record(kinds.TAG_CREATED, {"tag": name, "sha": self.target.sha, "ok": False, "error": str(e)})
            return [f"tag {name} not created: {e}"]
        await self.record(kinds.TAG_CREATED, {"tag": name, "sha": self.target.sha, "ok": True})
        remote = self.runbook.release.remote
        if not remote:
            return []
        try:
            await asyncio.to_thread(gitrepo.push_tag, repo, remote, name)
        except (gitrepo.GitPushError, gitrepo.GitRefError) as e:
            await self.record(kinds.TAG_PUSHED, {"tag": name, "remote": remote, "ok": False, "error": str(e)})
            return [f"tag {name} was created but not pushed to {remote}: {e}"]
        await self.record(kinds.TAG_PUSHED, {"tag": name, "remote": remote, "ok": True})
        return []

    # -- stages ----------------------------------------------------------------------------
    def stage_refusal(self: ReleaseSession, stage_id: str) -> str | None:
        """Why the stage may not start now (its gate, the order of stages, the release's phase), or None."""
        if not self.state.is_go or not self.state.phase.holds_lock:
            return f"stages start after GO; this release is '{self.state.phase}'"
        status = self.state.stage(stage_id).status
        if status in (StageStatus.STARTED, StageStatus.STABLE):
            return f"stage '{stage_id}' is already {status}"
        # Checks that a step of the stage re-takes (after its tag, say) are judged there, not here.
        deferred = self.deferred_checks(stage_id)
        reasons = [i.text for i in self.stage_verdict(stage_id).items if i.blocking and i.check_id not in deferred]
        return "; ".join(reasons) or None

    def stage_verdict(self: ReleaseSession, stage_id: str) -> Verdict:
        return self.verdict(stage=stage_id)

    async def start_stage(self: ReleaseSession, stage_id: str) -> Outcome:
        """Flip the stage's flags on after its gate says GO; the stage's checks are then watched."""
        stage = self.runbook.stage(stage_id)
        await self.refresh()  # judged on the release as the shared log has it now
        refusal = self.stage_refusal(stage_id)
        if refusal:
            raise ActionRefused(refusal)
        if stage.steps:  # its procedure does the rest, step by step (core/procedure.py)
            await self._hold_lock()
            await self.record(kinds.STAGE_STARTED, {"stage": stage_id, "flags": stage.flags,
                                                    "steps": [sid for sid, _ in self.procedure(stage_id)]})
            if not stage.flags and not any(s.kind == "flags" for s in stage.steps):
                # nothing flips (a deploy, a soak): the windows open as it starts, the baselines before its steps
                await self.open_stage_windows(stage_id)
            return Outcome(problems=[])
        # The flag service first: a missing token refuses the stage before anything is recorded.
        backend = self.flag_backend() if stage.flags else None
        try:
            await self._hold_lock()
            problems = []
            if self.runbook.stages and stage_id != self.runbook.stages[0].id:
                problems += await self._tag(stage_id)
            await self.record(kinds.STAGE_STARTED, {"stage": stage_id, "flags": stage.flags})
            if not stage.flags:  # nothing flips: the stage's windows open as it starts
                await self.open_stage_windows(stage_id)
            flips = None
            if backend is not None:
                flips = await self.flip_flags({f: True for f in stage.flags}, reason=f"stage {stage_id}: {stage.title}",
                                              stage=stage_id, backend=backend)
        finally:
            if backend is not None:
                await backend.aclose()
        return Outcome(problems=problems, flips=flips)

    def stable_after(self: ReleaseSession, stage_id: str) -> timedelta | None:
        """How long until the stage's monitor window is over (None when it is, or there is none)."""
        stage = self.runbook.stage(stage_id)
        started = self.state.stage(stage_id).started_at
        if stage.monitor is None or started is None:
            return None
        left = started + stage.monitor - self.clock()
        return left if left > timedelta(0) else None

    def stable_refusal(self: ReleaseSession, stage_id: str, *, override: bool = False) -> str | None:
        """Why the stage may not be marked stable now, or None. `override` (with a reason, logged) skips
        the monitor and guardrail windows, nothing else."""
        st = self.state.stage(stage_id)
        if not self.state.phase.holds_lock:
            return f"stages are marked stable during the cutover; this release is '{self.state.phase}'"
        if st.status is not StageStatus.STARTED:
            return f"only a started stage can be marked stable; '{stage_id}' is {st.status}"
        pending = self.pending_steps(stage_id)
        if pending:
            return f"stage '{stage_id}' has steps not done: {', '.join(pending)}"
        left = self.stable_after(stage_id)
        if left is not None and not override:
            return f"stage '{stage_id}' is in its monitor window for {humanize(left)} more"
        watching = None if override else self.window_refusal(stage_id)
        if watching:
            return watching
        failing = self.verdict(stage=stage_id).failing_checks
        if failing:
            return "its checks do not pass: " + "; ".join(i.text for i in failing)
        return None

    async def mark_stable(self: ReleaseSession, stage_id: str, note: str, *, override: str = "") -> None:
        """Mark the stage stable. `override`: the reason to do so before its windows passed clean (logged
        with what they showed then)."""
        await self.refresh()
        refusal = self.stable_refusal(stage_id, override=bool(override.strip()))
        if refusal:
            raise ActionRefused(refusal + ("" if override else "; to mark it stable anyway, override with a reason"
                                           if self.window_refusal(stage_id) or self.stable_after(stage_id) else ""))
        payload: dict[str, Any] = {"stage": stage_id, "note": note}
        if override.strip():
            skipped = [w.to_row(self.clock()) for w in self.windows(stage_id) if w.is_open or w.breached_at]
            left = self.stable_after(stage_id)
            payload["override"] = {"reason": override.strip(), "windows": skipped,
                                   "monitor_left_s": int(left.total_seconds()) if left else 0}
        await self.record(kinds.STAGE_STABLE, payload)

    async def kill_stage(self: ReleaseSession, stage_id: str, reason: str) -> Outcome:
        """The stage's kill switch: all its flags off at once, the exact outcome per flag logged."""
        stage = self.runbook.stage(stage_id)
        result = await self.kill(stage.flags, reason=reason, stage=stage_id)
        await self.record(kinds.STAGE_KILLED, {"stage": stage_id, "flags": stage.flags, "reason": reason,
                                               "ok": result.ok, "outcome": result.to_json()["flips"]})
        return Outcome(problems=[r.summary() for r in result.failed], flips=result)

    def finish_refusal(self: ReleaseSession) -> str | None:
        """Why the release may not be closed now, or None."""
        if not self.state.phase.holds_lock:
            return f"only a release in its cutover is closed; this release is '{self.state.phase}'"
        pending = [s.id for s in self.runbook.stages if self.state.stage(s.id).status is not StageStatus.STABLE]
        if pending:
            return f"stages not yet stable: {', '.join(pending)}"
        if not self.state.is_go:
            return "the release was never GO"
        return None

    async def finish(self: ReleaseSession, note: str) -> None:
        await self.refresh()
        refusal = self.finish_refusal()
        if refusal:
            raise ActionRefused(refusal)
        await self.record(kinds.RELEASE_DONE, {"note": note})
        try:
            await self.release_lock()
        except (AppendRefused, LogUnavailable):
            pass  # not ours (any more), or the store is away: the lease lapses by itself
