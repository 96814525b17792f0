"""The keyset window on real stores: paging both ways, jumps, filters, snapping at the ends."""

from __future__ import annotations

from typing import Any

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry
from cockpit.core.log.readonly import open_store
from cockpit.ui.browser.window import Fetch, LogWindow, Query, fetch_extent, fetch_rows


def settle(win: LogWindow, reader: Any, top: int, height: int, max_fetches: int = 50) -> int:
    """Fetch until the window has what a viewport at `top` needs; return how many queries that took."""
    n = 0
    while (f := win.want(top, height)) is not None:
        shift = win.apply(f, fetch_rows(reader, f))
        top += shift or 0
        n += 1
        assert n <= max_fetches
    return n


def settle_shift(win: LogWindow, reader: Any, top: int) -> int:
    """Fetch what a 5-line viewport at `top` needs; the total shift the window applied to ranks."""
    shift = 0
    while (f := win.want(top + shift, 5)) is not None:
        shift += win.apply(f, fetch_rows(reader, f)) or 0
    return shift


def open_window(reader: Any, query: Query, page_size: int = 50) -> LogWindow:
    win = LogWindow(query, page_size=page_size, capacity=150)
    f = win.reset(query)
    win.apply(f, fetch_rows(reader, f))
    win.set_extent(query, fetch_extent(reader, query))
    return win


def test_pages_forward_and_backward_in_both_orders(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    reader = open_store(**store.location)
    for newest_first in (True, False):
        expected = sorted(entries, key=lambda e: e.seq, reverse=newest_first)
        win = open_window(reader, Query(newest_first=newest_first))
        assert win.total == len(entries)
        # Walk down a 20-line viewport to the end and back up: every rank shows the right entry.
        for top in [*range(0, len(entries) - 20, 20), *range(len(entries) - 20, -1, -37)]:
            settle(win, reader, top, 20)
            for rank in range(top, top + 20):
                assert win.row(rank) is not None and win.row(rank).seq == expected[rank].seq
            assert len(win.entries) <= win.capacity  # never the whole log
    reader.close()


def test_far_jumps_are_exact_on_the_dense_unfiltered_log(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    reader = open_store(**store.location)
    win = open_window(reader, Query(newest_first=True))
    expected = sorted(entries, key=lambda e: e.seq, reverse=True)
    for top in (400, 17, len(entries) - 10, 250):
        queries = settle(win, reader, top, 10)
        assert queries <= 3
        assert [win.row(r).seq for r in range(top, top + 10) if r < len(entries)] == \
            [e.seq for e in expected[top:top + 10]]
    reader.close()


def test_filtered_jump_snaps_at_the_ends(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    reader = open_store(**store.location)
    q = Query(LogFilter(kind="flag."), newest_first=False)
    matching = [e for e in entries if e.kind.startswith("flag.")]
    win = open_window(reader, q, page_size=10)
    assert win.total == len(matching)
    # A far jump whose interpolated rank is 30 too high (matches cluster unevenly under a filter).
    f = Fetch(q, "at", matching[40].seq, rank=70, limit=10)
    win.pending = f
    assert win.apply(f, fetch_rows(reader, f)) == 0 and win.row(70).seq == matching[40].seq
    # Scroll up a line at a time: reaching the first entry snaps every rank to the truth.
    top, shifted = 70, 0
    for _ in range(200):
        if win.at_start and top == 0:
            break
        top = max(0, top - 1)
        shift = settle_shift(win, reader, top)
        top += shift
        shifted += shift
    assert shifted == -30
    assert win.base == 0 and win.row(0).seq == matching[0].seq
    reader.close()


def test_seek_lands_on_a_seq_and_empty_results(history_store: tuple[Any, list[Entry]]) -> None:
    store, entries = history_store
    reader = open_store(**store.location)
    win = open_window(reader, Query(newest_first=True))
    f = win.seek(123)
    win.apply(f, fetch_rows(reader, f))
    rank = win.rank_of(123)
    assert rank == len(entries) - 123  # dense: exact
    empty = open_window(reader, Query(LogFilter(release_id="no-such-release")))
    assert empty.loaded and empty.total == 0 and empty.want(0, 10) is None
    reader.close()
