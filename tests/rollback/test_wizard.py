"""Pilot tests of the rollback wizard: real keys, real demo target, real git checkout, real SQLite log;
the default plan and one the runbook declares (with a manual step)."""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot
from textual.widgets import RichLog, Static

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.rollback import RollbackRunner, plan_for
from cockpit.core.rollback.headless import HeadlessOutcome, run_headless
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import load_runbook
from cockpit.ui.rollback_app import make_rollback_app
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.screens.rollback import RollbackScreen
from cockpit.ui.widgets.confirm import ConfirmScreen
from cockpit.ui.widgets.keybar import KeyBar
from tests.rollback.conftest import Demo
from tests.rollback.release import BOB, LAYER_FLAGS, go_release
from tests.rollback.test_runner import deployed_sha
from tests.ui.fixtures import workers_done

AVAIL = LAYER_FLAGS["layer-1"]


def app_for(demo: Demo, **kw):  # type: ignore[no-untyped-def]
    return make_rollback_app(demo.runbook, demo.log, "production", BOB, flag_backoff=0.01, tick_seconds=0, **kw)


async def settle(pilot: Pilot) -> None:
    """Every worker done but the log follower, which runs as long as the wizard."""
    for _ in range(2):
        await workers_done(pilot.app)
        await pilot.pause()


def wizard(pilot: Pilot) -> RollbackScreen:
    s = pilot.app.screen_stack[1]
    assert isinstance(s, RollbackScreen)
    return s


def text_of(pilot: Pilot, sel: str) -> str:
    return str(wizard(pilot).query_one(sel, Static).render())


def output(pilot: Pilot) -> str:
    return "\n".join(line.text for line in wizard(pilot).query_one("#rb-output", RichLog).lines)


def keys(pilot: Pilot) -> dict[str, bool | None]:
    """What the wizard's key bar draws for each of its keys (None: dimmed)."""
    bar = wizard(pilot).query_one(KeyBar)
    return {a: bar.state(a) for a in ("run", "skip", "abort", "leave")}


async def confirm_step(pilot: Pilot) -> None:
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmScreen)
    await pilot.click("#confirm")
    await settle(pilot)


def test_wizard_full_rollback(demo: Demo, released: ReleaseSession) -> None:
    async def go() -> None:
        app = app_for(demo)
        async with app.run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            facts = text_of(pilot, "#rb-facts")
            assert "v1.0.0" in facts and "bob" in facts and AVAIL in facts and "Snapshot at GO" in facts
            assert "MARKETPLACE_AVAILABILITY_ENABLED → OFF" in text_of(pilot, "#rb-detail")  # shown before it runs
            assert keys(pilot) == {"run": True, "skip": True, "abort": True, "leave": True}
            # Cancelling the confirmation does nothing: nothing is logged, no flag moves.
            await pilot.press("enter")
            await pilot.pause()
            await pilot.click("#cancel")
            await settle(pilot)
            assert demo.log.count(LogFilter(kind=kinds.ROLLBACK_STARTED)) == 0 and demo.target.flags.get(AVAIL)
            await confirm_step(pilot)   # flags
            assert wizard(pilot).status["flags"] == "done" and not demo.target.flags.get(AVAIL)
            assert f"✔ {AVAIL}: ON → OFF" in output(pilot)
            assert wizard(pilot).current == "deploy"
            await confirm_step(pilot)   # deploy, output streamed into the screen
            assert "==> deployed " + demo.scratch.shas["known_good"] in output(pilot)
            await confirm_step(pilot)   # verify
            assert "✔ smoke-sso: pass" in output(pilot)
            assert wizard(pilot).current == "close"
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press(*"catalog mode restored")
            await pilot.press("enter")
            await settle(pilot)
            assert wizard(pilot).outcome == "done"
            assert "Rollback DONE" in text_of(pilot, "#rb-detail")
            # Closed: run, skip and abort show disabled in the key bar (and do nothing); q still leaves.
            assert keys(pilot) == {"run": None, "skip": None, "abort": None, "leave": True}
            await pilot.press("a")
            await pilot.pause()
            assert pilot.app.screen is wizard(pilot)
            await pilot.press("q")
            await pilot.pause()
        assert app.return_value == "done"

    asyncio.run(go())
    assert deployed_sha(demo) == demo.scratch.shas["known_good"]
    steps = [(e.payload["step"], e.payload["outcome"]) for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP))]
    assert steps == [("flags", "done"), ("deploy", "done"), ("verify", "done")]
    fin = list(demo.log.entries(LogFilter(kind=kinds.ROLLBACK_FINISHED)))[-1].payload
    assert fin["outcome"] == "done" and fin["note"] == "catalog mode restored"


def test_wizard_failed_step_offers_retry_skip_abort(demo: Demo, released: ReleaseSession,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    async def go() -> None:
        async with app_for(demo).run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            await confirm_step(pilot)  # flags
            monkeypatch.setenv("DEMO_DEPLOY_FAIL", "1")
            await confirm_step(pilot)  # deploy fails
            w = wizard(pilot)
            assert w.status["deploy"] == "failed" and w.current == "deploy"  # it stays: never continues
            assert "FAILED" in text_of(pilot, "#rb-status") and "enter: retry" in text_of(pilot, "#rb-detail")
            assert "deploy: rollout failed (DEMO_DEPLOY_FAIL=1)" in output(pilot)
            monkeypatch.delenv("DEMO_DEPLOY_FAIL")
            await pilot.press("enter")
            await pilot.pause()
            assert "Retry" in str(pilot.app.screen.query_one("#confirm").label)
            await pilot.click("#confirm")
            await settle(pilot)
            assert w.status["deploy"] == "done" and w.current == "verify"
            # skip needs a reason
            await pilot.press("s")
            await pilot.pause()
            assert pilot.app.screen.query_one("#ok").disabled
            await pilot.press(*"checked by hand")
            await pilot.press("enter")
            await settle(pilot)
            assert w.status["verify"] == "skipped" and w.current == "close"
            await pilot.press("a")
            await pilot.pause()
            await pilot.press(*"handing over")
            await pilot.press("enter")
            await settle(pilot)
            assert w.outcome == "aborted"

    asyncio.run(go())
    steps = [(e.payload["step"], e.payload["outcome"]) for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP))]
    assert steps == [("flags", "done"), ("deploy", "failed"), ("deploy", "done"), ("verify", "skipped")]
    fin = list(demo.log.entries(LogFilter(kind=kinds.ROLLBACK_FINISHED)))[-1].payload
    assert (fin["outcome"], fin["note"]) == ("aborted", "handing over")


def test_wizard_resumes_and_refuses_clearly(demo: Demo) -> None:
    async def nothing() -> None:
        async with app_for(demo).run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            assert "Nothing to roll back" in text_of(pilot, "#rb-facts")
            await pilot.press("enter")  # no crash, nothing happens
            await pilot.pause()

    asyncio.run(nothing())
    asyncio.run(go_release(demo.runbook, demo.log, rollback_ref=None))

    async def no_ref() -> None:
        async with app_for(demo).run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            assert "NONE RECORDED" in text_of(pilot, "#rb-facts")
            await confirm_step(pilot)  # flags still allowed
            assert wizard(pilot).status["flags"] == "done"
            assert "Cannot redeploy" in text_of(pilot, "#rb-detail")
            # the cockpit "dies" here: leave without closing

    asyncio.run(no_ref())

    async def resumed() -> None:
        async with app_for(demo).run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            w = wizard(pilot)
            assert w.status["flags"] == "done" and w.current == "deploy"
            assert "Resuming" in output(pilot)

    asyncio.run(resumed())


DECLARED = '''
[[rollback.steps]]
id = "restart"
kind = "command"
run = ["bash", "-c", "echo restarted $0 at $1", "web", "{short_sha}"]

[[rollback.steps]]
id = "netlify"
kind = "manual"
title = "Netlify: the frontend's previous deploy"
instruction = "Netlify: Deploys → the previous deploy → Rollback to this deploy"
who = "Rollback Owner"
'''


def test_wizard_runs_the_declared_steps_and_asks_a_person_for_the_manual_one(demo: Demo) -> None:
    """Seed 002's rollback as the runbook declares it: after the flags, its own steps — a command (streamed),
    a manual step done in Netlify and confirmed with the person's note — then verify."""
    path = demo.scratch.runbook_path
    path.write_text(path.read_text(encoding="utf-8") + DECLARED, encoding="utf-8")
    runbook = load_runbook(path)
    asyncio.run(go_release(runbook, demo.log))
    short = demo.scratch.shas["known_good"][:7]

    async def go() -> None:
        app = make_rollback_app(runbook, demo.log, "production", BOB, flag_backoff=0.01, tick_seconds=0)
        async with app.run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            w = wizard(pilot)
            assert w.runner is not None and w.runner.plan.steps == ("flags", "restart", "netlify", "verify")
            listed = text_of(pilot, "#rb-steps")
            assert "2. run bash -c" in listed and "3. Netlify: the frontend's previous deploy" in listed
            await confirm_step(pilot)  # flags
            # An untitled declared step is named by what it does, said before it runs.
            assert f"run bash -c 'echo restarted $0 at $1' web {short} in " in text_of(pilot, "#rb-detail")
            await confirm_step(pilot)  # restart: its output streamed
            assert f"restarted web at {short}" in output(pilot) and "restart: DONE — exit code 0" in output(pilot)
            assert w.current == "netlify"
            detail = text_of(pilot, "#rb-detail")
            assert "Rollback Owner: Netlify: Deploys → the previous deploy → Rollback to this deploy" in detail
            assert "enter: confirm it with a note" in detail
            # The manual step asks for the note, not a confirmation; an empty note records nothing.
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(pilot.app.screen, PromptScreen)
            assert pilot.app.screen.query_one("#ok").disabled
            await pilot.press(*"rolled back in Netlify: deploy #41 is live", "enter")
            await settle(pilot)
            assert w.status["netlify"] == "done" and w.current == "verify"
            await confirm_step(pilot)  # verify
            assert w.current == "close"

    asyncio.run(go())
    steps = [(e.payload["step"], e.payload["outcome"]) for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP))]
    assert steps == [("flags", "done"), ("restart", "done"), ("netlify", "done"), ("verify", "done")]
    manual = [e.payload for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP)) if e.payload["step"] == "netlify"]
    assert manual[0]["note"] == "rolled back in Netlify: deploy #41 is live" and manual[0]["who"] == "Rollback Owner"


def test_a_headless_rollback_waiting_at_its_manual_step_is_taken_up_in_the_wizard_at_that_step(demo: Demo) -> None:
    """The incident commander's script ran the rollback headless and it waits for the Netlify click: the
    wizard opened next resumes there — the flags and the restart are not done again."""
    path = demo.scratch.runbook_path
    path.write_text(path.read_text(encoding="utf-8") + DECLARED, encoding="utf-8")
    runbook = load_runbook(path)

    async def headless() -> HeadlessOutcome:
        session = await go_release(runbook, demo.log)
        runner = RollbackRunner(session, plan_for(session), flag_backoff=0.01)
        return await run_headless(runner, out=lambda line: None)

    result = asyncio.run(headless())
    assert (result.outcome, result.exit_code, result.waiting) == ("waiting", 3, "netlify")

    async def go() -> None:
        app = make_rollback_app(runbook, demo.log, "production", BOB, flag_backoff=0.01, tick_seconds=0)
        async with app.run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            w = wizard(pilot)
            assert (w.status["flags"], w.status["restart"], w.current) == ("done", "done", "netlify")
            assert "Resuming" in output(pilot)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(pilot.app.screen, PromptScreen)
            await pilot.press(*"deploy #41 live in Netlify", "enter")
            await settle(pilot)
            assert w.status["netlify"] == "done" and w.current == "verify"

    asyncio.run(go())
    steps = [(e.payload["step"], e.payload["outcome"]) for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP))]
    assert steps == [("flags", "done"), ("restart", "done"), ("netlify", "waiting"), ("netlify", "done")]
