"""Driving the browser in tests: build the app on a store, and wait for its workers (no sleeps)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from cockpit.ui.browser import BrowserScreen, Query, Source, open_store
from cockpit.ui.browser.log_view import LogView
from cockpit.ui.browser_app import BrowserApp, make_browser_app


def app_for(location: dict[str, Any], *, description: str = "test log", spool: int = 0, query: Query = Query(),
            page_size: int = 50, capacity: int = 200) -> BrowserApp:
    reader = open_store(**location)
    return make_browser_app(Source(reader, description, lambda: spool, reader.close), query=query,
                            page_size=page_size, capacity=capacity)


async def settle(pilot: Pilot) -> None:
    """Until no worker runs and the list wants nothing more (each page can ask for the next)."""
    app = pilot.app
    for _ in range(200):
        try:
            await app.workers.wait_for_complete()
        except (WorkerCancelled, WorkerFailed):
            pass  # superseded (exclusive) or failed: failures show as notifications, tests check those
        await pilot.pause()
        screen = app.screen
        views = screen.query(LogView) if isinstance(screen, BrowserScreen) else []
        busy = any(v.window.pending is not None or not v.loaded or not v.extent_known for v in views)
        if not busy and not any(w.is_running for w in app.workers):
            return
    raise AssertionError("the browser did not settle")


def view_of(pilot: Pilot) -> LogView:
    return pilot.app.screen.query_one(LogView)


def line_text(view: LogView, y: int) -> str:
    return view.render_line(y).text
