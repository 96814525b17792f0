"""The browser follows the log live: entries appended by another process appear within a second, on
SQLite and PostgreSQL (Pilot, real stores), without moving the cursor off its entry."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from textual.widgets import Static

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry
from cockpit.ui.browser.window import Query
from tests.browser.pilot import app_for, line_text, settle, view_of

ROOT = Path(__file__).resolve().parents[2]
SIZE = (100, 30)
WITHIN = 1.0

APPEND = """
import json, sys
from cockpit.core.log.entry import Actor, NewEntry
location, count = json.loads(sys.argv[1]), int(sys.argv[2])
if "dsn" in location:
    from cockpit.core.log.postgres import PostgresLog
    store = PostgresLog(location["dsn"])
else:
    from cockpit.core.log.sqlite import SqliteLog
    store = SqliteLog(location["sqlite_path"])
dave = Actor(name="dave", os_user="dave", host="ops-9")
for i in range(count):
    store.append(NewEntry("shop-9.9", "prod", "note", {"text": f"from another terminal {i}"}, dave))
store.close()
"""


def append_elsewhere(location: dict[str, Any], count: int) -> float:
    """Append `count` notes from another process; the time it finished (monotonic)."""
    where = {k: str(v) for k, v in location.items()}
    subprocess.run([sys.executable, "-c", APPEND, json.dumps(where), str(count)], cwd=ROOT, check=True, timeout=60)
    return time.monotonic()


async def until(pilot: Any, done: Any, since: float) -> float:
    """Let the app run until done() holds; how long after `since` it did (fails after a few seconds)."""
    while time.monotonic() - since < 5:
        if done():
            return time.monotonic() - since
        await pilot.pause(0.02)
    raise AssertionError("the browser did not show the new entries")


def _status(pilot: Any) -> str:
    return str(pilot.app.screen.query_one("#status", Static).render())


async def test_new_entries_appear_at_the_top_and_the_cursor_stays(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    n = len(entries)
    async with app_for(store.location, follow=True).run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        await pilot.press("down", "down")
        here = view.highlighted.seq
        took = await until(pilot, lambda: view.window.total == n + 3 and view.window.row(0) is not None,
                           append_elsewhere(store.location, 3))
        assert took < WITHIN, took
        await settle(pilot)
        assert [line_text(view, y).split(" prod ")[-1].strip() for y in range(3)] == [
            f"dave noted: from another terminal {i}" for i in (2, 1, 0)]
        assert view.highlighted.seq == here and view.cursor == 5  # the same entry, moved down by three
        assert f"{n + 3:,} entries" in _status(pilot) and " new " not in _status(pilot)


async def test_scrolled_away_the_view_stays_and_says_how_many_are_new(
        history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    async with app_for(store.location, follow=True).run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        await pilot.press("pagedown", "pagedown", "down")
        await settle(pilot)
        here, top_seq = view.highlighted.seq, view.window.row(int(view.scroll_offset.y)).seq
        took = await until(pilot, lambda: view.unseen == 2, append_elsewhere(store.location, 2))
        assert took < WITHIN, took
        await settle(pilot)
        assert view.highlighted.seq == here and view.window.row(int(view.scroll_offset.y)).seq == top_seq
        assert "2 new ↑ Home" in _status(pilot)
        await pilot.press("home")
        await settle(pilot)
        assert view.unseen == 0 and " new " not in _status(pilot)
        assert view.window.row(0).payload["text"] == "from another terminal 1"


async def test_oldest_first_new_entries_join_the_end_under_a_filter(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    query = Query(LogFilter(release_id="shop-9.9"), newest_first=False)
    async with app_for(store.location, follow=True, query=query).run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        assert view.window.total == 0
        took = await until(pilot, lambda: view.window.total == 1 and view.window.row(0) is not None,
                           append_elsewhere(store.location, 1))
        assert took < WITHIN, took
        await until(pilot, lambda: view.window.total == 3 and view.window.row(2) is not None,
                    append_elsewhere(store.location, 2))
        await settle(pilot)
        assert [view.window.row(r).payload["text"] for r in range(3)] == [
            f"from another terminal {i}" for i in (0, 0, 1)]
        assert view.highlighted.seq == view.window.row(0).seq  # the cursor did not follow
