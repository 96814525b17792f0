"""The incident commander's rollback: a plan read from the release log, and a runner that carries it out.

    plan = plan_for(session, stage=None)                 # plan.py: what will be done, and why
    runner = RollbackRunner(session, plan)                # runner.py: each step, logged
    await runner.begin(); await runner.run_step("flags"); ...; await runner.finish("done", note)

The steps are `flags` (restore the flag snapshot taken at GO, concurrently), `deploy` (run
[rollback] deploy with {ref} = the recorded rollback ref, output streamed), `verify` (re-take
[rollback] verify); `finish` closes with an outcome. Each is a `rollback.step` entry, so a
cockpit that died mid-way resumes from the log (steps done or skipped are not redone).
headless.py drives the same runner without prompts (`cockpit rollback --yes`).
"""

from cockpit.core.rollback.plan import STEP_TITLES, FlagRestore, PlanRefused, RollbackPlan, build_plan, plan_for
from cockpit.core.rollback.runner import FlagOutcome, RollbackRunner, StepResult

__all__ = [
    "STEP_TITLES", "FlagOutcome", "FlagRestore", "PlanRefused", "RollbackPlan", "RollbackRunner",
    "StepResult", "build_plan", "plan_for",
]
