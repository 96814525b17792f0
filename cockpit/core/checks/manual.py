"""`manual` evidence: a person's tick with a note; pending until ticked."""

from __future__ import annotations

from cockpit.runbook.config import ManualCheck
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.result import Found
from cockpit.runbook.textsafe import one_line
from cockpit.core.evidence import Status


async def run(check: ManualCheck, ctx: CheckContext) -> Found:
    tick = ctx.ticks.get(check.id)
    if tick is None:
        return Found(Status.PENDING, f"waiting for a tick: {one_line(check.prompt)}")
    note = f": {one_line(tick.note)}" if tick.note.strip() else ""
    return Found(
        Status.PASS,
        f"ticked by {one_line(tick.by, 80)}{note}",
        data={"by": tick.by, "note": tick.note, "at": tick.at.isoformat()},
        taken_at=tick.at,  # the evidence is as old as the tick, for max_age
    )
