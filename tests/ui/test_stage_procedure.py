"""A stage's procedure run from the cutover screen's keys, against the demo target, its real git checkout
and a real SQLite log: each step said before it runs and confirmed, a deploy's output streamed into the
screen, a failed step retried, a manual step confirmed with a note, a soak counting down, a step skipped
with a reason, the stage aborted; the release-day plan against actual with what is late."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Static

from cockpit.core import kinds
from cockpit.core.evidence import utcnow
from cockpit.core.log.base import LogFilter, ReleaseLog
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.release import StageStatus
from cockpit.runbook.config import Runbook, load_runbook
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.screens.cutover import CutoverScreen
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.widgets.confirm import ConfirmScreen
from cockpit.ui.widgets.keybar import KeyBar
from tests.helpers.demo import Demo, in_cutover
from tests.ui.fixtures import workers_done
from tests.ui.procedure import layer1_steps, with_procedure

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
FLAG = "MARKETPLACE_AVAILABILITY_ENABLED"


async def settle(pilot: Pilot) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def on_layer1(pilot: Pilot) -> CutoverScreen:
    """The cockpit turns to the cutover once the release in flight is open; layer-1 highlighted."""
    for _ in range(200):
        if isinstance(pilot.app.screen, CutoverScreen):
            break
        await pilot.pause(0.05)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CutoverScreen)
    table = screen.query_one("#stages", DataTable)
    table.move_cursor(row=table.get_row_index("layer-1"))
    await pilot.pause()
    return screen


def shown(screen: CutoverScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def output(screen: CutoverScreen) -> str:
    """The output pane's text, its wrapped lines joined again (words are wrapped at spaces)."""
    return " ".join(" ".join(line.text for line in screen.query_one("#step-output", RichLog).lines).split())


def keys(screen: CutoverScreen) -> dict[str, bool | None]:
    bar = screen.query_one(KeyBar)
    return {a: bar.state(a) for a in ("run_step", "skip_step", "abort_stage")}


def steps_of(app: CockpitApp) -> dict[str, str]:
    assert app.session is not None
    return dict(app.session.state.stage("layer-1").steps)


async def confirm(pilot: Pilot, label: str = "Run") -> str:
    """⏎ on the next step, then its confirmation; returns what the confirmation said."""
    await pilot.press("enter")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, ConfirmScreen), dialog
    said = str(dialog.query_one(".body", Static).render())
    assert str(dialog.query_one("#confirm").label) == label
    await pilot.click("#confirm")
    await settle(pilot)
    return said


async def prompt(pilot: Pilot, key: str, answer: str) -> str:
    """`key` opens a prompt; `answer` is typed into it. Returns what the prompt asked."""
    await pilot.press(key)
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, PromptScreen), dialog
    asked = str(dialog.query_one(".question", Static).render())
    await pilot.press(*answer, "enter")
    await settle(pilot)
    return asked


async def started_layer1(demo: Demo, steps: str, **app_kw) -> tuple[Runbook, ReleaseLog, CockpitApp]:  # noqa: ANN003
    """The demo release at GO, layer-0 stable, layer-1 given its procedure; the cockpit open on it."""
    with_procedure(demo.scratch.runbook_path, steps)
    runbook = load_runbook(demo.scratch.runbook_path)
    log = open_log(runbook)
    session = await in_cutover(runbook, log, ANN, stage="layer-0")
    await session.mark_stable("layer-0", "indexes in")
    return runbook, log, make_app(runbook, log, actor=ANN, refresh_every=None, take_on_open=False, **app_kw)


@pytest.fixture(autouse=True)
def quick_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_DEPLOY_STEP_SECONDS", "0")


async def test_a_stage_procedure_runs_step_by_step_from_the_keys(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    runbook, log, app = await started_layer1(demo, layer1_steps(soak="3s"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_layer1(pilot)
        session = app.session
        assert session is not None
        sha = session.target.sha
        assert "6 steps. f starts the stage" in shown(screen, "#step-next")
        assert keys(screen) == {"run_step": None, "skip_step": None, "abort_stage": None}  # not started yet

        # Starting the stage says its steps and runs none of them: the procedure is left to ⏎.
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one(".body", Static).render())
        assert "1. tag: tag pre-marketplace-layer-1 on" in body and "6. flags: switch " + FLAG + " on" in body
        await pilot.click("#confirm")
        await settle(pilot)
        assert session.state.stage("layer-1").status is StageStatus.STARTED and steps_of(app) == {}
        assert not demo.target.flags.get(FLAG)
        assert keys(screen) == {"run_step": True, "skip_step": True, "abort_stage": True}

        # Each step is said before it runs, in the screen and in its confirmation.
        assert f"Next: 1. tag · tag pre-marketplace-layer-1 on {sha[:7]}" in shown(screen, "#step-next")
        said = await confirm(pilot)
        assert said.startswith(f"tag pre-marketplace-layer-1 on {sha[:7]}")
        assert steps_of(app) == {"tag": "done"}
        assert demo.scratch.git("rev-parse", "pre-marketplace-layer-1^{commit}") == sha

        # The deploy fails: its output streamed into the screen, why, and what can be done.
        monkeypatch.setenv("DEMO_DEPLOY_FAIL", "1")
        said = await confirm(pilot)
        assert said.startswith(f"run bash ./scripts/deploy-prod-from-ref.sh {sha} . in ")
        assert steps_of(app)["deploy"] == "failed"
        out = output(screen)
        assert "── layer-1 · 2. deploy: bash ./scripts/deploy-prod-from-ref.sh '{sha}' . ──" in out
        assert f"==> deploying {sha} ({sha})" in out and "deploy: rollout failed (DEMO_DEPLOY_FAIL=1)" in out
        assert "✘ deploy: FAILED — exit 1, expected 0" in out
        assert "✘ 2. deploy FAILED — exit 1, expected 0" in shown(screen, "#step-next")
        assert "⏎ retry · x skip (with a reason) · a abort the stage" in shown(screen, "#step-next")
        assert "✘ 2. deploy" in shown(screen, "#steps") and "failed" in shown(screen, "#steps")

        # ⏎ again retries it.
        monkeypatch.delenv("DEMO_DEPLOY_FAIL")
        await confirm(pilot, "Retry")
        assert steps_of(app)["deploy"] == "done" and f"==> deployed {sha}" in output(screen)
        assert (demo.scratch.checkout / ".deploy" / "deployed-sha").read_text().strip() == sha

        # The smoke after the tag: the stage's own checks, re-taken now.
        await confirm(pilot)
        assert steps_of(app)["smoke"] == "done"
        assert "✔ layer-1-tag: pass" in output(screen) and "✔ health-availability: pass" in output(screen)

        # A manual step asks for the person's note instead of a confirmation.
        assert "Release Owner: Announce layer 1 in #releases (confirmed with a note)" in shown(screen, "#step-next")
        asked = await prompt(pilot, "enter", "posted in #releases at 14:02")
        assert "What was done, and where is the proof?" in asked
        assert steps_of(app)["announce"] == "done"

        # The soak runs without a confirmation (confirm = false) and shows its time left; leaving asks first.
        await pilot.press("enter")
        for _ in range(100):
            if steps_of(app).get("soak") == "started":
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        screen.render_state()
        assert " left" in shown(screen, "#steps") and "Running 5. soak" in shown(screen, "#step-next")
        assert keys(screen) == {"run_step": None, "skip_step": None, "abort_stage": None}
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and app.is_running
        await pilot.press("escape")
        await settle(pilot)
        assert steps_of(app)["soak"] == "done"

        # The flag comes last.
        assert not demo.target.flags.get(FLAG)
        await confirm(pilot)
        assert steps_of(app)["flags"] == "done" and demo.target.flags.get(FLAG) is True
        assert "Every step is done" in shown(screen, "#step-next")
        assert keys(screen)["run_step"] is None

        await prompt(pilot, "m", "availability dashboards green")
        assert session.state.stage("layer-1").status is StageStatus.STABLE

    steps = [(e.kind, e.payload["step"], e.payload.get("outcome")) for e in
             log.entries(LogFilter(release_id=session.release_id, kind="step."))]
    assert steps == [
        (kinds.STEP_STARTED, "tag", None), (kinds.STEP_FINISHED, "tag", "done"),
        (kinds.STEP_STARTED, "deploy", None), (kinds.STEP_FINISHED, "deploy", "failed"),
        (kinds.STEP_STARTED, "deploy", None), (kinds.STEP_FINISHED, "deploy", "done"),
        (kinds.STEP_STARTED, "smoke", None), (kinds.STEP_FINISHED, "smoke", "done"),
        (kinds.STEP_STARTED, "announce", None), (kinds.STEP_FINISHED, "announce", "done"),
        (kinds.STEP_STARTED, "soak", None), (kinds.STEP_FINISHED, "soak", "done"),
        (kinds.STEP_STARTED, "flags", None), (kinds.STEP_FINISHED, "flags", "done")]
    note = [e.payload for e in log.entries(LogFilter(kind=kinds.STEP_FINISHED)) if e.payload["step"] == "announce"]
    assert note[0]["note"] == "posted in #releases at 14:02" and note[0]["detail"].startswith("confirmed by Ann")
    assert log.verify().ok
    log.close()


async def test_a_step_is_skipped_with_a_reason_and_the_stage_aborted(demo: Demo,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runbook, log, app = await started_layer1(demo, layer1_steps())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_layer1(pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)

        # Skipping needs a reason: an empty one says what is wanted and skips nothing.
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen) and app.screen.query_one("#wanted").display
        await pilot.press(*"tagged by the release train already", "enter")
        await settle(pilot)
        assert steps_of(app) == {"tag": "skipped"}
        assert "↷ 1. tag" in shown(screen, "#steps")
        assert "↷ tag: SKIPPED — tagged by the release train already" in output(screen)

        monkeypatch.setenv("DEMO_DEPLOY_FAIL", "1")
        await confirm(pilot)
        assert steps_of(app)["deploy"] == "failed"

        # Abort: a reason, then a confirmation that says what it does.
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"deploy keeps failing", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one(".body", Static).render())
        assert "layer-1 stops where it is" in body and "Reason: deploy keeps failing" in body
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.session is not None and app.session.state.stage("layer-1").status is StageStatus.ABORTED
        assert str(screen.query_one("#stages", DataTable).get_cell("layer-1", "status")) == "aborted"
        assert "Aborted: 6 steps. f starts the stage" in shown(screen, "#step-next")
        assert keys(screen) == {"run_step": None, "skip_step": None, "abort_stage": None}
        release_id = app.session.release_id

    skipped = [e.payload for e in log.entries(LogFilter(kind=kinds.STEP_FINISHED)) if e.payload["step"] == "tag"]
    assert skipped[0]["outcome"] == "skipped" and skipped[0]["reason"] == "tagged by the release train already"
    aborted = list(log.entries(LogFilter(release_id=release_id, kind=kinds.STAGE_ABORTED)))
    assert [(e.payload["stage"], e.payload["reason"]) for e in aborted] == [("layer-1", "deploy keeps failing")]
    assert log.verify().ok
    log.close()


async def test_the_timeline_shows_planned_against_actual_and_what_is_late(demo: Demo) -> None:
    """The plan is fixed at GO; the cockpit opened an hour later finds every planned step late."""
    def an_hour_later() -> datetime:
        return utcnow() + timedelta(hours=1)

    runbook, log, app = await started_layer1(demo, layer1_steps(planned=True), clock=an_hour_later)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_layer1(pilot)
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        await confirm(pilot)  # the tag, about 45 minutes after its planned time
        assert "late" in shown(screen, "#steps")
        await pilot.press("t")
        await settle(pilot)
        assert not screen.query_one("#cut-body").display
        console = Console(width=78, file=io.StringIO(), record=True)
        console.print(screen.query_one("#timeline-body", Static).content)
        plan = console.export_text()
        assert "Release-day plan" in plan and "5 late" in plan, plan
        lines = {line.split()[1]: line for line in plan.splitlines() if line.strip().startswith("layer-1")}
        assert set(lines) == {"tag", "deploy", "smoke", "announce", "soak", "flags"}
        assert " done " in lines["tag"] and "pending" in lines["deploy"] and "--:--" in lines["soak"]
        await pilot.press("t")
        await pilot.pause()
        assert screen.query_one("#cut-body").display
    log.close()
