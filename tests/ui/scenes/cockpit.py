"""Scenes of the release owner's cockpit, each at 120x40 and 80x24: readiness (NO-GO), sign-off (with a
third role too), GO confirmation, cutover, a stage's procedure (a step running with its output, a failed
step, the release-day plan against actual), the kill switch's prompt, a rolled-back release (readiness
and cutover), help, and the help of `cockpit demo`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, RichLog

from cockpit.core import kinds
from cockpit.core.timeline import plan_at_go
from cockpit.runbook.config import load_runbook
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.screens.cutover import CutoverScreen
from cockpit.ui.view import DemoHints
from cockpit.ui.widgets.checklist import Checklist
from tests.ui.fixtures import ANN, BOB, NOW, clock, evidence_for, scene_release, temp_env, workers_done
from tests.ui.procedure import layer1_steps, with_procedure
from tests.ui.scenes import at_both_sizes

DB_DOWN = {"health-db": ("server error HTTP 503 Service Unavailable (expected 200)",
                         '{"status": "down", "error": "[bold red]pool exhausted[/] \x1b[2J"}')}


def _app(rel, **kw) -> CockpitApp:  # noqa: ANN001
    return make_app(rel.runbook, rel.log, actor=ANN, clock=clock, refresh_every=None, take_on_open=False, **kw)


def readiness_nogo(tmp: Path) -> CockpitApp:
    rel = scene_release(tmp)
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": evidence_for(rel.runbook, failing=DB_DOWN)}, minutes_ago=2)
    return _app(rel)


async def settle(pilot: Pilot) -> None:
    await workers_done(pilot.app)
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


def signed_with_comms_owner(tmp: Path) -> CockpitApp:
    """Seed 003's third role: the sign-off names an Incident Comms Owner too."""
    rel = scene_release(tmp)
    path = rel.scratch.runbook_path
    path.write_text(path.read_text(encoding="utf-8").replace(
        'tag_prefix = "pre-marketplace-"', 'tag_prefix = "pre-marketplace-"\n'
        'roles = ["Release Owner", "Rollback Owner", "Incident Comms Owner"]', 1), encoding="utf-8")
    rel.runbook = load_runbook(path)
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": evidence_for(rel.runbook)}, minutes_ago=2)
    return _app(rel)


async def open_signoff_with_roles(pilot: Pilot) -> None:
    await open_signoff(pilot)
    pilot.app.screen.query_one("#role-0", Input).focus()
    await pilot.press(*"Carol Comms")
    await settle(pilot)


async def press_go(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot)
    await pilot.press(*pilot.app.session.target.short[:4])
    await settle(pilot)


def _cutover_release(tmp: Path):  # noqa: ANN202
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
    return rel


def in_cutover(tmp: Path) -> CockpitApp:
    return _app(_cutover_release(tmp))


async def rolled_back(pilot: Pilot) -> None:
    """Layer-1 broke the availability page: the release owner rolled it back (the wizard of ctrl+r records
    through the cockpit's own session); the cockpit then shows the rolled-back release."""
    await settle(pilot)
    session = pilot.app.session
    await session.record(kinds.ROLLBACK_STARTED, {"rollback_ref": "v1.0.0", "scope": "all"})
    await session.record(kinds.FLAG_FLIPPED, {"flag": "MARKETPLACE_AVAILABILITY_ENABLED", "before": True,
                                              "after": False, "requested": False, "ok": True, "stage": "layer-1"})
    for step in ("flags", "deploy", "verify"):
        await session.record(kinds.ROLLBACK_STEP, {"step": step, "outcome": "done", "detail": "ok"})
    await session.record(kinds.ROLLBACK_FINISHED, {"outcome": "done", "elapsed_s": 118.0,
                                                   "note": "catalog mode restored"})
    pilot.app.view.publish()
    await settle(pilot)


async def highlight_layer1(pilot: Pilot) -> None:
    await settle(pilot)
    await cutover_drawn(pilot)
    table = pilot.app.screen.query_one("#stages", DataTable)
    table.move_cursor(row=table.get_row_index("layer-1"))
    await pilot.pause()


async def cutover_drawn(pilot: Pilot) -> None:
    """Until the cockpit has turned to the cutover and drawn its stages (later on a loaded machine)."""
    for _ in range(400):
        screen = pilot.app.screen
        if isinstance(screen, CutoverScreen) and screen.query("#stages") and \
                screen.query_one("#stages", DataTable).row_count:
            return
        await pilot.pause(0.05)


async def rolled_back_readiness(pilot: Pilot) -> None:
    await rolled_back(pilot)
    await pilot.press("1")
    await settle(pilot)


async def rolled_back_cutover(pilot: Pilot) -> None:
    await rolled_back(pilot)
    await highlight_layer1(pilot)


async def kill_layer1(pilot: Pilot) -> None:
    await highlight_layer1(pilot)
    await pilot.press("k")
    await settle(pilot)
    await pilot.press(*"availability page 500s")
    await settle(pilot)


LAYER_1_STEPS = ["tag", "deploy", "smoke", "announce", "soak", "flags"]


def procedure_release(tmp: Path) -> CockpitApp:
    """Layer-1 as a procedure with seed 004's release-day times: GO 27 minutes ago, layer-0 stable, layer-1
    started 10 minutes ago and its tag made (three minutes after its planned time); the deploy is next."""
    rel = scene_release(tmp)
    with_procedure(rel.scratch.runbook_path, layer1_steps(planned=True, soak="10m"))
    rel.runbook = load_runbook(rel.scratch.runbook_path)
    ev = evidence_for(rel.runbook)
    for d in ev:
        if d["kind"] == "manual" or d["id"] == "rollback-ref":
            d["status"], d["detail"] = "pass", "ticked by Ann Release: checked on staging" if d["kind"] == "manual" \
                else "v1.0.0 (1542d01) is an ancestor of the target"
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": ev}, minutes_ago=30)
    rel.add(kinds.SIGNOFF_RECORDED, {"release_owner": "Ann Release", "rollback_owner": "Bob Rollback",
                                     "rollback_ref": "v1.0.0", "rollback_sha": rel.scratch.shas["known_good"]},
            minutes_ago=28)
    rel.add(kinds.DECISION_GO, {"target_sha": rel.target_sha,
                                "plan": plan_at_go(rel.runbook, NOW - timedelta(minutes=27))}, minutes_ago=27)
    rel.add(kinds.FLAGS_SNAPSHOT, {"flags": {"MARKETPLACE_AVAILABILITY_ENABLED": False,
                                             "MARKETPLACE_REQUESTS_ENABLED": False}}, minutes_ago=27)
    rel.add(kinds.STAGE_STARTED, {"stage": "layer-0", "flags": []}, minutes_ago=25)
    rel.add(kinds.STAGE_STABLE, {"stage": "layer-0", "note": "health green"}, minutes_ago=15)
    rel.add(kinds.STAGE_STARTED, {"stage": "layer-1", "flags": ["MARKETPLACE_AVAILABILITY_ENABLED"],
                                  "steps": LAYER_1_STEPS}, minutes_ago=10)
    step = {"stage": "layer-1", "step": "tag", "kind": "tag"}
    rel.add(kinds.STEP_STARTED, {**step, "title": "Tag pre-marketplace-layer-1 on the release"}, minutes_ago=9)
    rel.add(kinds.STEP_FINISHED, {**step, "outcome": "done",
                                  "detail": f"pre-marketplace-layer-1 on {rel.target_sha[:7]}"}, minutes_ago=9)
    return _app(rel)


async def on_layer1(pilot: Pilot) -> None:
    for _ in range(100):  # the release opens after the first paint, then the cockpit turns to the cutover
        if isinstance(pilot.app.screen, CutoverScreen):
            break
        await pilot.pause(0.05)
    await highlight_layer1(pilot)


async def deploy_running(pilot: Pilot) -> None:
    """⏎ on the deploy, confirmed: its output shows as it comes (the script pauses between its steps)."""
    await on_layer1(pilot)
    with temp_env(DEMO_DEPLOY_STEP_SECONDS="30"):  # read when the script starts: it stays on its first step
        await pilot.press("enter")
        await pilot.pause()
        await pilot.click("#confirm")
        output = pilot.app.screen.query_one("#step-output", RichLog)
        for _ in range(200):
            if any("building image" in line.text for line in output.lines):
                break
            await pilot.pause(0.05)
    await pilot.pause()


async def deploy_failed(pilot: Pilot) -> None:
    """The deploy fails: its output, why, and what can be done (retry, skip with a reason, abort)."""
    await on_layer1(pilot)
    with temp_env(DEMO_DEPLOY_FAIL="1", DEMO_DEPLOY_STEP_SECONDS="0"):
        await pilot.press("enter")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
    await pilot.pause()


async def plan_against_actual(pilot: Pilot) -> None:
    await deploy_failed(pilot)
    await pilot.press("t")
    await settle(pilot)


async def open_help(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


# What `cockpit demo` hands the cockpit, fixed (its port and scratch folder change every run).
DEMO = DemoHints(url="http://127.0.0.1:8765", flags_url="http://127.0.0.1:8765/admin",
                 runbook="/tmp/cockpit-demo-x1y2z3/shop/demo.toml", scratch="/tmp/cockpit-demo-x1y2z3/shop",
                 removed_on_exit=True, commands=(
                     "curl -X POST http://127.0.0.1:8765/_demo/health/db -d '{\"status_code\": 503}'",
                     "cockpit check --config /tmp/cockpit-demo-x1y2z3/shop/demo.toml"))


def demo_help(tmp: Path) -> CockpitApp:
    rel = scene_release(tmp)
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": evidence_for(rel.runbook)}, minutes_ago=2)
    return _app(rel, demo=DEMO)


SCENES = [
    *at_both_sizes("cockpit-readiness-nogo", readiness_nogo, highlight_db, small_name="cockpit-readiness-80x24"),
    *at_both_sizes("cockpit-signoff", signed, open_signoff),
    *at_both_sizes("cockpit-signoff-roles", signed_with_comms_owner, open_signoff_with_roles),
    *at_both_sizes("cockpit-go-confirm", ready_for_go, press_go),
    *at_both_sizes("cockpit-cutover", in_cutover, highlight_layer1),
    *at_both_sizes("cockpit-kill-switch", in_cutover, kill_layer1),
    *at_both_sizes("cockpit-steps-running", procedure_release, deploy_running),
    *at_both_sizes("cockpit-step-failed", procedure_release, deploy_failed),
    *at_both_sizes("cockpit-timeline", procedure_release, plan_against_actual),
    *at_both_sizes("cockpit-rolled-back", in_cutover, rolled_back_readiness),
    *at_both_sizes("cockpit-rolled-back-cutover", in_cutover, rolled_back_cutover),
    *at_both_sizes("cockpit-help", signed, open_help),
    *at_both_sizes("cockpit-demo-help", demo_help, open_help),
]
