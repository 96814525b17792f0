"""After a rollback the whole cockpit shows the rolled-back release, and what its phase rules out
(sign-off, GO, NO-GO, starting a stage, marking it stable, closing the release) is disabled before
anyone tries it: the key bar dims it, the palette leaves it out, the key does nothing.

The cockpit is open on a release in cutover while the incident commander rolls it back from their
own session (the real rollback runner on the demo target); the cockpit then reads what was
recorded, as its live refresh does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.rollback import RollbackRunner, plan_for
from cockpit.core.session import ReleaseSession
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.screens.cutover import CutoverScreen
from cockpit.ui.screens.readiness import ReadinessScreen
from cockpit.ui.widgets.keybar import KeyBar
from tests.helpers.demo import Demo, in_cutover
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
BOB = Actor("Bob", "bob", "incident-laptop", "bob@example.com")
CLOSED = ["signoff", "go", "nogo", "start_stage", "run_step", "skip_step", "abort_stage", "stable", "done"]


async def settle(pilot: Pilot) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def read_what_others_wrote(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, CockpitApp) and app.session is not None
    await app.session.refresh()
    app.view.publish()
    await settle(pilot)


def states(screen: Screen) -> dict[str, bool | None]:
    """What the key bar draws for each action: True shown, None dimmed (check_action decides)."""
    bar = screen.query_one(KeyBar)
    return {a: bar.state(a) for a in CLOSED + ["kill", "watch", "retake", "help", "quit"]}


def palette(app: CockpitApp, screen: Screen) -> set[str]:
    """The commands the palette lists; a ruled-out one is only found by name, and says why."""
    return {c.title for c in app.get_system_commands(screen) if c.discover}


def not_now(app: CockpitApp, screen: Screen) -> dict[str, str]:
    return {c.title: c.help for c in app.get_system_commands(screen) if not c.discover}


def text(screen: Screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


@pytest.fixture
def log(demo: Demo, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    monkeypatch.setenv("DEMO_DEPLOY_STEP_SECONDS", "0")
    store = open_log(demo.runbook)
    yield store
    store.close()


@asynccontextmanager
async def ann_in_cutover(demo: Demo, log) -> AsyncIterator[tuple[CockpitApp, Pilot, CutoverScreen]]:  # noqa: ANN001
    """Ann's cockpit open on the demo release in its cutover (GO, layer-0 started)."""
    await in_cutover(demo.runbook, log, ANN)
    app = make_app(demo.runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        cutover = app.screen
        assert isinstance(cutover, CutoverScreen)
        yield app, pilot, cutover


async def test_a_rollback_made_elsewhere_closes_what_it_rules_out(demo: Demo, log) -> None:  # noqa: ANN001
    async with ann_in_cutover(demo, log) as (app, pilot, cutover):
        before = states(cutover)
        assert before["start_stage"] and before["stable"] and before["done"] and before["kill"]
        assert {"Start stage", "Mark stable", "Done"} <= palette(app, cutover)

        # Bob rolls the release back from his terminal: first the flags, the deploy still to come.
        bob = await ReleaseSession.attach(demo.runbook, log, "production", BOB)
        runner = RollbackRunner(bob, plan_for(bob), flag_backoff=0.01)
        await runner.begin()
        await runner.run_step("flags")
        await read_what_others_wrote(pilot)
        assert "ROLLING BACK" in text(cutover, "#release")
        banner = text(cutover, "#verdict")
        assert "ROLLING BACK" in banner and "Bob started rolling back the whole release" in banner
        assert "flags done" in banner and "ctrl+r opens the rollback to resume it" in banner
        during = states(cutover)
        assert all(during[a] is None for a in CLOSED), during
        assert during["kill"] and during["watch"] and during["help"] and during["quit"]

        await runner.run_step("deploy")
        await runner.run_step("verify")
        await runner.finish("done", "catalog mode restored")
        await read_what_others_wrote(pilot)
        assert "ROLLED BACK" in text(cutover, "#release")
        banner = text(cutover, "#verdict")
        assert "ROLLED BACK" in banner and "flags done, deploy done, verify done" in banner
        assert "Sign-off, GO, NO-GO and the stage actions are closed" in banner
        assert "rolled back" in str(cutover.query_one("#stages").get_cell("layer-0", "status"))
        after = states(cutover)
        assert all(after[a] is None for a in CLOSED), after
        shown = palette(app, cutover)
        assert not {"Sign off", "GO", "NO-GO", "Start stage", "Mark stable", "Done"} & shown, shown
        assert {"Kill switch", "Watch", "Re-take evidence", "Rollback"} <= shown
        why = not_now(app, cutover)
        assert why["GO"] == "Not now: the release is 'rolled back': sign-off, GO and NO-GO are recorded before GO"
        assert why["Start stage"].startswith("Not now: the release is 'rolled back'")
        go = next(c for c in app.get_system_commands(cutover) if c.title == "GO")
        go.callback()  # picked by name: it says why, and opens nothing
        await pilot.pause()
        assert app.screen is cutover and any(n.title == "Not now" for n in app._notifications)

        # The keys do nothing: no form or confirmation opens, nothing is refused after the fact.
        said = len(app._notifications)
        for key in ("f", "m", "D", "g", "s", "n"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is cutover, f"{key} opened {app.screen}"
        refused = [n.message for n in list(app._notifications)[said:] if n.severity != "information"]
        assert refused == []

        await pilot.press("1")  # readiness says the same, in place of a GO / NO-GO verdict
        await settle(pilot)
        readiness = app.screen
        assert isinstance(readiness, ReadinessScreen)
        banner = text(readiness, "#verdict")
        assert banner.lstrip().startswith("ROLLED BACK"), banner
        assert states(readiness)["go"] is None and readiness.query_one(KeyBar).state("tick") is None
        await pilot.press("space")
        await pilot.pause()
        assert app.screen is readiness


async def test_a_release_before_go_keeps_its_decisions_open(demo: Demo, log) -> None:  # noqa: ANN001
    app = make_app(demo.runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReadinessScreen)
        assert all(states(screen)[a] for a in ("signoff", "go", "nogo")), states(screen)
        assert "GO" in palette(app, screen) and "Sign off" in palette(app, screen)
        await pilot.press("g")  # GO stays a key that says why not, while the gate may still turn
        await pilot.pause()
        assert any(n.message.startswith("GO is not possible") for n in app._notifications)


async def test_a_stage_rolled_back_alone_leaves_the_release_in_its_cutover(demo: Demo, log) -> None:  # noqa: ANN001
    async with ann_in_cutover(demo, log) as (app, pilot, cutover):

        # Bob rolls back layer-0 alone (seed 001's partial rollback): while it runs, the incident holds the release.
        bob = await ReleaseSession.attach(demo.runbook, log, "production", BOB)
        runner = RollbackRunner(bob, plan_for(bob, stage="layer-0"), flag_backoff=0.01)
        await runner.begin()
        await runner.run_step("flags")
        await read_what_others_wrote(pilot)
        assert "ROLLING BACK" in text(cutover, "#verdict") and "Bob started rolling back stage layer-0" in text(
            cutover, "#verdict")
        assert all(states(cutover)[a] is None for a in CLOSED)

        for step in runner.pending:
            await runner.run_step(step)
        await runner.finish("done", "layer-0 off, the rest stays")
        await read_what_others_wrote(pilot)
        # Ended well: the stage says so, the release is in its cutover again with its actions open.
        assert "ROLLED BACK" not in text(cutover, "#verdict") and "CUTOVER" in text(cutover, "#release").upper()
        table = cutover.query_one("#stages")
        assert str(table.get_cell("layer-0", "status")) == "rolled back"
        assert str(table.get_cell("layer-0", "when")).startswith("rolled back ") and "by Bob" in str(
            table.get_cell("layer-0", "when"))
        after = states(cutover)
        assert after["start_stage"] and after["kill"], after
        assert "Start stage" in palette(app, cutover)
