"""The browser driven by keys on real SQLite and PostgreSQL stores (Pilot, fixed terminal size)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.browser.screen import BrowserScreen
from cockpit.ui.browser.story_view import ReleaseStoryScreen
from cockpit.ui.browser.window import Query
from tests.browser import logdata
from tests.browser.pilot import app_for, line_text, settle, view_of

SIZE = (120, 40)


async def answer(pilot: Any, key: str, text: str) -> None:
    """Open a prompt with `key`, fill it in (typing a long temp path key by key is slow) and submit."""
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


def _static(pilot: Any, selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


async def test_keys_page_down_and_up_through_the_whole_log(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    n = len(entries)
    app = app_for(store.location)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        h = view._height()
        assert view.highlighted.seq == n and line_text(view, 0).lstrip().startswith(str(n))
        assert "601 entries" in _static(pilot, "#status") or f"{n} entries" in _static(pilot, "#status")
        await pilot.press("pagedown")
        await settle(pilot)
        assert view.highlighted.seq == n - h and view.scroll_offset.y == h
        for _ in range(n // h + 2):  # page down past the end: the cursor stops on the oldest entry
            await pilot.press("pagedown")
            await settle(pilot)
            top = int(view.scroll_offset.y)
            assert view.window.row(top).seq == n - top  # what is painted is the right entry
            assert len(view.window.entries) <= view.window.capacity
        assert view.highlighted.seq == 1
        await pilot.press("pageup", "up")
        await settle(pilot)
        assert view.highlighted.seq == 2 + h
        await pilot.press("home")
        await settle(pilot)
        assert view.highlighted.seq == n and view.scroll_offset.y == 0
        await pilot.press("end")
        await settle(pilot)
        assert view.highlighted.seq == 1 and line_text(view, h - 1).lstrip().startswith("1 ")


async def test_filter_order_and_jump_to_a_release(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    app = app_for(store.location)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"env:prod kind:flag.", "enter")
        await settle(pilot)
        view = view_of(pilot)
        expected = [e for e in entries if e.environment == "prod" and e.kind.startswith("flag.")]
        assert view.window.total == len(expected)
        assert [e.seq for e in view.window.entries] == sorted((e.seq for e in expected), reverse=True)[:len(
            view.window.entries)]
        assert "env:prod kind:flag." in _static(pilot, "#status") and f"{len(expected)} entries" in \
            _static(pilot, "#status")
        await pilot.press("down", "down")
        here = view.highlighted.seq
        await pilot.press("o")  # oldest first: the cursor stays on the same entry
        await settle(pilot)
        assert not view.window.query.newest_first and view.highlighted.seq == here
        assert view.window.row(0).seq == min(e.seq for e in expected)
        # A bad filter is refused with a message; the list keeps the previous filter.
        await pilot.press("slash", *" since:soon", "enter")
        await settle(pilot)
        assert view.window.query.flt.kind == "flag." and "-invalid" in pilot.app.screen.query_one("#filter").classes
        # Jump to a release under an empty filter: the cursor lands on its first entry.
        pilot.app.screen.set_filter(LogFilter())
        await settle(pilot)
        await pilot.press("g", *"shop-1.20", "enter")
        await settle(pilot)
        first = min(e.seq for e in entries if e.release_id == "shop-1.20")
        assert view.highlighted.seq == first and view.highlighted.kind == "session.opened"
        await pilot.press("g", *"no-such", "enter")
        await settle(pilot)
        assert view.highlighted.seq == first


async def test_detail_pane_and_release_story(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    flip = next(e for e in entries if e.kind == "flag.flipped" and e.release_id == "shop-1.5"
                and e.payload["after"] is False)
    app = app_for(store.location)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        view.seek(flip.seq)
        await settle(pilot)
        assert view.highlighted.seq == flip.seq
        await pilot.press("enter")
        await settle(pilot)
        pane = pilot.app.screen.detail
        assert not pane.has_class("hidden")
        text = str(pane.body.render())
        assert "CHECKOUT_V2" in text and "on → off" in text and flip.hash in text and flip.prev_hash in text
        assert '"reason": "rollback"' in text
        await pilot.press("up")  # the pane follows the cursor
        await settle(pilot)
        assert f"#{flip.seq + 1}" in str(pane.body.render())
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ReleaseStoryScreen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        story = str(pilot.app.screen.query_one("#story", Static).render())
        assert "Release shop-1.5" in story and "rolled back" in story and "Rollback" in story
        assert "bob did rollback step flags-off: CHECKOUT_V2 off" in story
        assert not any("{" in line for line in story.splitlines() if line.lstrip().startswith("#"))  # timeline
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, BrowserScreen)
        await pilot.press("escape")
        assert pane.has_class("hidden")


async def test_a_tampered_row_is_marked_and_the_list_jumps_there(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    logdata.tamper(store.location, "UPDATE log_entries SET payload = %s WHERE seq = 300", ('{"text": "edited"}',))
    app = app_for(store.location)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"release:shop-1.3", "enter")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        screen = pilot.app.screen
        assert screen.verify_result.first_bad_seq == 300 and not screen.verify_result.ok
        banner = screen.query_one("#integrity", Static)
        assert "CHAIN BROKEN at #300" in str(banner.render()) and banner.has_class("broken")
        await pilot.press("b")  # clears the filter and goes to the break
        await settle(pilot)
        view = view_of(pilot)
        assert view.window.query.flt == LogFilter() and view.highlighted.seq == 300
        rank = view.cursor - int(view.scroll_offset.y)
        tampered = view.get_component_rich_style("log-view--tampered")
        strip = view.render_line(rank)
        assert strip.text.startswith("✗") and any(seg.style and seg.style.bgcolor == tampered.bgcolor
                                                  for seg in strip)
        assert view.render_line(rank - 1).text.startswith("?")   # newer entries: after the break
        assert view.render_line(rank + 1).text.startswith(" ")   # older ones: verified
        await pilot.press("enter")
        await settle(pilot)
        assert "THE CHAIN BREAKS HERE" in str(screen.query_one("#detail-body", Static).render())


async def test_export_of_the_current_filter(history_store: tuple[Any, list[Entry]], tmp_path: Path) -> None:
    store, entries = history_store
    app = app_for(store.location, query=Query(LogFilter(release_id="shop-1.10")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for name in ("out.tsv", "out.jsonl", "out.md"):
            await answer(pilot, "x", str(tmp_path / name))
            path, count, fmt = pilot.app.screen.exported
            assert path == tmp_path / name and count == sum(e.release_id == "shop-1.10" for e in entries)
        await answer(pilot, "x", str(tmp_path / "out.pdf"))
        assert not (tmp_path / "out.pdf").exists()
    tsv = (tmp_path / "out.tsv").read_text().splitlines()
    assert tsv[0].startswith("timestamp_utc\trelease") and len(tsv) == count + 1
    assert all("\tshop-1.10\t" in row for row in tsv[1:])
    assert (tmp_path / "out.jsonl").read_text().count("\n") == count
    assert "shop-1.10" in (tmp_path / "out.md").read_text()


async def test_nothing_in_the_browser_writes(history_store: tuple[Any, list[Entry]], tmp_path: Path) -> None:
    store, entries = history_store
    head = store.head()
    app = app_for(store.location, spool=2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "2 in the local spool, not yet in the chain" in _static(pilot, "#status")
        # Every binding of the screen (prompts cancelled with escape; story left with escape).
        for key in ("enter", "down", "pagedown", "end", "home", "o", "v", "b", "ctrl+r", "s", "escape",
                    "g", "escape", "x", "escape", "slash", "escape", "escape"):
            await pilot.press(key)
            await settle(pilot)
        assert isinstance(pilot.app.screen, BrowserScreen)
    assert store.head() == head and store.count() == len(entries)
