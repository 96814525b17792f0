"""The periodic re-take logs only what changed status: the log shows when an item turned red,
without an entry per refresh; a re-fold keeps the newer evidence this cockpit saw."""

from __future__ import annotations

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.session import ReleaseSession
from tests.helpers.demo import Demo

ANN = Actor("Ann", "ann", "laptop")


async def test_refresh_logs_changes_only(demo: Demo) -> None:
    log = open_log(demo.runbook)
    session = await ReleaseSession.open(demo.runbook, log, "production", ANN)
    taken = LogFilter(release_id=session.release_id, kind=kinds.EVIDENCE_TAKEN)
    await session.take_evidence()
    assert log.count(taken) == 1

    await session.take_evidence(record="changed")  # nothing changed: nothing logged
    assert log.count(taken) == 1

    demo.target.set_health("db", status_code=503)
    await session.take_evidence(record="changed")
    assert log.count(taken) == 2
    last = log.page(taken, limit=1, newest_first=True)[0]
    assert last.payload["refresh"] is True
    assert [(d["id"], d["status"]) for d in last.payload["evidence"]] == [("health-db", "fail")]

    fresh = session.state.evidence["health-api"]
    await session.refresh()  # re-fold from the log: the unlogged, newer re-take is kept
    assert session.state.evidence["health-api"].taken_at == fresh.taken_at
    assert session.state.evidence["health-db"].status.value == "fail"
    log.close()
