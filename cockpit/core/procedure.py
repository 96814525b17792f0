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

import asyncio
import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.core import kinds
from cockpit.core.evidence import Status
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import StageStatus
from cockpit.core.runs import RunResult, Runs
from cockpit.runbook.durations import humanize
from cockpit.runbook.placeholders import PlaceholderError, expand

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.steps import Step

EXCERPT_LINES = 10
"""Lines of a command's output kept in its log entry (all of it stays in its output file)."""


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


def step_id(step: Step, position: int) -> str:
    return step.id or f"{step.kind}-{position}"


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
        pending = self.pending_steps(stage_id)
        return next(((sid, s) for sid, s in self.procedure(stage_id) if pending and sid == pending[0]), None)

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
        if step.kind == "command":
            argv, cwd = self._argv(stage_id, step)
            return (f"run {shlex.join(argv)} in {cwd} (timeout {humanize(step.timeout)}, success = exit "
                    f"{step.expect_exit})")
        if step.kind == "tag":
            return f"tag {self._tag_name(stage_id, step)} on {self.target.short}" + (
                f" and push it to {self.runbook.release.remote}" if self.runbook.release.remote else "")
        if step.kind == "flags":
            flags = step.flags if step.flags is not None else self.runbook.stage(stage_id).flags
            return f"switch {', '.join(flags) or 'no flags'} {'on' if step.on else 'off'}"
        if step.kind == "checks":
            return f"re-take {', '.join(step.checks)}; each must pass to go on"
        if step.kind == "manual":
            return f"{step.who + ': ' if step.who else ''}{step.instruction} (confirmed with a note)"
        return f"wait {humanize(step.duration)} before the next step"

    def _argv(self: ReleaseSession, stage_id: str, step: Any) -> tuple[list[str], Path]:
        values = self.step_values(stage_id)
        try:
            argv = [expand(a, values) for a in step.run]
        except PlaceholderError as e:
            raise ActionRefused(f"step cannot run: {e}") from None
        cwd = Path(self.runbook.repo_path) / (step.cwd or ".")
        return argv, cwd

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
        run = getattr(self, f"_run_{step.kind}")
        outcome: StepOutcome = await run(stage_id, sid, step, note=note, on_line=on_line, runs=runs, resumed=resumed)
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

    # -- one method per kind ------------------------------------------------------------------
    async def _run_command(self: ReleaseSession, stage_id: str, sid: str, step: Any, *, runs: Runs | None,
                           on_line: Callable[[str], None] | None, resumed: bool, **_: Any) -> StepOutcome:
        from cockpit.core.log.open import spool_dir  # startup: only a command step needs the runs folder

        runs = runs or Runs(spool_dir(self.runbook) / "runs")
        argv, cwd = self._argv(stage_id, step)
        key = f"{self.release_id}:{stage_id}:{sid}"
        left = runs.find(key)
        if left is not None and (runs.running(left) or (resumed and runs.exit_code(left) is not None)):
            # A run left by a cockpit that stopped (started, never finished in the log): follow it to its
            # end or read its exit code; never start it twice at once.
            if on_line is not None:
                on_line(f"(following the run started by a cockpit that stopped, pid {left.pid})")
            res = await runs.follow(left, on_line=on_line)
        elif not cwd.is_dir():
            res = RunResult(shlex.join(argv), None, 0.0, error=f"working directory {cwd} does not exist")
        else:
            res = await runs.start(key, shlex.join(argv), cwd=cwd, timeout_s=step.timeout.total_seconds(),
                                   on_line=on_line)
        out_file = runs.output_path(key)
        data: dict[str, Any] = {"argv": argv, "cwd": str(cwd), "exit_code": res.exit_code,
                                "elapsed_s": round(res.elapsed_s, 3), "timed_out": res.timed_out,
                                "excerpt": res.tail[-EXCERPT_LINES:], "output_file": str(out_file),
                                "output_sha256": await asyncio.to_thread(_sha256, out_file)}
        ok = res.exit_code == step.expect_exit and not res.timed_out
        if step.produces:
            produced = cwd / step.produces
            data["produces"] = {"path": str(produced), "sha256": await asyncio.to_thread(_sha256, produced)}
            if ok and data["produces"]["sha256"] is None:
                ok = False
                res.error = f"it did not write {step.produces}"
        detail = (f"exit {res.exit_code} in {res.elapsed_s:.1f}s" if ok
                  else res.error or f"exit {res.exit_code}, expected {step.expect_exit}")
        if res.error and not ok and res.exit_code is not None:
            detail = f"exit {res.exit_code}: {res.error}"
        return StepOutcome(stage_id, sid, "done" if ok else "failed", detail, data)

    async def _run_tag(self: ReleaseSession, stage_id: str, sid: str, step: Any, **_: Any) -> StepOutcome:
        name = self._tag_name(stage_id, step)
        problems = await self._tag_named(name, stage_id)
        if problems:
            return StepOutcome(stage_id, sid, "failed", "; ".join(problems), {"tag": name})
        return StepOutcome(stage_id, sid, "done", f"{name} on {self.target.short}", {"tag": name,
                                                                                  "sha": self.target.sha})

    async def _run_flags(self: ReleaseSession, stage_id: str, sid: str, step: Any, **_: Any) -> StepOutcome:
        flags = step.flags if step.flags is not None else self.runbook.stage(stage_id).flags
        if not flags:
            return StepOutcome(stage_id, sid, "done", "no flags to switch")
        result = await self.flip_flags({f: step.on for f in flags}, reason=f"stage {stage_id}: step {sid}",
                                       stage=stage_id)
        failed = [r.summary() for r in result.failed]
        return StepOutcome(stage_id, sid, "failed" if failed else "done",
                           "; ".join(failed) or f"{', '.join(flags)} {'on' if step.on else 'off'}",
                           {"flags": {f: step.on for f in flags}})

    async def _run_checks(self: ReleaseSession, stage_id: str, sid: str, step: Any, **_: Any) -> StepOutcome:
        evidence = await self.take_evidence(list(step.checks))
        bad = [f"{e.check_id}: {e.status.value} — {e.detail}" for e in evidence if e.status is not Status.PASS]
        statuses = {e.check_id: e.status.value for e in evidence}
        return StepOutcome(stage_id, sid, "failed" if bad else "done", "; ".join(bad) or "all pass",
                           {"checks": statuses})

    async def _run_manual(self: ReleaseSession, stage_id: str, sid: str, step: Any, *, note: str,
                          **_: Any) -> StepOutcome:
        return StepOutcome(stage_id, sid, "done", f"confirmed by {self.actor.name}: {note.strip()}",
                           {"note": note.strip(), "who": step.who or ""})

    async def _run_wait(self: ReleaseSession, stage_id: str, sid: str, step: Any,
                        on_line: Callable[[str], None] | None = None, **_: Any) -> StepOutcome:
        started = self.state.stage(stage_id).step_started.get(sid) or self.clock()
        end = started + step.duration
        while (left := end - self.clock()).total_seconds() > 0:
            if on_line is not None:
                on_line(f"waiting: {humanize(left)} left")
            await asyncio.sleep(min(left.total_seconds(), 1.0))
        return StepOutcome(stage_id, sid, "done", f"waited {humanize(step.duration)}")


def _sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None
