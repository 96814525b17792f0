"""The window of log entries around the viewport: keyset paging over a log of unknown size.

How a scroll position maps to entries (Textual-free, so it is tested on real stores directly):

* **Ranks.** Line y of the list is the entry of *rank* y in display order (newest or oldest
  first) among the entries matching the filter. The virtual height is `count(filter)`, asked
  once per filter (with the seqs at rank 0 and at the last rank: the result's two ends).
* **The window** is one contiguous run of ranks [base, base+len) already fetched, at most
  `capacity` entries (a few pages). Moving near it — line, page, scrolling — extends it by one
  keyset query from its edge (`seq < first` / `seq > last`, `LIMIT page_size`) and drops pages
  from the far side: a page-down costs the same at seq 10 and at seq 1,000,000, and the UI is
  ahead of the user because the view asks for the next page one viewport early.
* **Far jumps** (Home, End, dragging the scrollbar, jumping to a seq) start a new window. Home
  and End are exact (the first page in either order). A jump to rank r elsewhere interpolates a
  seq between the nearest known (rank, seq) anchors — the ends and the window's edges — and
  fetches from there by keyset. For the unfiltered log seqs are dense (1..n, the chain has no
  holes), so the estimate is exact; under a filter it is an estimate, and the window's ranks are
  corrected ("snapped") when it reaches either end of the result: `apply` returns the shift so
  the view moves its scroll offset and cursor with the entries, and nothing visibly jumps.

No OFFSET queries, no full scans beyond the one count, and never the whole log in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry
from cockpit.core.log.readonly import Reader

PAGE_SIZE = 200
CAPACITY = 1000


@dataclass(frozen=True)
class Query:
    flt: LogFilter = LogFilter()
    newest_first: bool = True


@dataclass(frozen=True)
class Extent:
    """The result's size and its two ends (seqs at rank 0 and at rank total-1)."""

    total: int
    first_seq: int | None
    last_seq: int | None


@dataclass(frozen=True, eq=False)
class Fetch:
    """One keyset query the window wants; compared by identity (only the latest one is applied)."""

    query: Query
    mode: Literal["forward", "backward", "at"]
    seq: int | None = None
    """forward: after this seq in display order; backward: before it; at: from this seq on (None: rank 0)."""
    rank: int = 0
    """at: the rank the first fetched entry takes."""
    limit: int = PAGE_SIZE
    tail: bool = False
    """at: the last `limit` entries of the result (End)."""
    target_seq: int | None = field(default=None)
    """at: the seq the caller wants to land on (the cursor goes there)."""


def fetch_rows(reader: Reader, f: Fetch) -> list[Entry]:
    """Run one Fetch against the store; entries in display order. (The worker's one core call.)"""
    flt, nf = f.query.flt, f.query.newest_first
    if f.mode == "forward":
        return (reader.page(flt, before_seq=f.seq, limit=f.limit, newest_first=True) if nf
                else reader.page(flt, after_seq=f.seq, limit=f.limit))
    if f.mode == "backward":
        rows = (reader.page(flt, after_seq=f.seq, limit=f.limit) if nf
                else reader.page(flt, before_seq=f.seq, limit=f.limit, newest_first=True))
        return rows[::-1]
    if f.tail:
        return reader.page(flt, limit=f.limit, newest_first=not nf)[::-1]
    if f.seq is None:
        return reader.page(flt, limit=f.limit, newest_first=nf)
    return (reader.page(flt, before_seq=f.seq + 1, limit=f.limit, newest_first=True) if nf
            else reader.page(flt, after_seq=f.seq - 1, limit=f.limit))


def fetch_extent(reader: Reader, query: Query) -> Extent:
    """count(filter) and the seqs at both ends of the result."""
    total = reader.count(query.flt)
    first = reader.page(query.flt, limit=1, newest_first=query.newest_first)
    last = reader.page(query.flt, limit=1, newest_first=not query.newest_first)
    return Extent(total, first[0].seq if first else None, last[0].seq if last else None)


class LogWindow:
    def __init__(self, query: Query = Query(), *, page_size: int = PAGE_SIZE, capacity: int = CAPACITY):
        self.page_size = page_size
        self.capacity = max(capacity, 3 * page_size)
        self.query = query
        self.entries: list[Entry] = []
        self.base = 0
        self.extent: Extent | None = None
        self.at_start = False
        self.at_end = False
        self.pending: Fetch | None = None

    # -- state ----------------------------------------------------------------------------------
    def reset(self, query: Query) -> Fetch:
        """A new filter or order: forget everything; the first page to fetch."""
        self.query = query
        self.entries, self.base, self.extent = [], 0, None
        self.at_start = self.at_end = False
        self.pending = Fetch(query, "at", limit=self.page_size)
        return self.pending

    @property
    def end(self) -> int:
        return self.base + len(self.entries)

    @property
    def total(self) -> int:
        """Rows of the virtual list: the count once known, else what has been seen."""
        if self.extent is not None:
            return max(self.extent.total, self.end)
        return self.end

    @property
    def loaded(self) -> bool:
        """Something has been fetched for the current query (an empty result counts)."""
        return bool(self.entries) or (self.at_start and self.at_end)

    def row(self, rank: int) -> Entry | None:
        i = rank - self.base
        return self.entries[i] if 0 <= i < len(self.entries) else None

    def rank_of(self, seq: int) -> int | None:
        for i, e in enumerate(self.entries):
            if e.seq == seq:
                return self.base + i
        return None

    def set_extent(self, query: Query, extent: Extent) -> bool:
        if query != self.query:
            return False
        self.extent = extent
        self._snap()
        return True

    def grew(self, extent: Extent) -> int:
        """Entries were appended (a log grows only at its newest end) and `extent` is the new count.
        Returns how many new entries match the filter; newest first, the entries held here each move
        down by that many ranks (the view moves its cursor and scroll offset with them)."""
        n = extent.total - self.extent.total if self.extent is not None else 0
        self.extent = extent
        if n <= 0:
            return 0
        self.pending = None  # a fetch in flight was planned with the old ranks: its page is dropped
        if self.query.newest_first:
            self.base += n if self.entries else 0
            self.at_start = False
            self.at_end = self.at_end and bool(self.entries)
        else:
            self.at_end = False
            self.at_start = self.at_start and bool(self.entries)
        return n

    # -- what to fetch --------------------------------------------------------------------------
    def want(self, top: int, height: int) -> Fetch | None:
        """The next fetch that keeps [top - height, top + 2*height) loaded, or None."""
        height = max(1, height)
        if self.pending is not None:
            # One fetch at a time; a new one only supersedes it when the user went elsewhere.
            return self._issue(self.jump_fetch(top)) if self._far(top, height, self.pending) else None
        if not self.entries:
            return None if self.loaded else self._issue(self.jump_fetch(top))
        lo, hi = top - height, top + 2 * height
        if self._far_from_window(top, height):
            return self._issue(self.jump_fetch(top))
        if lo < self.base and not self.at_start:
            return self._issue(Fetch(self.query, "backward", self.entries[0].seq, limit=self.page_size))
        if hi > self.end and not self.at_end:
            return self._issue(Fetch(self.query, "forward", self.entries[-1].seq, limit=self.page_size))
        return None

    def _issue(self, f: Fetch) -> Fetch:
        self.pending = f
        return f

    def _far_from_window(self, top: int, height: int) -> bool:
        return top + height < self.base - self.page_size or top > self.end + self.page_size

    def _far(self, top: int, height: int, f: Fetch) -> bool:
        """Is the pending fetch of no use for a viewport at `top` (so a new one supersedes it)?"""
        if f.mode != "at":
            return bool(self.entries) and self._far_from_window(top, height)
        if f.seq is None and not f.tail:
            return top > f.rank + f.limit + self.page_size
        return not (f.rank - self.page_size <= top <= f.rank + f.limit + self.page_size)

    def jump_fetch(self, rank: int) -> Fetch:
        """A fetch that starts a new window at `rank` (exact at the ends, interpolated elsewhere)."""
        ext = self.extent
        if rank <= 0 or ext is None or ext.first_seq is None:
            return Fetch(self.query, "at", limit=self.page_size)
        if rank >= ext.total - self.page_size:
            return Fetch(self.query, "at", rank=max(0, ext.total - self.page_size), limit=self.page_size, tail=True)
        return Fetch(self.query, "at", self._seq_at(rank), rank=rank, limit=self.page_size)

    def seek(self, seq: int) -> Fetch:
        """A fetch that starts a new window at `seq` (or the next entry in display order matching
        the filter), at its interpolated rank."""
        return self._issue(Fetch(self.query, "at", seq, rank=self._rank_at(seq), limit=self.page_size,
                                 target_seq=seq))

    def _anchors(self) -> list[tuple[int, int]]:
        pts: list[tuple[int, int]] = []
        ext = self.extent
        if ext is not None and ext.first_seq is not None and ext.last_seq is not None:
            pts += [(0, ext.first_seq), (max(0, ext.total - 1), ext.last_seq)]
        if self.entries:
            pts += [(self.base, self.entries[0].seq), (self.end - 1, self.entries[-1].seq)]
        return sorted(set(pts))

    def _seq_at(self, rank: int) -> int:
        pts = self._anchors()
        below = max((p for p in pts if p[0] <= rank), default=pts[0])
        above = min((p for p in pts if p[0] >= rank), default=pts[-1])
        if above[0] == below[0]:
            return below[1]
        frac = (rank - below[0]) / (above[0] - below[0])
        return round(below[1] + frac * (above[1] - below[1]))

    def _rank_at(self, seq: int) -> int:
        known = self.rank_of(seq)
        if known is not None:
            return known
        pts = self._anchors()
        if not pts:
            return 0
        # seq grows with rank (oldest first) or shrinks (newest first): interpolate on seq.
        sign = -1 if self.query.newest_first else 1
        keyed = sorted(pts, key=lambda p: sign * p[1])
        below = max((p for p in keyed if sign * p[1] <= sign * seq), default=keyed[0], key=lambda p: sign * p[1])
        above = min((p for p in keyed if sign * p[1] >= sign * seq), default=keyed[-1], key=lambda p: sign * p[1])
        if above[1] == below[1]:
            return below[0]
        frac = (seq - below[1]) / (above[1] - below[1])
        return max(0, min(self.total - 1, round(below[0] + frac * (above[0] - below[0]))))

    # -- results --------------------------------------------------------------------------------
    def apply(self, f: Fetch, rows: list[Entry]) -> int | None:
        """Merge a fetched page. Returns None if the fetch is stale (dropped), else the shift in
        ranks the view must apply to its scroll offset and cursor (non-zero after a snap)."""
        if f is not self.pending:
            return None
        self.pending = None
        short = len(rows) < f.limit
        if f.mode == "at":
            self.entries = list(rows)
            self.base = f.rank
            self.at_start = f.seq is None and not f.tail
            self.at_end = short or f.tail
            if f.tail:
                self.at_start = short
                self.base = max(0, self.total - len(rows)) if self.extent is not None else 0
            return self._snap(fresh=True)
        if f.mode == "forward":
            if not self.entries or self.entries[-1].seq != f.seq:
                return None
            self.entries.extend(rows)
            self.at_end = short
            drop = len(self.entries) - self.capacity
            if drop > 0:
                del self.entries[:drop]
                self.base += drop
                self.at_start = False
        else:
            if not self.entries or self.entries[0].seq != f.seq:
                return None
            self.entries[:0] = rows
            self.base -= len(rows)
            self.at_start = short
            drop = len(self.entries) - self.capacity
            if drop > 0:
                del self.entries[-drop:]
                self.at_end = False
        return self._snap()

    def _snap(self, fresh: bool = False) -> int:
        """Make ranks consistent with what is known for sure; return the shift applied."""
        if not self.entries:
            if self.at_start or self.at_end:
                self.at_start = self.at_end = True
            if self.extent is not None and self.at_start:
                self.extent = Extent(0, None, None)
            return 0
        ext = self.extent
        if ext is not None:
            if self.entries[0].seq == ext.first_seq:
                self.at_start = True
            if self.entries[-1].seq == ext.last_seq:
                self.at_end = True
        before = self.base
        if self.at_start:
            self.base = 0
        elif self.at_end and ext is not None:
            self.base = max(0, ext.total - len(self.entries))
        elif self.base < 0:
            self.base = 0  # more entries above than estimated: make room, keep fetching backward
        if ext is not None:
            if self.at_start and self.at_end:
                self.extent = Extent(len(self.entries), self.entries[0].seq, self.entries[-1].seq)
            elif self.end > ext.total:
                self.extent = Extent(self.end, ext.first_seq, ext.last_seq)
        return 0 if fresh else self.base - before
