"""GO / NO-GO: a pure function of the runbook, the evidence, the sign-off and the stages.

Seed 003's automatic NO-GO conditions are the rules: any blocking gate not passing (or stale),
a target not on main, no explicit owner sign-off (every role the runbook names, held by different
people where it says so), no rollback ref fixed before rollout; and where the runbook asks for it,
the same target having passed an earlier environment (the seeds' staging first, core/promotion.py).
Checks without a stage gate the release; a stage's checks gate the start of that stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from cockpit.core.evidence import Evidence, Status
from cockpit.core.log.entry import Actor
from cockpit.runbook import roles
from cockpit.runbook.durations import humanize

if TYPE_CHECKING:
    from cockpit.core.promotion import Promotion
    from cockpit.runbook.config import CheckConfig, Runbook

GO = "GO"
NO_GO = "NO-GO"


@dataclass(frozen=True)
class SignOff:
    release_owner: str
    rollback_owner: str
    rollback_ref: str
    rollback_sha: str = ""
    problems: tuple[str, ...] = ()
    """What git said is wrong with the rollback ref (empty when it is a valid ancestor of the target)."""
    roles: Mapping[str, str] = field(default_factory=dict)
    """Role -> the person named for it; the two owners are among them (from their own fields when an older
    cockpit recorded only those)."""
    signed_by: Actor | None = None
    """Who recorded this sign-off (the entry's actor): the identity behind every name in it."""

    def named(self, role: str) -> str:
        """The person named for `role` ("" when nobody is)."""
        if role == roles.RELEASE_OWNER:
            return self.release_owner
        if role == roles.ROLLBACK_OWNER:
            return self.rollback_owner
        return self.roles.get(role, "")


class Requirement(StrEnum):
    MUST = "MUST"      # blocks GO (a blocking check, or a rule such as the sign-off)
    SHOULD = "SHOULD"  # shown, never blocking


@dataclass(frozen=True)
class VerdictItem:
    """One thing the verdict says is not right, typed so that nobody re-parses its words."""

    text: str
    """The sentence a release owner reads (a check's begins with MUST or SHOULD)."""
    requirement: Requirement = Requirement.MUST
    check_id: str | None = None
    """The check it is about; None for a rule (main, sign-off, stage order)."""
    status: Status | None = None
    """The check's status as it stands now (freshness applied)."""

    @property
    def blocking(self) -> bool:
        return self.requirement is Requirement.MUST

    @property
    def stale(self) -> bool:
        return self.status is Status.STALE


@dataclass(frozen=True)
class Verdict:
    decision: str
    items: list[VerdictItem] = field(default_factory=list)
    evidence: Mapping[str, Evidence | None] = field(default_factory=dict)
    """Every check's evidence as it stands at the verdict's `now`: freshness is judged here, once."""
    counted: int = 0
    passed: int = 0

    @property
    def go(self) -> bool:
        return self.decision == GO

    @property
    def reasons(self) -> list[str]:
        """Why NO-GO, one sentence each; empty for GO."""
        return [i.text for i in self.items if i.blocking]

    @property
    def warnings(self) -> list[str]:
        """SHOULD items not passing: shown, never blocking."""
        return [i.text for i in self.items if not i.blocking]

    @property
    def failing_checks(self) -> list[VerdictItem]:
        """The blocking items that are checks (not rules)."""
        return [i for i in self.items if i.blocking and i.check_id is not None]


def current(check: CheckConfig, ev: Evidence | None, now: datetime) -> Evidence | None:
    """The evidence as it counts at `now`: a pass older than the check's max_age is stale."""
    return ev.freshness(check.max_age, now) if ev else None


def gated_checks(runbook: Runbook, stage: str | None = None) -> list[CheckConfig]:
    """The checks that gate the release (stage=None) or one stage."""
    return [c for c in runbook.checks if c.stage == stage]


def describe(check: CheckConfig, ev: Evidence | None, now: datetime, judged: Evidence | None = None) -> str | None:
    """Why this check does not count as passing, in a release owner's words; None when it passes.
    `judged` is `current(check, ev, now)` when the caller has it already."""
    name = f"'{check.label}'"
    if ev is None or ev.status is Status.PENDING:
        if check.kind == "manual":
            return f"{name} is waiting for a person to confirm: {check.prompt}"
        if ev is not None and ev.detail:  # the check said what it waits for
            return f"{name} is pending: {ev.detail}"
        return f"{name} has no evidence yet"
    if ev.status is Status.STALE:  # the check itself found old data (a file's mtime, a report's timestamp)
        return f"{name} is stale: {ev.detail}"
    ev = judged if judged is not None else current(check, ev, now)
    assert ev is not None
    if ev.status is Status.PASS:
        return None
    if ev.status is Status.STALE:  # the evidence itself is too old: take it again
        return f"{name} is stale: taken {humanize(ev.age(now))} ago, counts for {humanize(check.max_age)}"
    if ev.status is Status.INCONCLUSIVE:  # asked, nothing to judge: not a pass, not a failure either
        return f"{name} is inconclusive: {ev.detail.removeprefix('inconclusive: ')}"
    verb = "could not be checked" if ev.status is Status.ERROR else "failed"
    return f"{name} {verb}: {ev.detail}"


def evaluate(
    runbook: Runbook,
    evidence: Mapping[str, Evidence],
    *,
    now: datetime,
    environment: str,
    target_on_main: bool | None = None,
    main_problem: str | None = None,
    signoff: SignOff | None = None,
    require_signoff: bool = False,
    stage: str | None = None,
    stable_stages: frozenset[str] | None = None,
    started_stages: frozenset[str] | None = None,
    promotion: Promotion | None = None,
) -> Verdict:
    """The verdict for the release (stage=None) or for starting `stage`.

    target_on_main: None when unknown (not computed); False makes a protected environment NO-GO.
    require_signoff: at the decision itself; `cockpit check` judges sign-off only once one exists.
    promotion: what the log says of the target in the environment it must have passed (None: no such
    rule); judged at `now` for the release, not for a stage (it was judged at GO).
    """
    items: list[VerdictItem] = []
    judged = {c.id: current(c, evidence.get(c.id), now) for c in runbook.checks}
    checks = gated_checks(runbook, stage)
    passed = 0
    for check in checks:
        problem = describe(check, evidence.get(check.id), now, judged[check.id])
        if problem is None:
            passed += 1
            continue
        req = Requirement.MUST if check.blocking else Requirement.SHOULD
        ev = judged[check.id]
        items.append(VerdictItem(f"{req} {problem}", req, check.id, ev.status if ev else Status.PENDING))
    reasons: list[str] = []

    protected = runbook.environments[environment].protected
    if protected and target_on_main is False:
        reasons.append(f"the target is not on {runbook.release.main}: a production rollout may come only from it")
    elif protected and target_on_main is None and main_problem:
        reasons.append(f"cannot tell whether the target is on {runbook.release.main}: {main_problem}")

    if stage is None and promotion is not None and (problem := promotion.problem(now)):
        reasons.append(problem)

    if signoff is not None or require_signoff:
        reasons.extend(_signoff_reasons(signoff, runbook))

    stable = stable_stages or frozenset()
    started = started_stages or frozenset()
    for s in runbook.stages:
        if s.id in started:
            missing = [a for a in s.after if a not in stable]
            if missing:
                reasons.append(f"stage '{s.id}' was started before {', '.join(missing)} was marked stable")
    if stage is not None:
        missing = [a for a in runbook.stage(stage).after if a not in stable]
        if missing:
            reasons.append(f"stage '{stage}' may start only after {', '.join(missing)} is marked stable")

    items += [VerdictItem(r) for r in reasons]
    blocked = any(i.blocking for i in items)
    return Verdict(decision=NO_GO if blocked else GO, items=items, evidence=judged, counted=len(checks),
                   passed=passed)


def _signoff_reasons(signoff: SignOff | None, runbook: Runbook) -> list[str]:
    needed = runbook.release.roles
    if signoff is None:
        return [f"no owner sign-off: the {', the '.join(needed)} and the rollback ref must be recorded"]
    out = [f"no {role} is named" for role in needed if not signoff.named(role).strip()]
    named = {role: signoff.named(role) for role in needed}
    out += [f"the {a} and the {b} must be different people: both are {who}"
            for a, b, who in roles.shared(named, runbook.release.distinct_roles)]
    if not signoff.rollback_ref.strip():
        out.append("no rollback ref was fixed before rollout")
    out.extend(f"rollback ref {signoff.rollback_ref}: {p}" for p in signoff.problems)
    return out
