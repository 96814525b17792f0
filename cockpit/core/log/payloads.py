"""Verify's slowest check, a batch at a time: do the payload columns say what the hashed text says?

Each entry's payload column (PostgreSQL gives jsonb's text) must be, as canonical JSON, the payload inside
its hashed text. One JSON decode and one encode per batch, not per entry, halves that cost; on a long log
the batches also go to a second process, so that the comparison runs on another core while this one reads
and hashes the next rows (at 1M entries it was a third of the walk's CPU). A batch the helper cannot take
at once (it is busy, not started, or gone) is compared here: the walk never waits on it until the end.
"""

from __future__ import annotations

import json
import os
from collections import deque
from typing import Any

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads

BATCH = 2000
"""Payloads compared per JSON call."""
HELPER_AFTER = 40_000
"""Entries walked before a second process is worth its start (~0.1–0.2 s): only long logs use one."""
IN_FLIGHT = 2
"""Batches the helper may hold at once; more are compared here (bounded memory, no waiting)."""


def same(middles: list[str], payloads: list[str]) -> bool:
    """Whether every payload column, as canonical JSON, is its hashed middle (one decode and encode)."""
    if middles == payloads:  # SQLite keeps the payload as canonical JSON already
        return True
    try:
        # Canonical JSON values joined by commas split back into the same values only: equal joins mean
        # equal items (each middle is a hashed, hence canonical, payload).
        return _dumps(_loads("[" + ",".join(payloads) + "]")) == "[" + ",".join(middles) + "]"
    except ValueError:
        return False


def first_mismatch(middles: list[str], payloads: list[str]) -> int | None:
    """Index of the first payload column whose canonical JSON is not the payload in the hashed text."""
    if same(middles, payloads):
        return None
    for i, (middle, payload) in enumerate(zip(middles, payloads)):
        try:
            if _dumps(_loads(payload)) != middle:
                return i
        except ValueError:
            return i
    return None


class PayloadBatches:
    """Collects (seq, hashed middle, payload column) as the walk goes; `first_bad()` is the first seq whose
    payload column does not say what its hashed text says, over every entry added so far."""

    def __init__(self, *, helper: bool = True):
        self.seqs: list[int] = []
        self.middles: list[str] = []
        self.payloads: list[str] = []
        self._bad: int | None = None  # the first bad seq found here (batches are compared in seq order)
        self._pending: deque[tuple[Any, list[int], list[str], list[str]]] = deque()
        self._walked = 0
        self._helper_wanted = helper and (os.cpu_count() or 1) > 1
        self._pool: Any = None

    def full(self) -> bool:
        return len(self.middles) >= BATCH

    def hand_over(self) -> bool:
        """Compare the current batch (here, or by the helper); False once a bad entry is known here."""
        seqs, middles, payloads = self.seqs, self.middles, self.payloads
        self.seqs, self.middles, self.payloads = [], [], []
        self._walked += len(seqs)
        self._settle_done()
        pool = self._helper()
        if pool is not None and len(self._pending) < IN_FLIGHT:
            try:
                self._pending.append((pool.submit(same, middles, payloads), seqs, middles, payloads))
                return self._bad is None
            except Exception:  # the helper is gone (BrokenProcessPool) or refused: compare here
                self._pool = None
        bad = first_mismatch(middles, payloads)
        if bad is not None:
            self._found(seqs[bad])
        return self._bad is None

    def _found(self, seq: int) -> None:
        self._bad = seq if self._bad is None else min(seq, self._bad)

    def _settle(self, item: tuple[Any, list[int], list[str], list[str]]) -> None:
        future, seqs, middles, payloads = item
        try:
            ok = future.result()
        except Exception:  # the helper died: this batch is compared here
            ok = same(middles, payloads)
        if not ok:
            bad = first_mismatch(middles, payloads)
            self._found(seqs[bad] if bad is not None else seqs[0])

    def _settle_done(self) -> None:
        """The helper's finished batches, oldest first (a bad one stops the walk early)."""
        while self._pending and self._pending[0][0].done():
            self._settle(self._pending.popleft())

    def first_bad(self) -> int | None:
        """Every batch compared (the current one here, the helper's awaited), the first bad seq or None."""
        if self.middles:
            bad = first_mismatch(self.middles, self.payloads)
            if bad is not None:
                self._found(self.seqs[bad])
        self.seqs, self.middles, self.payloads = [], [], []
        while self._pending:
            item = self._pending.popleft()
            if self._bad is not None and item[1][0] > self._bad:
                item[0].cancel()  # after the bad entry already found: nothing there can come first
                continue
            self._settle(item)
        return self._bad

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _helper(self) -> Any:
        if not self._helper_wanted or self._walked < HELPER_AFTER:
            return None
        if self._pool is None:
            self._helper_wanted = False  # one try: a machine that cannot start it compares everything here
            try:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawn, not fork: the browser walks in a thread of a running app, and forking threads is unsafe
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            except Exception:
                return None
            self._helper_wanted = True
        return self._pool
