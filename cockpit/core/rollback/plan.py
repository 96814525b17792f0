"""The rollback plan: everything the incident commander needs, read from the release log.

Built from the release's folded state (never from memory), so a second cockpit or a resumed one
makes the same plan. Which flags go back to what:

- scope "all": every flag in the GO snapshot plus every flag flipped in this release
  (a flag flipped outside the cockpit after GO is caught by comparing with the snapshot);
- scope "stage:<id>" (seed 001's partial rollback): that stage's flags only, and no redeploy.

Each flag goes back to its state in the snapshot taken at GO; if the snapshot could not read it,
to its state before its first flip in this release; if neither is known, OFF (the kill switch:
seed 000's "rollback = flag OFF").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.core.target import Target
from cockpit.core.flags.base import on_off
from cockpit.core.step_exec import Place, describe
from cockpit.runbook.step_ids import step_id
from cockpit.runbook.placeholders import PlaceholderError, expand
from cockpit.core.release import Phase, ReleaseState

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.config import Runbook
    from cockpit.runbook.steps import Step

STEP_TITLES: dict[str, str] = {
    "flags": "Kill switches: restore flags to their state at GO",
    "deploy": "Redeploy the rollback ref",
    "verify": "Verify: re-take health and smoke evidence",
}
FULL_STEPS = ("flags", "deploy", "verify")
STAGE_STEPS = ("flags", "verify")
FINISHED = ("done", "skipped")
"""rollback.step outcomes that a resumed rollback does not redo."""


class PlanRefused(Exception):
    """There is no rollback to plan (no release, or a conflicting one in progress); the message says why."""


@dataclass(frozen=True)
class FlagRestore:
    flag: str
    to: bool
    source: str
    """Where `to` comes from: "snapshot at GO", "before its first flip", or "kill switch (state at GO unknown)"."""
    flipped: bool
    """Flipped in this release (by the cockpit)."""
    stage: str | None = None

    def text(self) -> str:
        return f"{self.flag} → {on_off(self.to)} ({self.source}{', flipped in this release' if self.flipped else ''})"


@dataclass(frozen=True)
class RollbackPlan:
    release_id: str
    environment: str
    phase: Phase
    target: Target | None
    scope: str
    """"all" or "stage:<id>"."""
    steps: tuple[str, ...]
    rollback_ref: str
    rollback_sha: str
    rollback_owner: str
    release_owner: str
    deploy_ref: str
    """What {ref} becomes: the recorded rollback ref (or its SHA at sign-off, when the ref moved since)."""
    deploy_command: str | None
    deploy_cwd: Path
    deploy_cwd_label: str
    """The cwd as the runbook says it (shown to people; the absolute path is in the log)."""
    deploy_timeout_s: float
    flags: tuple[FlagRestore, ...]
    snapshot: Mapping[str, bool | None] | None
    verify: tuple[str, ...]
    problems: Mapping[str, str] = field(default_factory=dict)
    """step -> why it cannot run as planned (e.g. no rollback ref recorded): it can be skipped or the rollback aborted."""
    warnings: tuple[str, ...] = ()
    finished_steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Steps already done or skipped in the rollback being resumed (their rollback.step payloads)."""
    resumed: bool = False
    started_at: datetime | None = None
    interrupted_deploy: bool = False
    """A deploy.started without its deploy.finished: the cockpit died while deploying."""
    declared: tuple[tuple[str, Step], ...] = ()
    """The runbook's own rollback steps (whole release, or the stage's), run between flags and verify."""
    values: Mapping[str, str | None] = field(default_factory=dict)
    """What the declared steps' placeholders become: {ref} the rollback ref, {sha} its SHA."""
    repo: Path = Path(".")

    def step(self, sid: str) -> Step | None:
        return dict(self.declared).get(sid)

    def title(self, sid: str) -> str:
        step = self.step(sid)
        if step is None:
            return STEP_TITLES.get(sid, sid)
        return step.title or describe(step, self.values, self.place)

    @property
    def place(self) -> Place:
        return Place(repo=self.repo, stage=self.stage)

    @property
    def stage(self) -> str | None:
        return self.scope.split(":", 1)[1] if self.scope.startswith("stage:") else None

    @property
    def pending(self) -> list[str]:
        return [s for s in self.steps if s not in self.finished_steps]

    def describe(self, step: str) -> list[str]:
        """What the step will do, in plain lines, shown before it is confirmed."""
        if step == "flags":
            if not self.flags:
                return ["No flag to restore: none was flipped in this release and no snapshot names one."]
            head = (f"Set {len(self.flags)} flag(s) back, all at once"
                    + (f" (stage {self.stage} only)" if self.stage else "") + ":")
            return [head, *(f"  {f.text()}" for f in self.flags),
                    "Flags already in that state are left alone; each flip is read back and logged."]
        if step == "deploy":
            if "deploy" in self.problems:
                return [f"Cannot redeploy: {self.problems['deploy']}"]
            sha = f" ({self.rollback_sha[:12]})" if self.rollback_sha else ""
            return [f"Redeploy {self.deploy_ref}{sha} with:", f"  $ {self.deploy_command}",
                    f"  in {self.deploy_cwd_label}, timeout {self.deploy_timeout_s:g}s; output is shown live."]
        if step == "verify":
            if not self.verify:
                return ["No [rollback] verify checks configured: nothing to re-take."]
            return ["Re-take this evidence and record it:", *(f"  {c}" for c in self.verify)]
        declared = self.step(step)
        if declared is not None:
            return [describe(declared, self.values, self.place)]
        return []

    def to_json(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id, "environment": self.environment, "phase": str(self.phase),
            "target": {"ref": self.target.ref, "sha": self.target.sha} if self.target else None,
            "scope": self.scope, "steps": list(self.steps), "rollback_ref": self.rollback_ref,
            "rollback_sha": self.rollback_sha, "rollback_owner": self.rollback_owner,
            "deploy_ref": self.deploy_ref, "deploy_command": self.deploy_command,
            "flags": [{"flag": f.flag, "to": f.to, "source": f.source, "flipped": f.flipped} for f in self.flags],
            "verify": list(self.verify), "problems": dict(self.problems), "warnings": list(self.warnings),
            "resumed": self.resumed,
        }


def _restores(runbook: Runbook, state: ReleaseState, stage: str | None) -> tuple[FlagRestore, ...]:
    snap = state.flag_snapshot or {}
    first_before: dict[str, bool | None] = {}
    flip_stage: dict[str, str | None] = {}
    for f in state.flips:
        first_before.setdefault(f.flag, f.before)
        flip_stage.setdefault(f.flag, f.stage)
    stage_of = {name: s.id for s in runbook.stages for name in s.flags}
    if stage is None:
        names = list(dict.fromkeys([*(n for n in runbook.all_flags if n in snap or n in first_before),
                                    *snap, *first_before]))
    else:
        in_stage = runbook.stage(stage).flags
        names = list(dict.fromkeys([*in_stage, *(n for n, s in flip_stage.items() if s == stage)]))
    out = []
    for n in names:
        if snap.get(n) is not None:
            to, source = bool(snap[n]), "snapshot at GO"
        elif first_before.get(n) is not None:
            to, source = bool(first_before[n]), "before its first flip"
        else:
            to, source = False, "kill switch (state at GO unknown)"
        out.append(FlagRestore(flag=n, to=to, source=source, flipped=n in first_before,
                               stage=flip_stage.get(n) or stage_of.get(n)))
    return tuple(out)


def _deploy(runbook: Runbook, state: ReleaseState, environment: str,
            problems: dict[str, str], warnings: list[str]) -> tuple[str, str | None]:
    """(the ref {ref} becomes, the expanded command) — or problems['deploy'] says why not."""
    so = state.signoff
    ref = so.rollback_ref.strip() if so else ""
    sha = so.rollback_sha if so else ""
    if not ref:
        problems["deploy"] = ("no rollback ref was recorded at sign-off, so there is nothing known-good to "
                              "redeploy; restore the flags, then skip this step with a reason or abort")
        return "", None
    if so and so.problems and not sha:
        problems["deploy"] = f"the rollback ref {ref!r} was refused at sign-off: {'; '.join(so.problems)}"
        return ref, None
    deploy_ref = ref
    if sha:
        # The signed-off SHA is what was known good; a branch-like ref may have moved since.
        from cockpit.core import gitrepo

        try:
            now = gitrepo.resolve(runbook.repo_path, ref)
        except Exception as e:  # noqa: BLE001 - a missing repo or ref must not stop the plan
            now = ""
            warnings.append(f"rollback ref {ref!r} cannot be resolved now ({e}); redeploying the SHA signed "
                            f"off at sign-off, {sha[:12]}")
            deploy_ref = sha
        if now and now != sha:
            warnings.append(f"rollback ref {ref!r} moved since sign-off ({sha[:12]} → {now[:12]}); redeploying "
                            f"the signed-off SHA {sha[:12]}")
            deploy_ref = sha
    template = runbook.rollback.deploy
    if not template:
        problems["deploy"] = "the runbook has no [rollback] deploy command"
        return deploy_ref, None
    env = runbook.environments[environment]
    values: dict[str, str | None] = {
        "ref": deploy_ref, "rollback_ref": ref, "env.name": environment, "env.url": env.url,
        "release.name": runbook.release.name,
        "target": state.target.ref if state.target else None, "target_sha": state.target.sha if state.target else None,
        **{f"env.{k}": v for k, v in env.vars.items()},
    }
    try:
        return deploy_ref, expand(template, values, quote=True)
    except PlaceholderError as e:
        problems["deploy"] = f"[rollback] deploy: {e}"
        return deploy_ref, None


def build_plan(runbook: Runbook, state: ReleaseState, *, stage: str | None = None,
               interrupted_deploy: bool = False) -> RollbackPlan:
    """The plan for rolling back `state`'s release (blocking: may ask git whether the ref moved)."""
    if stage is not None:
        try:
            runbook.stage(stage)
        except KeyError:
            known = ", ".join(s.id for s in runbook.stages) or "none"
            raise PlanRefused(f"unknown stage {stage!r}; the runbook's stages: {known}") from None
    scope = f"stage:{stage}" if stage else "all"
    rb = state.rollback
    resumed = rb is not None and rb.outcome is None
    finished: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    if resumed:
        assert rb is not None
        if rb.scope != scope:
            if stage is None:  # resuming without --stage: carry on with the rollback in progress
                scope, stage = rb.scope, rb.scope.split(":", 1)[1] if rb.scope.startswith("stage:") else None
            else:
                raise PlanRefused(f"a rollback of scope {rb.scope!r} is in progress on {state.release_id} "
                                  f"(started by {rb.by}); resume it without --stage, or finish it first")
        finished = {k: v for k, v in rb.steps.items() if v.get("outcome") in FINISHED}
    elif rb is not None and not rb.settled_stage:
        warnings.append(f"a rollback of this release already finished ({rb.outcome}); this is a new attempt")
    if state.decision is None or not state.decision.go:
        warnings.append(f"this release is '{state.phase}': it never reached GO")
    if state.flag_snapshot is None:
        warnings.append("no flag snapshot was taken at GO: flags go back to their state before their first "
                        "flip, or OFF")

    problems: dict[str, str] = {}
    own = runbook.stage(stage).rollback if stage else runbook.rollback.steps
    declared = tuple((step_id(s, i), s) for i, s in enumerate(own, 1))
    if declared:
        steps: tuple[str, ...] = ("flags", *(sid for sid, _ in declared), "verify")
    else:
        steps = STAGE_STEPS if stage else FULL_STEPS
    deploy_ref, command = ("", None)
    if "deploy" in steps or (declared and not stage):
        deploy_ref, command = _deploy(runbook, state, state.environment, problems, warnings)
        if declared:  # the declared steps redeploy; what stops the deploy command stops those that use {ref}
            why = problems.pop("deploy", None)
            if why and not why.startswith("the runbook has no [rollback] deploy"):
                for sid, s in declared:
                    if s.kind == "command" and any("{ref}" in a or "{sha}" in a or "{short_sha}" in a for a in s.run):
                        problems[sid] = why
    flags = _restores(runbook, state, stage)
    if flags and runbook.flags is None:
        problems["flags"] = "the runbook has no [flags] section: the cockpit cannot reach the flag service"
    so = state.signoff
    return RollbackPlan(
        release_id=state.release_id, environment=state.environment, phase=state.phase, target=state.target,
        scope=scope, steps=steps, rollback_ref=so.rollback_ref if so else "", rollback_sha=so.rollback_sha if so else "",
        rollback_owner=so.rollback_owner if so else "", release_owner=so.release_owner if so else "",
        deploy_ref=deploy_ref, deploy_command=command,
        deploy_cwd=runbook.resolve_path(runbook.rollback.cwd or "."),
        deploy_cwd_label=runbook.rollback.cwd or "the runbook's folder",
        deploy_timeout_s=runbook.rollback.timeout.total_seconds(), flags=flags, snapshot=state.flag_snapshot,
        verify=tuple(runbook.rollback.verify), problems=problems, warnings=tuple(warnings),
        finished_steps=finished, resumed=resumed, started_at=rb.started_at if resumed and rb else None,
        interrupted_deploy=interrupted_deploy and resumed and "deploy" not in finished,
        declared=declared, values=_values(runbook, state, deploy_ref, stage), repo=Path(runbook.repo_path),
    )


def _values(runbook: Runbook, state: ReleaseState, deploy_ref: str, stage: str | None) -> dict[str, str | None]:
    so = state.signoff
    env = runbook.environments[state.environment]
    sha = (so.rollback_sha if so else "") or None
    return {"ref": deploy_ref or None, "sha": sha, "short_sha": sha[:7] if sha else None,
            "rollback_ref": so.rollback_ref if so else None, "stage": stage, "env.name": state.environment,
            "env.url": env.url, "release.name": runbook.release.name,
            "target": state.target.ref if state.target else None,
            "target_sha": state.target.sha if state.target else None,
            **{f"env.{k}": v for k, v in env.vars.items()}}


def plan_for(session: ReleaseSession, *, stage: str | None = None) -> RollbackPlan:
    """The rollback plan of the session's release, from its folded state (no read: works offline)."""
    if not session.opened:
        raise PlanRefused(f"the release log holds no release for {session.environment!r}: there is nothing to roll back")
    # A deploy.started without its deploy.finished: the cockpit died while redeploying.
    return build_plan(session.runbook, session.state, stage=stage, interrupted_deploy=session.state.deploying)
