"""The release-day plan (seed 004: 00:00 backup, 01:00 deploy, 02:00 smoke, 09:00 announcement): fixed
at GO into decision.go, read back from the log alone, planned against actual with what is late."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.story import release_story
from cockpit.core.timeline import planned_at, timeline
from cockpit.runbook.config import load_runbook
from tests.core.test_procedure import stage_cmd
from tests.helpers.demo import Demo, in_cutover

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
GO = datetime(2026, 12, 3, 23, 40, tzinfo=UTC)

PLANNED = '''
[[stages.steps]]
id = "backup"
kind = "command"
run = ["bash", "-c", "echo backup done"]
at = "00:00"

[[stages.steps]]
id = "announce"
kind = "manual"
instruction = "Announce the release"
at = "09:00"

[[stages.steps]]
id = "soak"
kind = "wait"
duration = "1s"
at = "+30m"
'''


def test_planned_times_cross_midnight_and_offsets_count_from_go() -> None:
    assert planned_at("00:00", GO, None) == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # tonight's window
    assert planned_at("23:50", GO, None) == datetime(2026, 12, 3, 23, 50, tzinfo=UTC)
    first = planned_at("23:50", GO, None)
    assert planned_at("01:00", GO, first) == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    assert planned_at("+90m", GO, None) == GO + timedelta(minutes=90)


def test_the_plan_is_fixed_at_go_and_read_back_planned_against_actual(demo: Demo) -> None:
    path = demo.scratch.runbook_path
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition('id = "layer-0"')
    block, nxt, tail = rest.partition("[[")
    path.write_text(head + sep + block + PLANNED + "\n" + nxt + tail, encoding="utf-8")
    runbook = load_runbook(path)
    log = open_log(runbook)
    session = asyncio.run(in_cutover(runbook, log, ANN, stage="layer-0"))
    go_at = session.state.decision.at
    assert [r["step"] for r in session.state.plan] == ["backup", "announce", "soak"]
    assert session.state.plan[2]["planned"] is not None
    p = stage_cmd(demo, "start", "layer-0", "--yes")  # runs the backup, stops at the person's step
    assert p.returncode == 3, p.stdout + p.stderr
    asyncio.run(session.refresh())
    later = go_at + timedelta(days=1, hours=12)  # every planned time has passed
    rows = {r.step: r for r in timeline(session.state, later)}
    assert rows["backup"].outcome == "done" and rows["backup"].started is not None
    assert rows["announce"].outcome == "pending" and rows["announce"].late_by is not None
    assert abs(rows["soak"].planned - (go_at + timedelta(minutes=30))) < timedelta(seconds=1)  # fixed at GO
    story = release_story(session.release_id, log.entries())
    plan = story.section("Plan")
    assert plan is not None and [ln.text.split(" — ")[1].split(" ")[0] for ln in plan.lines] == [
        "backup", "announce", "soak"]
    assert "00:00 planned" in plan.lines[0].text and "done" in plan.lines[0].text
    log.close()
