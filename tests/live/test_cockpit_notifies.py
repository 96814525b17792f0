"""An open cockpit posts the team's notifications itself, as its entries are appended (not only the
headless commands): a NO-GO recorded in the TUI reaches the webhook while the cockpit stays open."""

from __future__ import annotations

import time

from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.runbook.config import load_runbook
from cockpit.ui.app import make_app
from tests.live.conftest import Demo
from tests.log.webhook import Webhook
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop-a", "ann@example.com")


async def test_the_open_cockpit_delivers_what_it_records(demo: Demo) -> None:
    hook = Webhook()
    try:
        path = demo.scratch.runbook_path
        path.write_text(path.read_text(encoding="utf-8") + f'\n[[notify]]\nurl = "{hook.url}"\n', encoding="utf-8")
        runbook = load_runbook(path)
        app = make_app(runbook, open_log(runbook), actor=ANN, refresh_every=None, take_on_open=False)
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + 30
            while app.session is None and time.monotonic() < deadline:
                await pilot.pause(0.05)
            await workers_done(app)
            await app.session.decide_nogo("db pool exhausted")
            deadline = time.monotonic() + 10
            while not hook.requests and time.monotonic() < deadline:
                await pilot.pause(0.1)
        assert [r["entry"]["kind"] for r in hook.requests] == ["decision.nogo"]
        assert "Ann" in hook.requests[0]["text"] and "db pool exhausted" in hook.requests[0]["text"]
    finally:
        hook.close()
