"""Carry out a RollbackPlan step by step; every step, whatever its outcome, is a `rollback.step` entry.

The runner never decides to continue after a failure: the caller (the wizard, or the headless
driver) asks the person — retry, skip with a reason, or abort — and calls the matching method.
Elapsed time runs from the first `rollback.started` to the end of the last step; each step
records it, so a resumed rollback reports the time of the whole incident, not of the last run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cockpit.core import kinds
from cockpit.core.evidence import Evidence, Status
from cockpit.core.flags.base import FlagError, on_off
from cockpit.core.log.entry import Entry
from cockpit.core.rollback.plan import FINISHED, RollbackPlan
from cockpit.core.log.open import spool_dir
from cockpit.core.rollback import locking
from cockpit.core.runs import RunResult, Runs
from cockpit.core.secrets import MissingSecret, redact
from cockpit.core.step_exec import execute

if TYPE_CHECKING:
    from cockpit.core.flags.base import FlagBackend
    from cockpit.core.flags.flip import FlipResult
    from cockpit.core.session import ReleaseSession

OUTCOMES = ("done", "failed", "aborted")
WAITING = "waiting"
"""A rollback.step outcome: a manual step waits for its person's note; the rollback stays open."""


@dataclass(frozen=True)
class FlagOutcome:
    """One flag's exact outcome in the flags step."""

    flag: str
    to: bool
    before: bool | None
    after: bool | None
    ok: bool
    changed: bool
    error: str | None = None
    note: str | None = None

    def text(self) -> str:
        if not self.ok:
            return f"✘ {self.flag}: FAILED to turn {on_off(self.to)}; it is {on_off(self.after)} now — {self.error}"
        if not self.changed:
            return f"✔ {self.flag}: already {on_off(self.to)} (as at GO), left alone"
        return f"✔ {self.flag}: {on_off(self.before)} → {on_off(self.after)}" + (f" — {self.note}" if self.note else "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_flip(cls, r: FlipResult) -> FlagOutcome:
        return cls(flag=r.flag, to=r.requested, before=r.before, after=r.after, ok=r.ok,
                   changed=r.before != r.after, error=r.error, note=r.note)


@dataclass
class StepResult:
    step: str
    outcome: str
    """done | failed | skipped | waiting"""
    detail: str
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    elapsed_s: float = 0.0
    """Since the rollback started, at the end of this step."""
    attempt: int = 1

    @property
    def ok(self) -> bool:
        return self.outcome in FINISHED

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "outcome": self.outcome, "detail": self.detail, "attempt": self.attempt,
                "duration_s": round(self.duration_s, 3), "elapsed_s": round(self.elapsed_s, 3), **self.data}


class RollbackRunner:
    def __init__(self, session: ReleaseSession, plan: RollbackPlan, *,
                 backend_factory: Callable[[], FlagBackend] | None = None, flag_backoff: float = 0.5,
                 lock_force: bool = False, runs: Runs | None = None, reason: str = "") -> None:
        self.session = session
        self.reason = reason.strip()
        """Why the rollback is made, when the cockpit knows it (a guardrail's breach): in rollback.started."""
        self.runs = runs or Runs(spool_dir(session.runbook) / "runs")
        """Where the redeploy runs, so that it runs at most once at a time, across cockpits (core/runs.py)."""
        self.plan = plan
        self._backend_factory = backend_factory
        self.flag_backoff = flag_backoff
        self.lock_force = lock_force
        self.results: dict[str, StepResult] = {}
        """The latest result of each step run (or skipped) by this runner."""
        self.lock_note = ""
        self._lock: Any = None

    # -- state read from the fold ---------------------------------------------------------------
    @property
    def started_at(self) -> datetime | None:
        rb = self.session.state.rollback
        return rb.started_at if rb is not None and rb.outcome is None else None

    @property
    def finished_steps(self) -> dict[str, dict[str, Any]]:
        rb = self.session.state.rollback
        if rb is None or rb.outcome is not None:
            return {}
        return {k: v for k, v in rb.steps.items() if v.get("outcome") in FINISHED}

    @property
    def pending(self) -> list[str]:
        done = self.finished_steps
        return [s for s in self.plan.steps if s not in done]

    @property
    def finished(self) -> bool:
        rb = self.session.state.rollback
        return rb is not None and rb.outcome is not None and self.started_at is None

    def elapsed_s(self, now: datetime | None = None) -> float:
        start = self.started_at
        if start is None:
            return 0.0
        return max(0.0, ((now or self.session.clock()) - start).total_seconds())

    def last_step_elapsed_s(self) -> float:
        """Elapsed time at the end of the last step (what `rollback.finished` records)."""
        rb = self.session.state.rollback
        vals = [float(p.get("elapsed_s", 0.0)) for p in (rb.steps.values() if rb else [])]
        return max(vals, default=self.elapsed_s())

    def _attempt(self, step: str) -> int:
        rb = self.session.state.rollback
        prev = rb.steps.get(step) if rb is not None and rb.outcome is None else None
        if prev and prev.get("outcome") == WAITING:  # waiting for its person was not an attempt
            return int(prev.get("attempt", 1))
        return int(prev.get("attempt", 0)) + 1 if prev else 1

    # -- begin / finish -----------------------------------------------------------------------------
    async def begin(self) -> Entry:
        """Record `rollback.started` (a resumed rollback records it again: the fold keeps the first start)."""
        await self._take_lock()
        p = self.plan
        return await self.session.record(kinds.ROLLBACK_STARTED, {
            "rollback_ref": p.rollback_ref, "rollback_sha": p.rollback_sha, "deploy_ref": p.deploy_ref,
            "scope": p.scope, "resumed": self.started_at is not None,
            "plan": {"steps": list(p.steps), "pending": self.pending,
                     "flags": {f.flag: f.to for f in p.flags}, "deploy": p.deploy_command,
                     "verify": list(p.verify), "problems": dict(p.problems), "warnings": list(p.warnings)},
            **({"lock": self.lock_note} if self.lock_note else {}),
            **({"reason": self.reason} if self.reason else {}),
        })

    async def pause(self) -> None:
        """Stop here without closing the rollback (a step waits for a person): the lock is given back and
        the next run, in the wizard or headless, resumes from the waiting step; nothing done is redone."""
        await self._release_lock()

    async def finish(self, outcome: str, note: str = "") -> Entry:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
        rb = self.session.state.rollback
        payload = {"outcome": outcome, "elapsed_s": round(self.last_step_elapsed_s(), 3), "note": note.strip(),
                   "scope": self.plan.scope,
                   "steps": {k: v.get("outcome") for k, v in (rb.steps.items() if rb else [])}}
        try:
            return await self.session.record(kinds.ROLLBACK_FINISHED, payload)
        finally:
            await self._release_lock()

    # -- steps ------------------------------------------------------------------------------------
    async def skip(self, step: str, reason: str) -> StepResult:
        reason = reason.strip()
        if not reason:
            raise ValueError("skipping a step needs a reason (it goes in the log)")
        result = StepResult(step=step, outcome="skipped", detail=f"skipped: {reason}", data={"reason": reason},
                            attempt=self._attempt(step))
        return await self._record(result)

    async def wait(self, step: str, detail: str) -> StepResult:
        """Record that a manual step waits for its person (nobody to confirm it here): not a failure, and
        the rollback stays open (pause) so that the step's confirmation resumes it."""
        return await self._record(StepResult(step, WAITING, detail, attempt=self._attempt(step)))

    async def run_step(self, step: str, *, on_line: Callable[[str], None] | None = None,
                       on_flag: Callable[[FlagOutcome], None] | None = None,
                       on_evidence: Callable[[Evidence], None] | None = None, note: str = "") -> StepResult:
        """Run one step and record its outcome; never raises for the step's own failures (a manual step
        without its note is refused: ActionRefused)."""
        if step not in self.plan.steps:
            raise ValueError(f"step {step!r} is not in this plan ({', '.join(self.plan.steps)})")
        attempt = self._attempt(step)
        t0 = time.monotonic()
        if step in self.plan.problems:
            result = StepResult(step, "failed", self.plan.problems[step], attempt=attempt)
        elif step == "flags":
            result = await self._flags(on_flag)
        elif step == "deploy":
            result = await self._deploy(on_line)
        elif step == "verify":
            result = await self._verify(on_evidence)
        else:
            result = await self._declared(step, on_line, note)
        result.attempt = attempt
        result.duration_s = time.monotonic() - t0
        return await self._record(result)

    async def _record(self, result: StepResult) -> StepResult:
        result.elapsed_s = self.elapsed_s()
        await self.session.record(kinds.ROLLBACK_STEP, result.to_json())
        self.results[result.step] = result
        return result

    # flags ------------------------------------------------------------------------------------
    def _backend(self) -> FlagBackend:
        return self._backend_factory() if self._backend_factory is not None else self.session.flag_backend()

    async def _flags(self, on_flag: Callable[[FlagOutcome], None] | None) -> StepResult:
        plan, s = self.plan, self.session
        if not plan.flags:
            return StepResult("flags", "done", "no flag to restore")
        try:
            backend = self._backend()
        except (FlagError, MissingSecret) as e:
            return StepResult("flags", "failed", f"cannot reach the flag service: {redact(str(e))}")
        reason = f"rollback of {plan.release_id}" + (f" (stage {plan.stage})" if plan.stage else "")
        wanted = {f.flag: f.to for f in plan.flags}
        try:
            # Read them all, leave alone those already as at GO, flip the rest at once.
            res = await s.flip_flags(wanted, reason=reason, stage=plan.stage, restore=True, backend=backend,
                                     backoff=self.flag_backoff)
        finally:
            await backend.aclose()
        by_flag = {r.flag: FlagOutcome.from_flip(r) for r in res.results}
        outcomes = [by_flag.get(f, FlagOutcome(f, to, to, to, ok=True, changed=False)) for f, to in wanted.items()]
        if on_flag is not None:
            for o in outcomes:
                on_flag(o)
        failed = [o for o in outcomes if not o.ok]
        changed = sum(o.changed for o in outcomes if o.ok)
        detail = (f"{len(failed)} of {len(outcomes)} flags FAILED: {', '.join(o.flag for o in failed)}" if failed
                  else f"{len(outcomes)} flags as at GO ({changed} flipped back)")
        return StepResult("flags", "failed" if failed else "done", detail, lines=[o.text() for o in outcomes],
                          data={"flags": [o.to_json() for o in outcomes]})

    # deploy -----------------------------------------------------------------------------------
    async def _deploy(self, on_line: Callable[[str], None] | None) -> StepResult:
        plan, s = self.plan, self.session
        assert plan.deploy_command is not None
        base = {"ref": plan.deploy_ref, "sha": plan.rollback_sha, "command": plan.deploy_command, "rollback": True}
        key = f"{plan.release_id}:rollback:deploy"
        left = self.runs.find(key)
        if left is not None and (self.runs.running(left) or (s.state.deploying and self.runs.exit_code(left) == 0)):
            # The redeploy of a cockpit that stopped is still running, or succeeded unseen: never start a
            # second one; follow it (its output, its end, its exit code). One that failed unseen is run again.
            if on_line is not None:
                on_line(f"(the redeploy started at {time.strftime('%H:%M:%S', time.localtime(left.started_at))} "
                        f"by a cockpit that stopped, pid {left.pid}, is followed, not started again)")
            if not s.state.deploying:
                await s.record(kinds.DEPLOY_STARTED, {**base, "cwd": left.cwd, "timeout_s": left.timeout_s})
            res = await self.runs.follow(left, on_line=on_line)
        else:
            await s.record(kinds.DEPLOY_STARTED, {**base, "cwd": str(plan.deploy_cwd),
                                                  "timeout_s": plan.deploy_timeout_s})
            if not plan.deploy_cwd.is_dir():
                res = RunResult(plan.deploy_command, None, 0.0,
                                error=f"working directory {plan.deploy_cwd} does not exist")
            else:
                res = await self.runs.start(key, plan.deploy_command, cwd=plan.deploy_cwd,
                                            timeout_s=plan.deploy_timeout_s, on_line=on_line)
        tail = res.tail[-10:]
        await s.record(kinds.DEPLOY_FINISHED, {**base, "exit_code": res.exit_code, "ok": res.ok,
                                               "timed_out": res.timed_out, "elapsed_s": round(res.elapsed_s, 3),
                                               "error": res.error, "tail": tail})
        detail = f"redeploy of {plan.deploy_ref}: {res.summary()}"
        return StepResult("deploy", "done" if res.ok else "failed", detail, lines=list(res.tail),
                          data={"ref": plan.deploy_ref, "exit_code": res.exit_code, "timed_out": res.timed_out,
                                "deploy_s": round(res.elapsed_s, 3), "tail": tail})

    # the runbook's own steps ---------------------------------------------------------------------
    async def _declared(self, sid: str, on_line: Callable[[str], None] | None, note: str) -> StepResult:
        plan, s = self.plan, self.session
        step = plan.step(sid)
        assert step is not None
        key = f"{plan.release_id}:rollback:{sid}"
        left = self.runs.find(key) if step.kind == "command" else None
        last = (s.state.rollback.steps.get(sid) if s.state.rollback else None) or {}
        begun = self.started_at.timestamp() if self.started_at else None
        # A run of this attempt whose end no rollback.step recorded was left by a cockpit that stopped:
        # follow it. A run of an earlier attempt is over: this attempt runs the step again.
        resumed = (left is not None and begun is not None and left.started_at >= begun
                   and last.get("run_started_at") != left.started_at)
        done = await execute(s, step, key=key, values=plan.values, place=plan.place, note=note, on_line=on_line,
                             runs=self.runs, resumed=resumed)
        data = dict(done.data)
        if step.kind == "command" and (run := self.runs.find(key)) is not None:
            data["run_started_at"] = run.started_at
        return StepResult(sid, done.outcome, done.detail, lines=done.lines, data=data)

    # verify -----------------------------------------------------------------------------------
    async def _verify(self, on_evidence: Callable[[Evidence], None] | None) -> StepResult:
        ids = list(self.plan.verify)
        if not ids:
            return StepResult("verify", "done", "no [rollback] verify checks configured")
        evidence = await self.session.take_evidence(ids, on_result=on_evidence)
        bad = [e for e in evidence if e.status is not Status.PASS]
        lines = [f"{'✔' if e.status is Status.PASS else '✘'} {e.check_id}: {e.status.value} — {e.detail}"
                 for e in evidence]
        detail = (f"{len(bad)} of {len(evidence)} checks not passing: {', '.join(e.check_id for e in bad)}" if bad
                  else f"all {len(evidence)} checks pass")
        return StepResult("verify", "failed" if bad else "done", detail, lines=lines,
                          data={"evidence": {e.check_id: e.status.value for e in evidence}})

    # lock -------------------------------------------------------------------------------------
    async def _take_lock(self) -> None:
        """Hold the environment's lock during the rollback (see lock.py); an incident overrides the owner's lock."""
        self._lock, self.lock_note = await locking.take(self.session, force=self.lock_force)

    async def _release_lock(self) -> None:
        if self._lock is not None:
            await locking.release(self.session, self._lock)
            self._lock = None
