"""The browser at 80x24 (Pilot, real stores): the sentences stay, Enter opens, Esc goes back, dialogs fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import Button, Input, Static

from cockpit.core.log.entry import Entry
from cockpit.core.sentences import sentence
from cockpit.core.story import summary
from cockpit.ui.browser import BrowserScreen, Source, open_store
from cockpit.ui.browser.detail import DetailPane
from cockpit.ui.browser.log_view import ColumnHeader, summary_width
from cockpit.ui.browser.story_view import ReleaseStoryScreen
from cockpit.ui.screens.prompt import PromptScreen
from tests.browser.pilot import app_for, line_text, settle, view_of

SMALL = (80, 24)


def _inside(widget: Any, size: tuple[int, int]) -> bool:
    r = widget.region
    return r.width > 0 and r.height > 0 and r.x >= 0 and r.y >= 0 and r.right <= size[0] and r.bottom <= size[1]


async def test_the_list_keeps_each_entrys_sentence_at_80x24(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    by_seq = {e.seq: e for e in entries}
    async with app_for(store.location).run_test(size=SMALL) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        assert "what happened" in str(pilot.app.screen.query_one(ColumnHeader).render())
        width = summary_width(view.size.width)
        assert width >= 30  # the other columns gave way, not the sentence
        for y in range(view._height()):
            e = by_seq[view.window.row(y).seq]
            row = line_text(view, y)
            assert row.rstrip().endswith(summary(e, width).rstrip()) and e.release_id in row


async def test_one_enter_opens_the_entry_and_esc_steps_back_out(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    by_seq = {e.seq: e for e in entries}
    app = app_for(store.location)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        screen, view = pilot.app.screen, view_of(pilot)
        await pilot.press(*["down"] * 6)
        here = by_seq[view.highlighted.seq]
        await pilot.press("enter")
        await settle(pilot)
        assert screen.detail_open
        body = str(screen.query_one("#detail-body", Static).render())
        assert body.startswith(f"#{here.seq}") and sentence(here) in body and here.hash in body
        top = int(view.scroll_offset.y)
        assert top <= view.cursor < top + view._height()  # the opened entry is still in the (shorter) list
        # With the focus in the detail pane, Enter still opens the highlighted entry.
        screen.query_one(DetailPane).focus()
        view.action_cursor(1)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert str(screen.query_one("#detail-body", Static).render()).startswith(f"#{view.highlighted.seq}")
        await pilot.press("slash", "escape")  # out of the filter bar first
        assert pilot.app.focused is view and screen.detail_open
        await pilot.press("escape")  # then the detail closes
        assert not screen.detail_open and pilot.app.screen is screen
        await pilot.press("escape")  # then the browser itself: `cockpit log browse` ends
        await pilot.pause()
        assert not app.is_running


class Host(App[None]):
    """Another screen under the browser, as the cockpit is when it pushes it."""

    def compose(self) -> ComposeResult:
        yield Static("the cockpit", id="host")


async def test_esc_leaves_a_browser_pushed_over_another_screen_back_to_it(
        history_store: tuple[Any, list[Entry]]) -> None:
    store, _ = history_store
    reader = open_store(**store.location)
    host = Host()
    async with host.run_test(size=SMALL) as pilot:
        host.push_screen(BrowserScreen(Source(reader, "test log", lambda: 0, reader.close)))
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert host.is_running and host.screen.query_one("#host", Static) is not None
    reader.close()


async def test_the_export_dialog_fits_at_80x24_and_exports(history_store: tuple[Any, list[Entry]],
                                                          tmp_path: Path) -> None:
    store, entries = history_store
    async with app_for(store.location).run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"release:shop-1.10", "enter")
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, PromptScreen)
        for button in dialog.query(Button):
            assert _inside(button, SMALL), button
        assert _inside(dialog.query_one(Input), SMALL)
        dialog.query_one(Input).value = str(tmp_path / "shop-1.10.md")
        await pilot.click("#ok")
        await settle(pilot)
        path, count, fmt = pilot.app.screen.exported
        assert fmt == "md" and count == sum(e.release_id == "shop-1.10" for e in entries) and path.exists()


async def test_the_story_at_80x24_tells_sentences_and_esc_returns(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    async with app_for(store.location).run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ReleaseStoryScreen)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        story = str(pilot.app.screen.query_one("#story", Static).render())
        assert "people: alice (release owner), bob (rollback owner)" in story
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, BrowserScreen)
