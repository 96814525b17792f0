"""The release owner's whole flow, driven by keys through Pilot against the demo target:
NO-GO with reasons → fix → sign off → GO → stage 0 stable → tick → flip stage 1 → health watched,
with every step in the log, in order, chain intact. Then quit and resume to the same screen."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from cockpit.core import kinds
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.release import Phase, StageStatus
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.widgets.checklist import Checklist
from cockpit.ui.browser.screen import BrowserScreen
from cockpit.ui.screens.cutover import CutoverScreen
from cockpit.ui.screens.rollback import RollbackScreen
from cockpit.ui.screens.signoff import SignOffScreen
from cockpit.ui.widgets.confirm import ConfirmScreen
from tests.helpers.demo import Demo
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")


async def settle(pilot) -> None:  # noqa: ANN001
    """Wait until every worker is done and the screen has caught up."""
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


def move_to(app: CockpitApp, table_id: str, key: str) -> None:
    table = app.screen.query_one(table_id)
    if isinstance(table, Checklist):
        table.move_to(key)
    else:
        table.move_cursor(row=table.get_row_index(key))


async def type_into(pilot, selector: str, text: str) -> None:  # noqa: ANN001
    pilot.app.screen.query_one(selector, Input).focus()
    await pilot.press(*list(text))


async def test_release_owner_flow_and_resume(demo: Demo) -> None:
    demo.target.set_health("db", status_code=503, body={"status": "down", "error": "[bold red]pool exhausted[/]"})
    log = open_log(demo.runbook)
    app = make_app(demo.runbook, log, actor=ANN, refresh_every=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        session = app.session
        assert session is not None
        verdict = session.verdict()
        assert not verdict.go
        assert any("'Database health' failed" in r and "503" in r for r in verdict.reasons), verdict.reasons

        demo.target.set_health("db", status_code=200)
        await pilot.press("r")
        await settle(pilot)
        assert session.verdict().go

        await pilot.press("g")  # refused: no sign-off yet
        await settle(pilot)
        assert session.state.decision is None

        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SignOffScreen)
        await type_into(pilot, "#rollback-owner", "Bob")
        await type_into(pilot, "#rollback-ref", "v1.0.0")
        await settle(pilot)
        await pilot.click("#ok")
        await settle(pilot)
        assert session.state.signoff.rollback_owner == "Bob"
        assert session.state.signoff.rollback_sha == demo.scratch.shas["known_good"]

        assert session.verdict(require_signoff=True).go, session.verdict(require_signoff=True).reasons
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*list(session.target.short), "enter")
        await settle(pilot)
        assert session.state.phase is Phase.GO
        assert app.current_mode == "cutover"

        move_to(app, "#stages", "layer-0")
        await pilot.press("f")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert session.state.stage("layer-0").status is StageStatus.STARTED
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*list("health green for 5 min"), "enter")
        await settle(pilot)
        assert session.state.stage("layer-0").status is StageStatus.STABLE

        move_to(app, "#stages", "layer-1")
        await pilot.press("f")  # refused: the manual item of layer-1 is not ticked
        await settle(pilot)
        assert session.state.stage("layer-1").status is StageStatus.PENDING

        await pilot.press("1")
        await settle(pilot)
        move_to(app, "#checklist", "overlap-tested")
        await pilot.press("space")
        await settle(pilot)
        await pilot.press(*list("tested on staging"), "enter")
        await settle(pilot)
        assert session.state.ticks["overlap-tested"].note == "tested on staging"

        await pilot.press("2")
        await settle(pilot)
        move_to(app, "#stages", "layer-1")
        await pilot.press("f")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert session.state.stage("layer-1").status is StageStatus.STARTED
        assert demo.target.flags.get("MARKETPLACE_AVAILABILITY_ENABLED") is True
        flips = [f for f in session.state.flips if f.flag == "MARKETPLACE_AVAILABILITY_ENABLED"]
        assert flips and flips[-1].ok and flips[-1].before is False and flips[-1].after is True
        release_id = session.release_id

        # The auditor's browser opens over the cockpit, read-only, and escape comes back.
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert isinstance(app.screen, BrowserScreen)
        assert app.screen.total == len(list(log.entries()))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CutoverScreen)

        # The incident commander's wizard opens from the cockpit: its first step restores the flags.
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, RollbackScreen)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.click("#confirm")
        await settle(pilot)
        assert demo.target.flags.get("MARKETPLACE_AVAILABILITY_ENABLED") is False
        await pilot.press("q")
        await settle(pilot)
        assert session.state.phase is Phase.ROLLING_BACK  # the cockpit re-read the log on return

    entries = list(log.entries())
    mine = [e.kind for e in entries if e.release_id == release_id]
    # GO is all or nothing: its snapshot and tag are recorded before the decision itself.
    expected_order = [kinds.SESSION_OPENED, kinds.EVIDENCE_TAKEN, kinds.SIGNOFF_RECORDED, kinds.FLAGS_SNAPSHOT,
                      kinds.TAG_CREATED, kinds.DECISION_GO, kinds.STAGE_STARTED, kinds.STAGE_STABLE,
                      kinds.ITEM_TICKED, kinds.TAG_CREATED, kinds.STAGE_STARTED, kinds.FLAG_FLIPPED,
                      kinds.EVIDENCE_TAKEN, kinds.ROLLBACK_STARTED, kinds.FLAG_FLIPPED, kinds.ROLLBACK_STEP]
    it = iter(mine)
    assert all(k in it for k in expected_order), mine  # each step appears, in this order
    assert log.verify().ok
    assert "pre-marketplace-layer-0" in demo.scratch.git("tag", "--list")

    # Resume: a new cockpit on the same log opens the same release, mid-rollback, same stages.
    app2 = make_app(demo.runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app2.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app2.session.release_id == release_id
        assert app2.session.state.phase is Phase.ROLLING_BACK
        assert app2.session.state.stage("layer-0").status is StageStatus.STABLE
        assert app2.session.state.stage("layer-1").status is StageStatus.STARTED
        table = app2.screen.query_one("#stages", DataTable)
        assert str(table.get_cell("layer-1", "status")) == "rolling back"  # no row looks live mid-rollback
        assert str(table.get_cell("layer-1", "when")).startswith("was started until ")
    log.close()
