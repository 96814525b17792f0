"""A stage's procedure, run step by step by the release (mixed into ReleaseSession).

A stage with `steps` in its runbook is started (its gate, the lock, `stage.started`) and then its
steps run one at a time, in order: each is refused unless it is the next one, is re-read against
the shared log first, and is logged when it starts (`step.started`, saying what it will do) and
when it ends (`step.finished`: done, failed or skipped, with what it produced). A failed step may
be run again, skipped with a reason, or the stage aborted. Command steps run through core/runs.py,
so a step with side effects runs at most once at a time and a resumed cockpit follows the run a
crashed one left instead of starting it again. A stage without steps keeps the older shape: its tag,
then its flags on (cutover.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.core import kinds
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import StageStatus
from cockpit.core.runs import Runs
from cockpit.core.step_exec import Place, describe, execute
from cockpit.runbook.step_ids import step_id

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.steps import Step

@dataclass
class StepOutcome:
    stage: str
    step: str
    outcome: str
    """done | failed | skipped"""
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


class StageProcedure:
    """The steps of a stage; `self` is the ReleaseSession."""

    def procedure(self: ReleaseSession, stage_id: str) -> list[tuple[str, Step]]:
        """The stage's steps with their ids, in order (empty: the stage has no procedure)."""
        return [(step_id(s, i), s) for i, s in enumerate(self.runbook.stage(stage_id).steps, 1)]

    def deferred_checks(self: ReleaseSession, stage_id: str) -> set[str]:
        """The stage's checks that a checks step judges (seed 000: the smoke after the tag), not its start."""
        return {c for _, s in self.procedure(stage_id) for c in getattr(s, "checks", None) or []}

    def pending_steps(self: ReleaseSession, stage_id: str) -> list[str]:
        finished = self.state.stage(stage_id).steps
        return [sid for sid, _ in self.procedure(stage_id) if finished.get(sid) not in ("done", "skipped")]

    def next_step(self: ReleaseSession, stage_id: str) -> tuple[str, Step] | None:
        finished = self.state.stage(stage_id).steps
        return next(((sid, s) for sid, s in self.procedure(stage_id) if finished.get(sid) not in ("done", "skipped")),
                    None)

    def step_refusal(self: ReleaseSession, stage_id: str, sid: str) -> str | None:
        """Why this step may not run now, or None (it must be the stage's next step, the stage started)."""
        if not self.state.phase.holds_lock:
            return f"steps run during the cutover; this release is '{self.state.phase}'"
        st = self.state.stage(stage_id)
        if st.status is not StageStatus.STARTED:
            return f"stage '{stage_id}' is {st.status}; its steps run once it is started"
        ids = [i for i, _ in self.procedure(stage_id)]
        if sid not in ids:
            return f"stage '{stage_id}' has no step '{sid}'; its steps: {', '.join(ids) or 'none'}"
        nxt = self.next_step(stage_id)
        if nxt is None:
            return f"every step of stage '{stage_id}' is done"
        if nxt[0] != sid:
            return f"step '{sid}' comes later; the next step of '{stage_id}' is '{nxt[0]}'"
        return None

    def step_values(self: ReleaseSession, stage_id: str) -> dict[str, str | None]:
        values = self.context(stage=stage_id).placeholders()
        values.update({"ref": self.target.ref, "sha": self.target.sha, "short_sha": self.target.short})
        return values

    def describe_step(self: ReleaseSession, stage_id: str, sid: str) -> str:
        """What the step will do, in words, before it runs (shown in the confirmation and logged)."""
        step = dict(self.procedure(stage_id))[sid]
        return describe(step, self.step_values(stage_id), self._place(stage_id))

    def _place(self: ReleaseSession, stage_id: str) -> Place:
        return Place(repo=Path(self.runbook.repo_path), stage=stage_id,
                     stage_flags=tuple(self.runbook.stage(stage_id).flags),
                     tag=lambda step: self._tag_name(stage_id, step), remote=self.runbook.release.remote)

    def _tag_name(self: ReleaseSession, stage_id: str, step: Any) -> str:
        return step.name or f"{self.runbook.release.tag_prefix or 'pre-'}{stage_id}"

    # -- acting ------------------------------------------------------------------------------
    async def run_step(self: ReleaseSession, stage_id: str, sid: str, *, note: str = "",
                       on_line: Callable[[str], None] | None = None, runs: Runs | None = None) -> StepOutcome:
        """Run the stage's next step (re-read against the shared log first) and log its outcome."""
        await self.refresh()
        refusal = self.step_refusal(stage_id, sid)
        if refusal:
            raise ActionRefused(refusal)
        step = dict(self.procedure(stage_id))[sid]
        if step.kind == "manual" and not note.strip():
            raise ActionRefused("a manual step is confirmed with a note: what was done, where the proof is")
        base = {"stage": stage_id, "step": sid, "kind": step.kind}
        resumed = self.state.stage(stage_id).steps.get(sid) == "started"
        if not resumed or step.kind != "command":
            await self.record(kinds.STEP_STARTED, {**base, "title": step.title, "does": self.describe_step(stage_id, sid)})
        done = await execute(self, step, key=f"{self.release_id}:{stage_id}:{sid}", values=self.step_values(stage_id),
                             place=self._place(stage_id), note=note, on_line=on_line, runs=runs, resumed=resumed,
                             started_at=self.state.stage(stage_id).step_started.get(sid))
        outcome = StepOutcome(stage_id, sid, done.outcome, done.detail, done.data)
        await self.record(kinds.STEP_FINISHED, {**base, "outcome": outcome.outcome, "detail": outcome.detail,
                                                **outcome.data})
        return outcome

    async def skip_step(self: ReleaseSession, stage_id: str, sid: str, reason: str) -> StepOutcome:
        """Skip the next step, with a reason (it is logged); a step cannot be skipped silently."""
        if not reason.strip():
            raise ActionRefused("skipping a step needs a reason (it is written to the release log)")
        await self.refresh()
        refusal = self.step_refusal(stage_id, sid)
        if refusal:
            raise ActionRefused(refusal)
        step = dict(self.procedure(stage_id))[sid]
        out = StepOutcome(stage_id, sid, "skipped", reason.strip())
        await self.record(kinds.STEP_FINISHED, {"stage": stage_id, "step": sid, "kind": step.kind,
                                                "outcome": "skipped", "detail": out.detail, "reason": out.detail})
        return out

    async def abort_stage(self: ReleaseSession, stage_id: str, reason: str) -> list[str]:
        """Stop the stage's procedure: the flags this stage switched on go off again (all at once), then
        stage.aborted. Returns the problems to show (a flag that would not turn off)."""
        if not reason.strip():
            raise ActionRefused("aborting a stage needs a reason (it is written to the release log)")
        await self.refresh()
        if self.state.stage(stage_id).status is not StageStatus.STARTED:
            raise ActionRefused(f"only a started stage can be aborted; '{stage_id}' is {self.state.stage(stage_id).status}")
        flipped_on = sorted({f.flag for f in self.state.flips if f.stage == stage_id and f.after})
        problems: list[str] = []
        if flipped_on:
            result = await self.kill(flipped_on, reason=f"stage {stage_id} aborted: {reason.strip()}", stage=stage_id)
            problems = [r.summary() for r in result.failed]
        await self.record(kinds.STAGE_ABORTED, {"stage": stage_id, "reason": reason.strip(), "flags_off": flipped_on,
                                                "ok": not problems})
        return problems
