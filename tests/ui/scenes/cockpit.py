"""Scenes of the release owner's cockpit: readiness (NO-GO, at 80x24), sign-off, GO confirmation,
cutover and help."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from cockpit.core import kinds
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.widgets.checklist import Checklist
from tests.ui.fixtures import ANN, BOB, clock, evidence_for, scene_release
from tests.ui.scenes import Scene

DB_DOWN = {"health-db": ("server error HTTP 503 Service Unavailable (expected 200)",
                         '{"status": "down", "error": "[bold red]pool exhausted[/] \x1b[2J"}')}


def _app(rel) -> CockpitApp:  # noqa: ANN001
    return make_app(rel.runbook, rel.log, actor=ANN, clock=clock, refresh_every=None, take_on_open=False)


def readiness_nogo(tmp: Path) -> CockpitApp:
    rel = scene_release(tmp)
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": evidence_for(rel.runbook, failing=DB_DOWN)}, minutes_ago=2)
    return _app(rel)


async def settle(pilot: Pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False
    await pilot.pause()


async def highlight_db(pilot: Pilot) -> None:
    await settle(pilot)
    pilot.app.screen.query_one("#checklist", Checklist).move_to("health-db")
    await pilot.pause()


def signed(tmp: Path) -> CockpitApp:
    rel = scene_release(tmp)
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": evidence_for(rel.runbook)}, minutes_ago=2)
    return _app(rel)


async def open_signoff(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("s")
    await settle(pilot)
    pilot.app.screen.query_one("#rollback-owner", Input).focus()
    await pilot.press(*"Bob Rollback")
    pilot.app.screen.query_one("#rollback-ref", Input).focus()
    await pilot.press(*"v1.0.0")
    await settle(pilot)


def ready_for_go(tmp: Path) -> CockpitApp:
    rel = scene_release(tmp)
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": evidence_for(rel.runbook)}, minutes_ago=3)
    rel.add(kinds.SIGNOFF_RECORDED, {"release_owner": "Ann Release", "rollback_owner": "Bob Rollback",
                                     "rollback_ref": "v1.0.0", "rollback_sha": rel.scratch.shas["known_good"]},
            minutes_ago=2)
    return _app(rel)


async def press_go(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    await pilot.press(*pilot.app.session.target.short[:4])
    await settle(pilot)


def in_cutover(tmp: Path) -> CockpitApp:
    rel = scene_release(tmp)
    ev = evidence_for(rel.runbook)
    for d in ev:
        if d["kind"] == "manual" or d["id"] == "rollback-ref":
            d["status"], d["detail"] = "pass", "ticked by Ann Release: checked on staging" if d["kind"] == "manual" \
                else "v1.0.0 (1542d01) is an ancestor of the target"
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": ev}, minutes_ago=30)
    rel.add(kinds.SIGNOFF_RECORDED, {"release_owner": "Ann Release", "rollback_owner": "Bob Rollback",
                                     "rollback_ref": "v1.0.0", "rollback_sha": rel.scratch.shas["known_good"]},
            minutes_ago=28)
    rel.add(kinds.DECISION_GO, {"target_sha": rel.target_sha}, minutes_ago=27)
    flags = {"MARKETPLACE_AVAILABILITY_ENABLED": False, "MARKETPLACE_REQUESTS_ENABLED": False}
    rel.add(kinds.FLAGS_SNAPSHOT, {"flags": flags}, minutes_ago=27)
    rel.add(kinds.STAGE_STARTED, {"stage": "layer-0", "flags": []}, minutes_ago=25)
    rel.add(kinds.STAGE_STABLE, {"stage": "layer-0", "note": "health green"}, minutes_ago=15)
    rel.add(kinds.STAGE_STARTED, {"stage": "layer-1", "flags": ["MARKETPLACE_AVAILABILITY_ENABLED"]}, minutes_ago=10)
    rel.add(kinds.FLAG_FLIPPED, {"flag": "MARKETPLACE_AVAILABILITY_ENABLED", "before": False, "after": True,
                                 "requested": True, "ok": True, "stage": "layer-1"}, minutes_ago=10)
    rel.add(kinds.NOTE, {"text": "Bob watching the availability dashboard"}, minutes_ago=5, actor=BOB)
    return _app(rel)


async def highlight_layer1(pilot: Pilot) -> None:
    await settle(pilot)
    table = pilot.app.screen.query_one("#stages", DataTable)
    table.move_cursor(row=table.get_row_index("layer-1"))
    await pilot.pause()


async def open_help(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


SCENES = [
    Scene("cockpit-readiness-nogo", readiness_nogo, highlight_db, size=(110, 36)),
    Scene("cockpit-readiness-80x24", readiness_nogo, highlight_db, size=(80, 24)),
    Scene("cockpit-signoff", signed, open_signoff, size=(110, 36)),
    Scene("cockpit-go-confirm", ready_for_go, press_go, size=(110, 36)),
    Scene("cockpit-cutover", in_cutover, highlight_layer1, size=(110, 36)),
    Scene("cockpit-help", signed, open_help, size=(110, 36)),
]
