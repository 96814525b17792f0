"""The auditor's release-log browser: read-only, paged from the store, integrity on demand.

The screen is given a `Source` (a read-only reader, where it is, the spool count) and needs
nothing else from its app: `cockpit log browse` hosts it in BrowserApp, the main cockpit can
push it. No action here can write: the reader has no write method, and the store itself was
opened read-only (cockpit/core/log/readonly.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Label, ProgressBar, Static
from textual.worker import Worker, get_current_worker

from cockpit.ui.widgets.keybar import KeyBar, actions_of
from cockpit.core.log.base import LogFilter, VerifyResult
from cockpit.core.log.entry import Entry
from cockpit.core.log.export import export_to_named_file, format_of
from cockpit.core.log.follow import Follower
from cockpit.runbook.textsafe import printable
from cockpit.ui.browser.detail import DetailPane
from cockpit.ui.browser.filter_query import FilterSyntaxError, describe_filter, format_filter, parse_filter
from cockpit.ui.browser.log_view import ColumnHeader, LogView
from cockpit.ui.browser.messages import (
    EntryChosen,
    EntryHighlighted,
    Exported,
    ExtentKnown,
    LogGrew,
    NewEntries,
    SeqFound,
    SpoolCounted,
    VerifyDone,
    VerifyProgress,
)
from cockpit.ui.browser.source import Source
from cockpit.ui.browser.story_view import ReleaseStoryScreen
from cockpit.ui.browser.window import CAPACITY, PAGE_SIZE, Query
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.worker_errors import WorkerErrors

FOLLOW_WAIT = 0.25
"""Seconds a follower blocks before the worker looks whether it was cancelled (leaving the browser)."""
FILTER_HELP = "release:ID env:E actor:A kind:K|flag. since:2024-05-01 until:… words"


class BrowserScreen(WorkerErrors, Screen[None]):
    CSS_PATH = "browser.tcss"
    AUTO_FOCUS = "#log"
    # The key bar shows what fits 80 columns; the rest are in the palette's key list.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("enter", "open", "Open"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "story", "Story"),
        Binding("v", "verify", "Verify"),
        Binding("x", "export", "Export"),
        Binding("o", "toggle_order", "Order"),
        Binding("g", "jump_release", "Go to release", show=False),
        Binding("b", "jump_break", "To the break", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(self, source: Source, *, query: Query = Query(), page_size: int = PAGE_SIZE,
                 capacity: int = CAPACITY, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.source = source
        self._start = query
        self._page_size, self._capacity = page_size, capacity
        self.verify_result: VerifyResult | None = None
        self.spool_waiting = 0
        self.total: int | None = None
        self.exported: tuple[Path, int, str] | None = None
        self.unseen: tuple[int, bool] = (0, True)
        """Entries appended out of the list's view, and whether the list shows newest first."""

    # -- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal(id="filter-bar"):
            yield Label("filter", id="filter-label")
            yield Input(value=format_filter(self._start.flt), placeholder=FILTER_HELP, id="filter")
        yield Static(id="integrity", classes="hidden")
        yield ColumnHeader()
        yield LogView(self.source.reader, self._start, counter=self.source.counter, page_size=self._page_size,
                      capacity=self._capacity, id="log")
        yield KeyBar(actions_of(self.BINDINGS))  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self._show_status()
        self._count_spool()
        if self.source.follow is not None:
            self._follow(self.source.follow)

    @property
    def log_view(self) -> LogView:
        return self.query_one("#log", LogView)

    # The detail pane and the progress bar are mounted when first needed: fewer widgets to style
    # before the first page is painted.
    @property
    def detail(self) -> DetailPane | None:
        found = self.query(DetailPane)
        return found.first() if found else None

    @property
    def detail_open(self) -> bool:
        return self.detail is not None and not self.detail.has_class("hidden")

    def _open_detail(self) -> DetailPane:
        pane = self.detail
        if pane is None:
            pane = DetailPane(id="detail")
            self.mount(pane, before=self.query_one(KeyBar))
        pane.remove_class("hidden")
        return pane

    def _progress_bar(self) -> ProgressBar:
        found = self.query("#verify-progress")
        if found:
            return found.first(ProgressBar)
        bar = ProgressBar(id="verify-progress", show_eta=False)
        self.mount(bar, before=self.query_one(ColumnHeader))
        return bar

    @property
    def query_now(self) -> Query:
        return self.log_view.window.query

    # -- status line ------------------------------------------------------------------------------
    def _show_status(self) -> None:
        q = self.query_now
        # What a narrow terminal crops is the end: where the log is comes last.
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("counting…" if self.total is None else f"{self.total:,} entries", "bold")
        count, newest_first = self.unseen
        if count:
            t.append(f" · {count:,} new {'↑ Home' if newest_first else '↓ End'}", "bold reverse")
        if self.spool_waiting:
            t.append(f" · {self.spool_waiting} in the local spool, not yet in the chain", "bold yellow")
        t.append(f" · {'newest' if q.newest_first else 'oldest'} first · {describe_filter(q.flt)} · read-only · ")
        t.append(printable(self.source.description, one_line=True), "bold")
        self.query_one("#status", Static).update(t)

    @work(thread=True, exit_on_error=False, group="spool")
    def _count_spool(self) -> None:
        self.post_message(SpoolCounted(self.source.spool_waiting()))

    @work(thread=True, exit_on_error=False, group="follow")
    def _follow(self, make: Callable[[], Follower]) -> None:
        """Wake within a second of an append by any process (the follower blocks, so a thread of its own)."""
        worker, follower = get_current_worker(), make()
        try:
            while not worker.is_cancelled:
                if follower.wait(FOLLOW_WAIT):
                    self.post_message(LogGrew())
        finally:
            follower.close()

    @on(LogGrew)
    def _grew(self) -> None:
        self.log_view.log_grew()
        self._count_spool()  # a replayed spool is one way the log grows

    @on(NewEntries)
    def _new_entries(self, event: NewEntries) -> None:
        self.unseen = (event.count, event.newest_first)
        self._show_status()

    @on(SpoolCounted)
    def _spool(self, event: SpoolCounted) -> None:
        self.spool_waiting = event.waiting
        self._show_status()

    @on(ExtentKnown)
    def _extent(self, event: ExtentKnown) -> None:
        if event.query == self.query_now:
            self.total = event.extent.total
            self._show_status()

    # -- list and detail --------------------------------------------------------------------------
    def _load(self, query: Query, *, seek: int | None = None) -> None:
        self.total = None
        self.log_view.load(query, seek=seek)
        self._show_status()

    @on(EntryChosen)
    def _chosen(self, event: EntryChosen) -> None:
        self._open_detail()
        self._show_detail(event.entry)
        self.call_after_refresh(self.log_view.reveal_cursor)  # the list got shorter: keep the entry in view

    @on(EntryHighlighted)
    def _highlighted(self, event: EntryHighlighted) -> None:
        if self.detail_open:
            self._show_detail(event.entry)

    def _show_detail(self, entry: Entry | None) -> None:
        r = self.verify_result
        bad = r.first_bad_seq if r is not None and not r.ok else None
        pane = self.detail
        if pane is not None:
            pane.show(entry, bad_seq=bad, reason=r.reason if r else "")

    def action_open(self) -> None:
        """Enter opens the highlighted entry wherever the focus is (the list, the detail pane)."""
        self.log_view.action_choose()

    def action_back(self) -> None:
        """Esc steps back: out of the filter bar, then closes the detail, then leaves the browser."""
        if self.focused is self.query_one("#filter", Input):
            self.log_view.focus()
            return
        if self.detail_open:
            self.detail.add_class("hidden")  # type: ignore[union-attr]
            self.log_view.focus()
            return
        self.dismiss(None)

    # -- filter and order -------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#filter")
    def _filter(self, event: Input.Submitted) -> None:
        bar = self.query_one("#filter", Input)
        try:
            flt = parse_filter(event.value)
        except FilterSyntaxError as e:
            bar.add_class("-invalid")
            self.notify(str(e), title="filter", severity="error")
            return
        bar.remove_class("-invalid")
        self._load(Query(flt, self.query_now.newest_first))
        self.log_view.focus()

    def set_filter(self, flt: LogFilter, *, seek: int | None = None) -> None:
        self.query_one("#filter", Input).value = format_filter(flt)
        self._load(Query(flt, self.query_now.newest_first), seek=seek)
        self.log_view.focus()

    def action_toggle_order(self) -> None:
        q = self.query_now
        here = self.log_view.highlighted
        self._load(Query(q.flt, not q.newest_first), seek=here.seq if here else None)

    def action_reload(self) -> None:
        here = self.log_view.highlighted
        self._load(self.query_now, seek=here.seq if here else None)
        self._count_spool()

    # -- jumps ------------------------------------------------------------------------------------
    def action_jump_release(self) -> None:
        def go(release: str | None) -> None:
            if release:
                self._find_release(release, self.query_now.flt)

        self.app.push_screen(PromptScreen("Go to release", "The list moves to the release's first entry under the "
                                          "current filter.", "release id, e.g. shop-1.4", submit="Go"), go)

    @work(thread=True, exit_on_error=False, group="jump")
    def _find_release(self, release: str, flt: LogFilter) -> None:
        first = self.source.reader.page(replace(flt, release_id=release), limit=1)
        self.post_message(SeqFound(first[0].seq if first else None, f"release {release}"))

    @on(SeqFound)
    def _found(self, event: SeqFound) -> None:
        if event.seq is None:
            self.notify(f"No entries of {printable(event.what, one_line=True)} under this filter.", severity="warning")
            return
        self.log_view.seek(event.seq)

    def action_jump_break(self) -> None:
        r = self.verify_result
        if r is None or r.ok or r.first_bad_seq is None:
            self.notify("No break to go to: verify the chain first (v)." if r is None else "The chain is intact.")
            return
        if self.query_now.flt != LogFilter():
            self.notify("Filter cleared to show where the chain breaks.")
            self.set_filter(LogFilter(), seek=r.first_bad_seq)
        else:
            self.log_view.seek(r.first_bad_seq)

    def action_story(self) -> None:
        entry = self.log_view.highlighted
        if entry is None:
            self.notify("Move to an entry first.")
            return
        self.app.push_screen(ReleaseStoryScreen(self.source.reader, entry.release_id))

    # -- integrity --------------------------------------------------------------------------------
    def action_verify(self) -> None:
        bar = self._progress_bar()
        bar.update(total=None, progress=0)
        bar.remove_class("hidden")
        self._banner("verifying the hash chain…", "checking")
        self._verify()

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify(self) -> None:
        result = self.source.reader.verify(lambda done, total: self.post_message(VerifyProgress(done, total)))
        self.post_message(VerifyDone(result))

    @on(VerifyProgress)
    def _progress(self, event: VerifyProgress) -> None:
        self._progress_bar().update(total=max(1, event.total), progress=event.checked)

    @on(VerifyDone)
    def _verified(self, event: VerifyDone) -> None:
        r = self.verify_result = event.result
        self._progress_bar().add_class("hidden")
        if r.ok:
            self._banner(f"✓ chain intact: {r.checked:,} entries verified, each hash recomputed and linked", "intact")
            self.log_view.set_bad_seq(None)
        else:
            self._banner(f"✗ CHAIN BROKEN at #{r.first_bad_seq}: {printable(r.reason, one_line=True)}. "
                         f"{r.checked:,} entries before it are intact; #{r.first_bad_seq} and later cannot be "
                         "trusted. Press b to go there.", "broken")
            self.log_view.set_bad_seq(r.first_bad_seq)
        if self.detail_open:
            self._show_detail(self.log_view.highlighted)

    def _banner(self, text: str, state: str) -> None:
        banner = self.query_one("#integrity", Static)
        banner.update(Text(text))
        banner.set_classes(state)

    def worker_failed(self, error: BaseException | None, worker: Worker) -> None:
        if worker.group == "verify":
            self._progress_bar().add_class("hidden")
            self._banner("verify could not finish (see the notification); press v to try again", "checking")

    # -- export -----------------------------------------------------------------------------------
    def action_export(self) -> None:
        flt = self.query_now.flt

        def go(path: str | None) -> None:
            if not path:
                return
            try:
                format_of(path)
            except ValueError as e:
                self.notify(str(e), title="export", severity="error")
                return
            self._export(path, flt)

        self.app.push_screen(PromptScreen(f"Export {describe_filter(flt)} to",
                                          "The format follows the name: .tsv (seed 003 columns), .md (RELEASE_LOG.md) "
                                          "or .jsonl (every field, hashes).", "release-log.tsv", submit="Export"), go)

    @work(thread=True, exit_on_error=False, group="export")
    def _export(self, path: str, flt: LogFilter) -> None:
        target, n, fmt = export_to_named_file(self.source.reader, path, flt)
        self.post_message(Exported(str(target), n, fmt))

    @on(Exported)
    def _exported(self, event: Exported) -> None:
        self.exported = (Path(event.path), event.count, event.fmt)
        self.notify(f"{event.count:,} entries written to {printable(event.path, one_line=True)}",
                    title=f"exported ({event.fmt})", timeout=10)
