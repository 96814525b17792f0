"""The release-day plan: when each step is planned (seed 004: 00:00 backup, 01:00 deploy, 02:00
smoke, 03:00 monitoring, 09:00 announcement) against when it ran.

The plan is fixed at GO — each step's planned time is computed then and written into `decision.go`
— so the story, the exports and an auditor without the runbook all read the same plan from the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from cockpit.core.log.entry import format_at, parse_at
from cockpit.runbook.durations import humanize, parse_duration
from cockpit.runbook.step_ids import step_id

if TYPE_CHECKING:
    from cockpit.core.release import ReleaseState
    from cockpit.runbook.config import Runbook


def planned_at(at: str, anchor: datetime, previous: datetime | None) -> datetime:
    """"+90m" after GO, or "HH:MM" (UTC) at or after GO's day — rolled to the next day when it would
    come before the step planned before it (a night window crossing midnight)."""
    if at.startswith("+"):
        return anchor + parse_duration(at[1:])
    hh, mm = (int(x) for x in at.split(":"))
    when = datetime.combine(anchor.date(), time(hh, mm), tzinfo=anchor.tzinfo)
    floor = previous or (anchor - timedelta(hours=12))
    while when < floor:
        when += timedelta(days=1)
    return when


def plan_at_go(runbook: Runbook, go_at: datetime) -> list[dict[str, Any]]:
    """Every stage step, in order, with its planned time (None when it has none), for decision.go."""
    rows: list[dict[str, Any]] = []
    previous: datetime | None = None
    for stage in runbook.stages:
        for i, step in enumerate(stage.steps, 1):
            when = planned_at(step.at, go_at, previous) if step.at else None
            previous = when or previous
            rows.append({"stage": stage.id, "step": step_id(step, i), "title": step.title or step.kind,
                         "planned": format_at(when) if when else None})
    return rows


@dataclass(frozen=True)
class TimelineRow:
    stage: str
    step: str
    title: str
    planned: datetime | None
    started: datetime | None
    finished: datetime | None
    outcome: str
    """pending | started | done | failed | skipped"""
    late_by: timedelta | None
    """Started after its planned time, or not started and the time has passed: by how much."""

    def text(self) -> str:
        plan = f"{self.planned:%H:%M}" if self.planned else "--:--"
        ran = f"{self.started:%H:%M}" if self.started else "not yet"
        late = f" · {humanize(self.late_by)} late" if self.late_by else ""
        return f"{plan} planned · {ran} {self.outcome}{late} — {self.step} ({self.stage}): {self.title}"


def timeline(state: ReleaseState, now: datetime) -> list[TimelineRow]:
    """Planned against actual, from the release's own entries (the plan written at GO)."""
    out = []
    for row in state.plan:
        st = state.stages.get(row.get("stage", ""))
        sid = row.get("step", "")
        planned = parse_at(row["planned"]) if row.get("planned") else None
        started = st.step_started.get(sid) if st else None
        finished = st.step_finished.get(sid) if st else None
        outcome = (st.steps.get(sid) if st else None) or "pending"
        late = None
        if planned is not None:
            late_by = (started or now) - planned
            late = late_by if late_by > timedelta(minutes=1) and (started or outcome == "pending") else None
        out.append(TimelineRow(row.get("stage", ""), sid, row.get("title", ""), planned, started, finished, outcome,
                               late))
    return out
