"""The log list: a Line-API ScrollView that renders only the visible lines (toolong's approach).

Line y is the entry of rank scroll_y + y; the entries come from a LogWindow (window.py explains
how ranks map to keyset pages). Pages are fetched by a thread worker that calls one core
function and posts PageFetched; nothing here waits on the store. A DataTable would hold and
measure every row: at 100k rows that blocks the event loop for seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import Worker

from cockpit.core import kinds
from cockpit.core.log.entry import Entry
from cockpit.core.story import summary, when
from cockpit.runbook.textsafe import one_line
from cockpit.ui.browser.messages import EntryChosen, EntryHighlighted, ExtentKnown, NewEntries, PageFetched
from cockpit.core.log.readonly import Reader
from cockpit.ui.browser.window import (CAPACITY, PAGE_SIZE, Extent, Fetch, LogWindow, Query, fetch_extent,
                                       fetch_rows)
from cockpit.ui.worker_errors import WorkerErrors

# (title, width) of the columns before the entry's sentence, which takes what is left: the sentence
# names who and what, so there is no actor or kind column, and a narrow terminal narrows the others.
COLUMNS: tuple[tuple[str, int], ...] = (("", 1), ("seq", 7), ("time (UTC)", 19), ("release", 12), ("env", 8))
NARROW_COLUMNS: tuple[tuple[str, int], ...] = (("", 1), ("seq", 6), ("time (UTC)", 11), ("release", 10), ("env", 6))
NARROW = 100
"""Below this width the narrow columns are used (the time loses its year and seconds)."""
MIN_SUMMARY = 12
STRIP_CACHE = 600  # rendered rows kept (a few screens): scrolling back repaints from here


def _cell(text: str, width: int, right: bool = False) -> str:
    text = one_line(text, width)
    return text.rjust(width) if right else text.ljust(width)


def columns(width: int) -> tuple[tuple[str, int], ...]:
    return NARROW_COLUMNS if width < NARROW else COLUMNS


def summary_width(width: int) -> int:
    return max(MIN_SUMMARY, width - sum(w + 1 for _, w in columns(width)))


def header_text(width: int) -> Text:
    cells = [_cell(title, w, right=title == "seq") for title, w in columns(width)]
    return Text(" ".join([*cells, _cell("what happened", summary_width(width))]), no_wrap=True, overflow="crop")


def _time(at: datetime, width: int) -> str:
    return when(at) if width >= len("2024-05-06 09:04:00") else when(at)[5:16]


_FLAG_STYLE, _ROLLBACK_STYLE, _TIME_STYLE = Style(color="yellow"), Style(color="magenta"), Style(dim=True)
_PLAIN = Style()
_KIND_STYLE = {kinds.DECISION_GO: Style(color="green"), kinds.RELEASE_DONE: Style(color="green"),
               kinds.DECISION_NOGO: Style(color="red"), kinds.STAGE_KILLED: Style(color="red"),
               kinds.FLAG_FLIPPED: _FLAG_STYLE, kinds.FLAGS_SNAPSHOT: _FLAG_STYLE,
               kinds.ROLLBACK_STARTED: _ROLLBACK_STYLE, kinds.ROLLBACK_STEP: _ROLLBACK_STYLE,
               kinds.ROLLBACK_FINISHED: _ROLLBACK_STYLE}


class ColumnHeader(Widget):
    """The column titles above the list (same layout as the rows, follows the width)."""

    DEFAULT_CSS = "ColumnHeader { height: 1; text-style: bold; background: $boost; }"

    def render(self) -> Text:
        # The rows' width (the list's scrollbar takes a little): both choose the same columns.
        views = self.screen.query(LogView)
        return header_text(views.first().size.width if views else self.size.width)


class LogView(WorkerErrors, ScrollView, can_focus=True):
    DEFAULT_CSS = """
    LogView { overflow-x: hidden; overflow-y: auto; height: 1fr; }
    LogView > .log-view--cursor { background: $accent 40%; text-style: bold; }
    LogView:focus > .log-view--cursor { background: $accent 70%; }
    LogView > .log-view--tampered { background: $error 70%; color: $text; text-style: bold; }
    LogView > .log-view--unverified { color: $warning; }
    LogView > .log-view--loading { color: $text-muted; }
    """
    # Row states are component classes (themable); the few kind colours are fixed Rich styles:
    # every component class costs a styled node on each style update.
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--cursor", "log-view--tampered", "log-view--unverified", "log-view--loading"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "choose", "Detail"),
    ]

    def __init__(self, reader: Reader, query: Query = Query(), *, counter: Reader | None = None,
                 page_size: int = PAGE_SIZE, capacity: int = CAPACITY, id: str | None = None,
                 classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.reader = reader
        self.counter = counter or reader
        """Where count(filter) runs: a second connection, so a slow count (free text over millions
        of entries) never holds up the pages."""
        self._extent_for: Query | None = None
        self.window = LogWindow(query, page_size=page_size, capacity=capacity)
        self.cursor = 0
        self.bad_seq: int | None = None
        """First entry that breaks the chain (from verify); it and everything after is marked."""
        self._highlighted: Entry | None = None
        self._after_extent: str | None = None   # "last": End pressed before the count was known
        self._seek_seq: int | None = None
        self._start_query = query
        self._strips: dict[tuple[object, ...], Strip] = {}
        self.unseen = 0
        """Entries appended since the load that are out of view (above newest first, below oldest first)."""

    # -- loading ----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.load(self._start_query)

    @property
    def current_query(self) -> Query:
        return self.window.query

    @property
    def loaded(self) -> bool:
        """The first page of the current query is in (the list has something to paint)."""
        return self.window.loaded

    @property
    def extent_known(self) -> bool:
        return self.window.extent is not None

    def load(self, query: Query, *, seek: int | None = None) -> None:
        """Show `query` from its first entry (or from `seek`)."""
        first = self.window.reset(query)
        self.cursor = 0
        self._set_unseen(0)
        self._seek_seq = seek
        self._after_extent = None
        self.scroll_to(y=0, animate=False, force=True)
        self._resize()
        self._extent_for = None
        self._fetch(first)  # the count is asked once this first page is in: it never delays the paint

    def seek(self, seq: int) -> None:
        """Move the list (and the cursor) to `seq`, or the next matching entry in display order."""
        if not self.extent_known:
            self._seek_seq = seq
            return
        f = self.window.seek(seq)
        # Go there now (entries show as loading): the viewport and the pending fetch agree, so
        # planning does not take the jump for a stray fetch and replace it.
        self.cursor = f.rank
        self.scroll_to(y=max(0, f.rank - self._height() // 3), animate=False, force=True)
        self.refresh()
        self._fetch(f)

    def fetch_failed(self) -> None:
        """A page could not be read (store away): forget it, so scrolling asks again."""
        self.window.pending = None

    def worker_failed(self, error: BaseException | None, worker: Worker) -> None:
        # The page and count workers are this widget's: their failures come here, not to the screen.
        if worker.group == "page":
            self.fetch_failed()

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _fetch(self, f: Fetch) -> None:
        self.post_message(PageFetched(f, fetch_rows(self.reader, f)))

    @work(thread=True, exclusive=True, group="extent", exit_on_error=False)
    def _extent(self, query: Query, grown: bool = False) -> None:
        self.post_message(ExtentKnown(query, fetch_extent(self.counter, query), grown))

    def log_grew(self) -> None:
        """Another process may have appended: count again; new entries join the list at its newest end."""
        if self.extent_known:  # (before that, the count being taken will include them)
            self._extent(self.window.query, True)

    @on(PageFetched)
    def _page(self, event: PageFetched) -> None:
        event.stop()
        shift = self.window.apply(event.fetch, event.rows)
        if self._extent_for != self.window.query and self.window.loaded:
            self._extent_for = self.window.query
            self._extent(self.window.query)
        if shift is None:
            self._plan()
            return
        self._resize()
        if shift:
            self.cursor += shift
            self.scroll_to(y=self.scroll_offset.y + shift, animate=False, force=True)
        if event.fetch.target_seq is not None:
            rank = self._landing(event.fetch.target_seq)
            self.cursor = rank
            self.scroll_to(y=max(0, rank - self._height() // 3), animate=False, force=True)
        elif event.fetch.tail and self._after_extent == "last":
            self._after_extent = None
            self._move(self.window.total - 1)
        self._clamp_cursor()
        self.refresh()
        self._announce()
        self._plan()

    def _landing(self, seq: int) -> int:
        """Rank of `seq` in the window, or of the first entry after it in display order."""
        rank = self.window.rank_of(seq)
        if rank is not None:
            return rank
        return self.window.base

    @on(ExtentKnown)
    def _extent_known(self, event: ExtentKnown) -> None:
        # Not stopped: the screen shows the count too.
        if event.grown:
            if event.query == self.window.query and self.window.extent is not None:
                self._grown(event.extent)
            return
        if not self.window.set_extent(event.query, event.extent):
            return
        self._resize()
        self.refresh()
        if self._seek_seq is not None:
            seq, self._seek_seq = self._seek_seq, None
            self.seek(seq)
        elif self._after_extent == "last":
            self.action_last()
        self._plan()

    def _grown(self, extent: Extent) -> None:
        """New entries joined: the cursor stays on its entry; a view at the newest end shows them, a view
        elsewhere stays on the same entries and counts them as unseen."""
        old_total, top, height = self.window.total, int(self.scroll_offset.y), self._height()
        newest_first = self.window.query.newest_first
        at_edge = top == 0 if newest_first else top + height >= old_total
        n = self.window.grew(extent)
        if not n:
            return
        self._resize()
        if newest_first:
            self.cursor += n
            if not at_edge:
                self.scroll_to(y=top + n, animate=False, force=True)
        elif at_edge and old_total > height:
            self.scroll_to(y=top + n, animate=False, force=True)  # following the end, as tail -f does
        if not at_edge:
            self._set_unseen(self.unseen + n)
        self.refresh()
        self._plan()

    def _set_unseen(self, count: int) -> None:
        if count != self.unseen:
            self.unseen = count
            self.post_message(NewEntries(count, self.window.query.newest_first))

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.window.total)

    def _height(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _plan(self) -> None:
        f = self.window.want(int(self.scroll_offset.y), self._height())
        if f is not None:
            self._fetch(f)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.unseen:  # the user came back to the newest end: nothing there is unseen any more
            top, height = int(new_value), self._height()
            if (top == 0) if self.window.query.newest_first else (top + height >= self.window.total):
                self._set_unseen(0)
        self._plan()

    def on_resize(self, event: events.Resize) -> None:
        self._resize()
        self._plan()

    # -- cursor -----------------------------------------------------------------------------------
    def _clamp_cursor(self) -> None:
        self.cursor = max(0, min(self.cursor, self.window.total - 1))

    def _move(self, rank: int, *, keep_offset: bool = False) -> None:
        total = self.window.total
        if total == 0:
            return
        old = self.cursor
        self.cursor = max(0, min(rank, total - 1))
        top, height = int(self.scroll_offset.y), self._height()
        if keep_offset:
            self.scroll_to(y=max(0, top + self.cursor - old), animate=False, force=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, force=True)
        self.refresh()
        self._announce()
        self._plan()

    def _announce(self) -> None:
        entry = self.window.row(self.cursor)
        if entry is not self._highlighted:
            self._highlighted = entry
            self.post_message(EntryHighlighted(entry))

    @property
    def highlighted(self) -> Entry | None:
        return self.window.row(self.cursor)

    def reveal_cursor(self) -> None:
        """Scroll so the cursor's row is in view (after the list was made shorter)."""
        self._move(self.cursor)

    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * self._height(), keep_offset=True)

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        if not self.extent_known:
            self._after_extent = "last"  # done when the count arrives
            return
        if self.window.at_end and self.window.entries:
            self._move(self.window.total - 1)
            return
        self._after_extent = "last"
        self.scroll_to(y=max(0, self.window.total - self._height()), animate=False, force=True)
        self._plan()

    def action_choose(self) -> None:
        entry = self.highlighted
        if entry is not None:
            self.post_message(EntryChosen(entry))

    def on_click(self, event: events.Click) -> None:
        self._move(int(self.scroll_offset.y) + event.y)
        if event.chain == 2:
            self.action_choose()

    def set_bad_seq(self, seq: int | None) -> None:
        self.bad_seq = seq
        self.refresh()

    # -- rendering --------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        rank = int(self.scroll_offset.y) + y
        width = self.size.width
        base = self.rich_style
        if rank >= self.window.total:
            return Strip.blank(width, base)
        entry = self.window.row(rank)
        if entry is None:
            style = base + self.get_component_rich_style("log-view--loading")
            return Strip([Segment(" " * 9 + "…", style)]).crop_extend(0, width, style)
        mark = 0 if self.bad_seq is None or entry.seq < self.bad_seq else 1 if entry.seq == self.bad_seq else 2
        key = (entry.seq, entry.hash, width, rank == self.cursor, mark, self.has_focus)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        text = self.row_text(entry, width)
        style = base
        if rank == self.cursor:
            style = style + self.get_component_rich_style("log-view--cursor")
        if mark:
            # After the cursor: the broken row stays red even under the cursor.
            style = style + self.get_component_rich_style("log-view--tampered" if mark == 1 else "log-view--unverified")
        text.stylize_before(style)
        strip = Strip(list(text.render(self.app.console)), text.cell_len).crop_extend(0, width, style)
        if len(self._strips) > STRIP_CACHE:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # theme or CSS changed: rendered rows are stale

    def row_text(self, e: Entry, width: int) -> Text:
        mark = " "
        if self.bad_seq is not None and e.seq >= self.bad_seq:
            mark = "✗" if e.seq == self.bad_seq else "?"
        _, seq_w, time_w, release_w, env_w = (w for _, w in columns(width))
        rest = summary_width(width)
        return Text.assemble(
            (mark, ""), " ",
            (_cell(str(e.seq), seq_w, right=True), ""), " ",
            (_cell(_time(e.at, time_w), time_w), _TIME_STYLE), " ",
            _cell(e.release_id, release_w), " ",
            _cell(e.environment, env_w), " ",
            (_cell(summary(e, rest), rest), _kind_style(e.kind)),
            no_wrap=True, overflow="crop")


def _kind_style(kind: str) -> Style:
    return _KIND_STYLE.get(kind, _PLAIN)
