"""The sign-off form asks for every role the runbook names (seed 003's Incident Comms Owner beside the two
owners), records them with the signer's identity, and opens again with them filled in; the gate judges
them (a distinct group held by one person is NO-GO)."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, Label

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.runbook.config import load_runbook
from cockpit.ui.app import make_app
from cockpit.ui.screens.signoff import SignOffScreen
from tests.helpers.demo import Demo
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
COMMS = "Incident Comms Owner"
ROLES = ('roles = ["Release Owner", "Rollback Owner", "Incident Comms Owner"]\n'
         'distinct_roles = [["Release Owner", "Incident Comms Owner"]]\n')


async def settle(pilot: Pilot) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def fill(pilot: Pilot, selector: str, text: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.value = ""
    field.focus()
    await pilot.press(*text)


async def test_the_signoff_names_every_role_of_the_runbook(demo: Demo) -> None:
    path = demo.scratch.runbook_path
    path.write_text(path.read_text(encoding="utf-8").replace("[log]", ROLES + "\n[log]", 1), encoding="utf-8")
    runbook = load_runbook(path)
    assert runbook.release.roles[2] == COMMS
    log = open_log(runbook)
    app = make_app(runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, SignOffScreen)
        assert COMMS in [str(label.render()) for label in form.query(Label)]
        assert form.query_one("#release-owner", Input).value == "Ann"
        await fill(pilot, "#rollback-owner", "Bob")
        await fill(pilot, "#role-0", "ann")  # the Release Owner again: recorded, and the gate says why not
        await fill(pilot, "#rollback-ref", "v1.0.0")
        await settle(pilot)
        await pilot.click("#ok")
        await settle(pilot)
        session = app.session
        assert session is not None and session.state.signoff is not None
        assert session.state.signoff.named(COMMS) == "ann"
        reasons = session.verdict(require_signoff=True).reasons
        assert any("Release Owner" in r and COMMS in r for r in reasons), reasons

        # Opened again: every role as recorded; Carol takes the comms.
        await pilot.press("s")
        await settle(pilot)
        assert app.screen.query_one("#role-0", Input).value == "ann"
        assert app.screen.query_one("#rollback-owner", Input).value == "Bob"
        await fill(pilot, "#role-0", "Carol")
        await settle(pilot)
        await pilot.click("#ok")
        await settle(pilot)
        assert session.state.signoff.named(COMMS) == "Carol"
        assert not any(COMMS in r for r in session.verdict(require_signoff=True).reasons)

    signed = [e for e in log.entries(LogFilter(kind=kinds.SIGNOFF_RECORDED))]
    assert [e.payload["roles"] for e in signed] == [
        {"Release Owner": "Ann", "Rollback Owner": "Bob", COMMS: "ann"},
        {"Release Owner": "Ann", "Rollback Owner": "Bob", COMMS: "Carol"}]
    assert all(e.actor.git_email == "ann@example.com" for e in signed)
    log.close()
