"""A release's state is a fold over its log entries (ARCHITECTURE §2).

Nothing here is stored anywhere else: a cockpit that crashed, or a second cockpit, or the
auditor's browser, derives exactly the same state from the same entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cockpit.core import guardrail, kinds
from cockpit.core.target import Target
from cockpit.core.evidence import Evidence, Status, Tick
from cockpit.core.gate import SignOff
from cockpit.core.log.entry import Entry
from cockpit.runbook.roles import RELEASE_OWNER, ROLLBACK_OWNER


class Phase(StrEnum):
    PREPARING = "preparing"
    NO_GO = "no-go"
    GO = "go"
    CUTOVER = "cutover"
    DONE = "done"
    ROLLING_BACK = "rolling back"
    ROLLED_BACK = "rolled back"
    ROLLBACK_FAILED = "rollback failed"

    @property
    def finished(self) -> bool:
        return self in (Phase.DONE, Phase.ROLLED_BACK)

    @property
    def before_go(self) -> bool:
        """Still deciding: sign-off and the decision are recorded now, not later."""
        return self in (Phase.PREPARING, Phase.NO_GO)

    @property
    def holds_lock(self) -> bool:
        """GO and in cutover: the release keeps the environment's lock and its lease renewed."""
        return self in (Phase.GO, Phase.CUTOVER)

    @property
    def in_flight(self) -> bool:
        """GO given and not yet closed or rolled back: the release is live in its environment, so it is
        resumed whatever main points at, it holds the cutover lock, and its flips are not break-glass."""
        return self in (Phase.GO, Phase.CUTOVER, Phase.ROLLING_BACK, Phase.ROLLBACK_FAILED)


class StageStatus(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    STABLE = "stable"
    KILLED = "killed"
    ABORTED = "aborted"
    ROLLED_BACK = "rolled back"
    """By a rollback of this stage alone (seed 001's partial rollback, seed 000's layer flag OFF)."""


@dataclass
class StageState:
    status: StageStatus = StageStatus.PENDING
    started_at: datetime | None = None
    stable_at: datetime | None = None
    steps: dict[str, str] = field(default_factory=dict)
    """step id -> started | done | failed | skipped (its procedure, core/procedure.py)."""
    step_started: dict[str, datetime] = field(default_factory=dict)
    """step id -> when it was last started."""
    step_finished: dict[str, datetime] = field(default_factory=dict)
    """step id -> when it last ended (done, failed or skipped)."""


@dataclass(frozen=True)
class Decision:
    go: bool
    by: str
    at: datetime
    reasons: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class FlagFlip:
    flag: str
    before: bool | None
    after: bool | None
    requested: bool | None
    ok: bool
    by: str
    at: datetime
    stage: str | None = None
    error: str = ""


@dataclass
class RollbackState:
    started_at: datetime
    by: str
    scope: str = "all"
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    """step name -> last rollback.step payload for it (outcome done|failed|skipped)."""
    finished_at: datetime | None = None
    outcome: str | None = None

    @property
    def stage(self) -> str | None:
        """The one stage rolled back, for a partial rollback; None for the whole release."""
        return self.scope.split(":", 1)[1] if self.scope.startswith("stage:") else None

    def covers(self, stage_id: str) -> bool:
        """This rollback is of the whole release, or of this stage alone."""
        return self.scope in ("all", f"stage:{stage_id}")

    @property
    def settled_stage(self) -> bool:
        """A partial rollback that ended well: its stage is rolled back and the release goes on (the
        other stages stay as they are), so it no longer decides the release's phase."""
        return self.stage is not None and self.outcome == "done"


@dataclass
class ReleaseState:
    release_id: str
    environment: str
    target: Target | None = None
    opened_at: datetime | None = None
    evidence: dict[str, Evidence] = field(default_factory=dict)
    ticks: dict[str, Tick] = field(default_factory=dict)
    signoff: SignOff | None = None
    signoff_by: str = ""
    decision: Decision | None = None
    flag_snapshot: dict[str, bool | None] | None = None
    flips: list[FlagFlip] = field(default_factory=list)
    stages: dict[str, StageState] = field(default_factory=dict)
    rollback: RollbackState | None = None
    done: bool = False
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    windows: dict[str, guardrail.WindowState] = field(default_factory=dict)
    """A stage's watched windows by "stage/check" (core/guardrail.py)."""
    plan: list[dict[str, Any]] = field(default_factory=list)
    """The release-day plan fixed at GO: {stage, step, title, planned} per stage step (core/timeline.py)."""
    deploying: bool = False
    """A deploy.started without its deploy.finished: a redeploy is running, or its cockpit died."""
    last_seq: int = 0
    from_cache: bool = False
    """Folded from what this machine last saw (the shared store was away), not read from the store."""

    @property
    def phase(self) -> Phase:
        if self.rollback is not None and not self.rollback.settled_stage:
            if self.rollback.outcome is None:
                return Phase.ROLLING_BACK
            return Phase.ROLLED_BACK if self.rollback.outcome == "done" else Phase.ROLLBACK_FAILED
        if self.done:
            return Phase.DONE
        if self.decision is None:
            return Phase.PREPARING
        if not self.decision.go:
            return Phase.NO_GO
        if any(s.status is not StageStatus.PENDING for s in self.stages.values()):
            return Phase.CUTOVER
        return Phase.GO

    @property
    def is_go(self) -> bool:
        return self.decision is not None and self.decision.go

    def stage(self, stage_id: str) -> StageState:
        return self.stages.setdefault(stage_id, StageState())

    def stages_with(self, status: StageStatus) -> frozenset[str]:
        return frozenset(k for k, v in self.stages.items() if v.status is status)

    @property
    def started_stages(self) -> frozenset[str]:
        return frozenset(k for k, v in self.stages.items() if v.status is not StageStatus.PENDING)

    def apply(self, e: Entry) -> ReleaseState:
        """Fold one entry in (entries of other releases are ignored)."""
        if e.release_id != self.release_id:
            return self
        _APPLY.get(e.kind, _ignore)(self, e)
        self.last_seq = max(self.last_seq, e.seq)
        return self


def fold(release_id: str, environment: str, entries: Iterable[Entry]) -> ReleaseState:
    state = ReleaseState(release_id=release_id, environment=environment)
    for e in entries:
        state.apply(e)
    return state


# -- one reducer per kind --------------------------------------------------------


def _ignore(s: ReleaseState, e: Entry) -> None:
    return None


def _opened(s: ReleaseState, e: Entry) -> None:
    if s.target is None:
        t = e.payload.get("target", {})
        s.target = Target(ref=t.get("ref", ""), sha=t.get("sha", ""))
        s.opened_at = e.at


def _evidence(s: ReleaseState, e: Entry) -> None:
    for d in e.payload.get("evidence", []):
        try:
            ev = Evidence.from_json(d)
        except (KeyError, ValueError):
            continue  # an entry written by a newer cockpit: skip what we cannot read
        seen = s.evidence.get(ev.check_id)
        # Keep the newest: a cockpit folding others' entries into its own may have seen a later re-take.
        if seen is None or ev.taken_at >= seen.taken_at:
            s.evidence[ev.check_id] = ev


def _ticked(s: ReleaseState, e: Entry) -> None:
    cid = e.payload.get("check_id", "")
    tick = Tick(check_id=cid, by=e.actor.name, note=e.payload.get("note", ""), at=e.at)
    s.ticks[cid] = tick
    # The tick is the evidence of a manual item: it counts from the moment it is recorded.
    s.evidence[cid] = Evidence(check_id=cid, kind="manual", status=Status.PASS,
                               detail=f"ticked by {tick.by}: {tick.note}", taken_at=e.at)


def _signoff(s: ReleaseState, e: Entry) -> None:
    p = e.payload
    owners = {RELEASE_OWNER: p.get("release_owner", ""), ROLLBACK_OWNER: p.get("rollback_owner", "")}
    named = p.get("roles") if isinstance(p.get("roles"), dict) else {}  # absent in entries of older cockpits
    # The owners' own keys are what every cockpit writes and reads: they win over a disagreeing roles map.
    held = {r: n for r, n in named.items() if isinstance(r, str) and isinstance(n, str)} | owners
    s.signoff = SignOff(release_owner=owners[RELEASE_OWNER], rollback_owner=owners[ROLLBACK_OWNER],
                        rollback_ref=p.get("rollback_ref", ""), rollback_sha=p.get("rollback_sha", ""),
                        problems=tuple(p.get("problems", ())), roles=held, signed_by=e.actor)
    s.signoff_by = e.actor.name


def _go(s: ReleaseState, e: Entry) -> None:
    s.decision = Decision(go=True, by=e.actor.name, at=e.at, note=e.payload.get("note", ""))
    plan = e.payload.get("plan")
    s.plan = [r for r in plan if isinstance(r, dict)] if isinstance(plan, list) else []


def _nogo(s: ReleaseState, e: Entry) -> None:
    s.decision = Decision(go=False, by=e.actor.name, at=e.at, reasons=tuple(e.payload.get("reasons", ())),
                          note=e.payload.get("reason", ""))


def _snapshot(s: ReleaseState, e: Entry) -> None:
    s.flag_snapshot = dict(e.payload.get("flags", {}))


def _flipped(s: ReleaseState, e: Entry) -> None:
    p = e.payload
    s.flips.append(FlagFlip(flag=p.get("flag", ""), before=p.get("before"), after=p.get("after"),
                            requested=p.get("requested"), ok=bool(p.get("ok", False)), by=e.actor.name,
                            at=e.at, stage=p.get("stage"), error=p.get("error", "") or ""))


def _stage_started(s: ReleaseState, e: Entry) -> None:
    st = s.stage(e.payload.get("stage", ""))
    st.status, st.started_at = StageStatus.STARTED, e.at
    st.steps.clear()  # started again (after a kill or an abort): its procedure runs from the top
    st.step_started.clear()
    st.step_finished.clear()


def _stage_stable(s: ReleaseState, e: Entry) -> None:
    st = s.stage(e.payload.get("stage", ""))
    st.status, st.stable_at = StageStatus.STABLE, e.at
    guardrail.stage_over(s, e)


def _stage_killed(s: ReleaseState, e: Entry) -> None:
    s.stage(e.payload.get("stage", "")).status = StageStatus.KILLED
    guardrail.stage_over(s, e)


def _stage_aborted(s: ReleaseState, e: Entry) -> None:
    s.stage(e.payload.get("stage", "")).status = StageStatus.ABORTED
    guardrail.stage_over(s, e)


def _step_started(s: ReleaseState, e: Entry) -> None:
    st, step = s.stage(e.payload.get("stage", "")), e.payload.get("step", "")
    st.steps[step], st.step_started[step] = "started", e.at


def _step_finished(s: ReleaseState, e: Entry) -> None:
    st, step = s.stage(e.payload.get("stage", "")), e.payload.get("step", "")
    st.steps[step], st.step_finished[step] = e.payload.get("outcome", "failed"), e.at


def _tag(s: ReleaseState, e: Entry) -> None:
    s.tags.append(e.payload.get("tag", ""))


def _rb_started(s: ReleaseState, e: Entry) -> None:
    # A second rollback.started after a finished one starts a new attempt; after an unfinished one it resumes.
    if s.rollback is None or s.rollback.outcome is not None:
        s.rollback = RollbackState(started_at=e.at, by=e.actor.name, scope=e.payload.get("scope", "all"))
    guardrail.rolled_back(s, e)  # a rollback ends the watching: what the windows would decide is decided


def _rb_step(s: ReleaseState, e: Entry) -> None:
    if s.rollback is not None:
        s.rollback.steps[e.payload.get("step", "")] = dict(e.payload)


def _rb_finished(s: ReleaseState, e: Entry) -> None:
    if s.rollback is not None:
        s.rollback.finished_at = e.at
        s.rollback.outcome = e.payload.get("outcome", "done")
        if s.rollback.settled_stage:
            s.stage(s.rollback.stage or "").status = StageStatus.ROLLED_BACK


def _deploy_started(s: ReleaseState, e: Entry) -> None:
    s.deploying = True


def _deploy_finished(s: ReleaseState, e: Entry) -> None:
    s.deploying = False


def _done(s: ReleaseState, e: Entry) -> None:
    s.done = True


def _note(s: ReleaseState, e: Entry) -> None:
    s.notes.append(e.payload.get("text", ""))


_APPLY = {
    kinds.SESSION_OPENED: _opened,
    kinds.EVIDENCE_TAKEN: _evidence,
    kinds.ITEM_TICKED: _ticked,
    kinds.SIGNOFF_RECORDED: _signoff,
    kinds.DECISION_GO: _go,
    kinds.DECISION_NOGO: _nogo,
    kinds.FLAGS_SNAPSHOT: _snapshot,
    kinds.FLAG_FLIPPED: _flipped,
    kinds.STAGE_STARTED: _stage_started,
    kinds.STAGE_STABLE: _stage_stable,
    kinds.STAGE_KILLED: _stage_killed,
    kinds.STAGE_ABORTED: _stage_aborted,
    kinds.STEP_STARTED: _step_started,
    kinds.STEP_FINISHED: _step_finished,
    kinds.TAG_CREATED: _tag,
    kinds.ROLLBACK_STARTED: _rb_started,
    kinds.ROLLBACK_STEP: _rb_step,
    kinds.ROLLBACK_FINISHED: _rb_finished,
    kinds.DEPLOY_STARTED: _deploy_started,
    kinds.DEPLOY_FINISHED: _deploy_finished,
    kinds.RELEASE_DONE: _done,
    kinds.NOTE: _note,
    **guardrail.REDUCERS,
}
