"""Promotion tied to the SHA: the target must have passed an earlier environment before GO here.

Every seed asks for staging first (000: staging before calendar/payments; 001: "staging first!";
002: tested in staging; 003: `feature/* -> test -> main -> prod`, the latest test smoke PASS; 004:
day 12 staging, day 13 production). The cockpit holds it to the SHA: a release of the *same* target
in `[environments.X] promote_from` that went GO, had every stage it started marked stable, was closed
(`release.done`) and not rolled back — within `promote_within` of now when that is set.

The evidence is read from the shared log (`read_promotion`: keyset reads by environment and kind, then the
candidates' own entries folded) and judged against a clock by the gate (`Promotion.problem`), so a
reading kept for a while is still judged at the verdict's `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter, LogUnavailable, ReleaseLog
from cockpit.core.release import Phase, ReleaseState, StageStatus, fold
from cockpit.runbook.durations import format_duration, humanize

if TYPE_CHECKING:
    from cockpit.core.log.entry import Entry
    from cockpit.runbook.config import Runbook

REREAD_AFTER = timedelta(seconds=30)
"""How long a reading is kept while nothing happens to the release (a session's cache, as evidence is re-taken
every 30 s): another environment's release closing shows within this, without a read on every redraw."""

CANDIDATES = 20
"""Releases of the target in the earlier environment looked at, newest GO first: one that passed is
nearly always the newest; older attempts only explain a refusal."""

_OUTCOME = {
    Phase.PREPARING: "not yet GO",
    Phase.NO_GO: "NO-GO",
    Phase.GO: "GO, not yet closed",
    Phase.CUTOVER: "in cutover, not yet closed",
    Phase.DONE: "closed",
    Phase.ROLLING_BACK: "being rolled back",
    Phase.ROLLED_BACK: "rolled back",
    Phase.ROLLBACK_FAILED: "rolled back (the rollback failed)",
}


@dataclass(frozen=True)
class Passage:
    """One release in the earlier environment, as its entries tell it."""

    release_id: str
    target_sha: str
    phase: Phase
    went_go: bool
    closed_at: datetime | None = None
    """When release.done was recorded (None: never closed)."""
    unstable: tuple[str, ...] = ()
    """Stages it started that are not marked stable."""

    @property
    def passed(self) -> bool:
        """Went GO, every stage it started marked stable, closed, not rolled back (at any time)."""
        return self.went_go and self.phase is Phase.DONE and self.closed_at is not None and not self.unstable

    def outcome(self, now: datetime) -> str:
        if self.phase is Phase.DONE and self.unstable:
            return f"closed with {', '.join(self.unstable)} not marked stable"
        if self.phase is Phase.DONE and self.closed_at is not None:
            return f"closed {humanize(now - self.closed_at)} ago"
        return _OUTCOME[self.phase]


@dataclass(frozen=True)
class Promotion:
    """What the log says about the target in the earlier environment; judged by `problem(now)`."""

    source: str
    """The environment the target must have passed (promote_from)."""
    target_sha: str
    within: timedelta | None = None
    """How recently it must have been closed there (promote_within); None: any time."""
    passages: tuple[Passage, ...] = ()
    """Releases of the target there that went GO, newest first."""
    last: Passage | None = None
    """The earlier environment's most recent release (of any target), read only to explain a refusal."""
    unreadable: str = ""
    """Why the log could not be read ("" when it was)."""

    @property
    def short(self) -> str:
        return self.target_sha[:7]

    def passed(self, now: datetime) -> Passage | None:
        """The newest release of the target there that counts at `now`, or None."""
        for p in self.passages:
            if p.passed and (self.within is None or p.closed_at >= now - self.within):  # type: ignore[operator]
                return p
        return None

    def problem(self, now: datetime) -> str | None:
        """Why GO may not be given here yet, in a release owner's words; None when the target passed."""
        if self.unreadable:
            return (f"cannot tell whether target {self.short} has passed {self.source}: the release log could "
                    f"not be read ({self.unreadable})")
        if self.passed(now) is not None:
            return None
        window = f" in the last {format_duration(self.within)}" if self.within is not None else ""
        head = f"target {self.short} has not passed {self.source}: no closed, stable release of it there{window}"
        if self.passages:
            p = self.passages[0]
            return f"{head}; its last there is {p.release_id}, {p.outcome(now)}"
        if self.last is not None:
            return f"{head}; {self.source}'s last is {self.last.release_id}, {self.last.outcome(now)}"
        return f"{head}; {self.source} has had no release yet"


def rule(runbook: Runbook, environment: str) -> tuple[str, timedelta | None] | None:
    """(promote_from, promote_within) of the environment, or None when it has no such rule."""
    env = runbook.environments[environment]
    return (env.promote_from, env.promote_within) if env.promote_from else None


def read_promotion(log: ReleaseLog, source: str, within: timedelta | None, target_sha: str) -> Promotion:
    """What the log says of `target_sha` in `source`. Blocking reads (a few, indexed): call it in a thread, or
    where that is affordable. A log that cannot be read is said in the result, not raised."""
    try:
        passages = tuple(_passages(log, source, target_sha))
        last = None
        if not passages:
            opened = log.page(LogFilter(environment=source, kind=kinds.SESSION_OPENED), limit=1, newest_first=True)
            last = _passage(log, opened[0].release_id, source) if opened else None
    except LogUnavailable as e:
        return Promotion(source, target_sha, within, unreadable=str(e) or "the store is away")
    return Promotion(source, target_sha, within, passages, last)


def _passages(log: ReleaseLog, source: str, target_sha: str) -> list[Passage]:
    """The releases of the target in `source` that went GO, newest first, up to the first that passed.

    decision.go carries the target's SHA, so the store narrows by environment and kind (an index) and
    by the SHA's text; the fold of each candidate then decides, on its own entries, exactly."""
    out: list[Passage] = []
    seen: set[str] = set()
    before: int | None = None
    while len(seen) < CANDIDATES:
        page = log.page(LogFilter(environment=source, kind=kinds.DECISION_GO, text=target_sha), before_seq=before,
                        limit=CANDIDATES, newest_first=True)
        for e in page:
            if e.release_id in seen or e.payload.get("target_sha") != target_sha:
                continue
            seen.add(e.release_id)
            p = _passage(log, e.release_id, source)
            if p.target_sha != target_sha:
                continue
            out.append(p)
            if p.passed:
                return out
        if len(page) < CANDIDATES:
            break
        before = page[-1].seq
    return out


def _passage(log: ReleaseLog, release_id: str, source: str) -> Passage:
    entries = list(log.entries(LogFilter(release_id=release_id)))
    state = fold(release_id, source, entries)
    return _from_state(state, _closed_at(entries))


def _closed_at(entries: list[Entry]) -> datetime | None:
    done = [e.at for e in entries if e.kind == kinds.RELEASE_DONE]
    return done[-1] if done else None


def _from_state(state: ReleaseState, closed_at: datetime | None) -> Passage:
    unstable = tuple(sid for sid, st in state.stages.items()
                     if st.status is not StageStatus.STABLE and st.status is not StageStatus.PENDING)
    return Passage(release_id=state.release_id, target_sha=state.target.sha if state.target else "",
                   phase=state.phase, went_go=state.is_go, closed_at=closed_at, unstable=unstable)
