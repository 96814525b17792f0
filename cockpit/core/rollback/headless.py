"""The rollback without prompts (`cockpit rollback --yes`; seed 003's auto-rollback on smoke failure).

Same plan, same runner, same log entries as the wizard. Nobody can be asked, so the first failed
step ends the rollback as failed (never silently continues); a later run starts a new attempt. A
manual step without its note is not a failure: the rollback stops there still open ("waiting"), and
the run that brings the note (--manual STEP=NOTE) resumes at that step — what was done is not redone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit.core.rollback.runner import WAITING, RollbackRunner, StepResult


@dataclass
class HeadlessOutcome:
    outcome: str
    """done | failed | waiting (a manual step waits for its person; the rollback stays open)"""
    elapsed_s: float
    steps: list[dict[str, Any]] = field(default_factory=list)
    """Every step in plan order: this run's result, or the finished step of the run being resumed."""
    note: str = ""

    @property
    def exit_code(self) -> int:
        return {"done": 0, "waiting": 3}.get(self.outcome, 1)

    @property
    def waiting(self) -> str | None:
        """The manual step the rollback waits at."""
        return next((s["step"] for s in self.steps if s.get("outcome") == WAITING), None)


async def run_headless(runner: RollbackRunner, *, note: str = "", out: Callable[[str], None] = print,
                       manual: dict[str, str] | None = None) -> HeadlessOutcome:
    """`manual` holds the notes confirming the runbook's manual rollback steps (--manual STEP=NOTE): at a
    manual step without one the rollback waits, open, saying how to go on (nobody is there to ask)."""
    manual = manual or {}
    plan = runner.plan
    for w in plan.warnings:
        out(f"warning: {w}")
    await runner.begin()
    if runner.lock_note:
        out(f"lock: {runner.lock_note}")
    if plan.resumed:
        done = ", ".join(f"{k} ({v.get('outcome')})" for k, v in runner.finished_steps.items()) or "none"
        out(f"resuming the rollback started at {plan.started_at:%Y-%m-%d %H:%M:%S} UTC; finished steps: {done}")
    failed: StepResult | None = None
    waiting: StepResult | None = None
    for step in runner.pending:
        out(f"==> {plan.title(step)}")
        for line in plan.describe(step):
            out(f"    {line}")
        if step == "deploy" and plan.interrupted_deploy:
            out("    (the previous redeploy was interrupted: running it again)")
        declared = plan.step(step)
        if declared is not None and declared.kind == "manual" and step not in manual:
            waiting = await runner.wait(step, f"a person must do this and confirm it: run again with --manual {step}=NOTE")
            out(f"<== {step}: WAITING for a person — {waiting.detail}")
            break
        result = await runner.run_step(step, note=manual.get(step, ""), on_line=lambda line: out(f"    | {line}"),
                                       on_flag=lambda o: out(f"    {o.text()}"),
                                       on_evidence=lambda e: out(f"    {'✔' if e.status.value == 'pass' else '✘'} "
                                                                 f"{e.check_id}: {e.status.value} — {e.detail}"))
        out(f"<== {step}: {result.outcome.upper()} — {result.detail} (at {result.elapsed_s:.1f}s)")
        if not result.ok:
            failed = result
            break
    if waiting is not None:
        await runner.pause()
        outcome, final_note, elapsed = WAITING, "", runner.last_step_elapsed_s()
        ending = (f"rollback WAITING at {waiting.step} after {elapsed:.1f}s: it stays open; confirm the step with "
                  f"--manual {waiting.step}=NOTE to go on from there")
    else:
        outcome = "failed" if failed else "done"
        final_note = note or (f"headless: step {failed.step} failed ({failed.detail}); no one to ask, rollback ended"
                              if failed else "")
        entry = await runner.finish(outcome, final_note)
        elapsed = float(entry.payload.get("elapsed_s", 0.0))
        ending = f"rollback {outcome.upper()} in {elapsed:.1f}s"
    steps = []
    for s in plan.steps:
        if s in runner.results:
            steps.append(runner.results[s].to_json())
        elif s in plan.finished_steps:
            steps.append({**plan.finished_steps[s], "resumed": True})
        else:
            steps.append({"step": s, "outcome": "not run", "detail": "not reached"})
    out(ending)
    return HeadlessOutcome(outcome=outcome, elapsed_s=elapsed, steps=steps, note=final_note)
