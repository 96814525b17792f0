"""Driving the browser in tests: build the app on a store, and wait for its workers (no sleeps)."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerFailed

from cockpit.core.log.follow import follower_for
from cockpit.ui.browser import BrowserScreen, Query, Source, open_store
from cockpit.ui.browser.log_view import LogView
from cockpit.ui.browser_app import BrowserApp, make_browser_app


def app_for(location: dict[str, Any], *, description: str = "test log", spool: int = 0, query: Query = Query(),
            page_size: int = 50, capacity: int = 200, follow: bool = False) -> BrowserApp:
    """follow: the list follows the log as `cockpit log browse` does (off: nothing moves unless asked)."""
    reader = open_store(**location)
    source = Source(reader, description, lambda: spool, reader.close,
                    follow=(lambda: follower_for(reader)) if follow else None)
    return make_browser_app(source, query=query, page_size=page_size, capacity=capacity)


def _busy(app: Any) -> list[Any]:
    """The workers that end by themselves (following the log never does)."""
    return [w for w in app.workers if w.group != "follow"]


async def settle(pilot: Pilot) -> None:
    """Until no worker runs and the list wants nothing more (each page can ask for the next)."""
    app = pilot.app
    for _ in range(200):
        try:
            busy_workers = _busy(app)
            if busy_workers:  # (an empty list would mean every worker, the follower too)
                await app.workers.wait_for_complete(busy_workers)
        except (WorkerCancelled, WorkerFailed):
            pass  # superseded (exclusive) or failed: failures show as notifications, tests check those
        await pilot.pause()
        screen = app.screen
        views = screen.query(LogView) if isinstance(screen, BrowserScreen) else []
        busy = any(v.window.pending is not None or not v.loaded or not v.extent_known for v in views)
        if not busy and not any(w.is_running for w in _busy(app)):
            return
    raise AssertionError("the browser did not settle")


def view_of(pilot: Pilot) -> LogView:
    return pilot.app.screen.query_one(LogView)


def line_text(view: LogView, y: int) -> str:
    return view.render_line(y).text
