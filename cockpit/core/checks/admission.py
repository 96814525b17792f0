"""Admission: how many checks run at once, per origin and overall, and who waits.

A check is admitted before its clock starts, so its timeout measures the check itself (connect,
request, answer), never its wait behind other checks. An http or smoke-URL check takes a slot
of its origin (scheme, host, port), then one of the overall bound; other kinds take only the
overall one. Slots are handed over first come, first served, in O(1) per event however many
checks wait: a queue of 10,000 costs nothing while it waits.

The slot number rides along in a context variable, so the HTTP transport (pool.py) sends the
check's request on that slot's own connection without scanning anything. A request the check
was not admitted for (a redirect to another origin) takes a slot of that origin in the transport.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["Admission", "Limits", "Ticket", "current_ticket"]


@dataclass(frozen=True)
class Limits:
    per_origin: int = 100
    """Requests in flight to one origin: httpx's own cap per pool, and what curl -Z allows by default."""
    overall: int = 256
    """Checks running at once, of every kind: bounds sockets, processes and memory."""

    def __post_init__(self) -> None:
        if self.per_origin < 1 or self.overall < 1:
            raise ValueError("limits must be at least 1")


class Lane:
    """At most `cap` holders at once; the others wait and are let in first come, first served.
    A released place is handed straight to the next waiter; cancelled waiters stay in the queue
    and are skipped when reached, so no event costs more than O(1) amortised."""

    __slots__ = ("cap", "held", "_waiters")

    def __init__(self, cap: int):
        self.cap = cap
        self.held = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        if self.held < self.cap:
            self.held += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # handed a place, then cancelled before using it
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the place passes on: `held` stays as it is
                return
        self.held -= 1


class Origin:
    """An origin's lane and its slot numbers. A slot is numbered when its check starts, not while
    it waits (most recently freed first: its connection is the warm one), so an origin uses as
    many connections as it has checks running at once, never more than the lane's cap.

    When the last of its checks ends (nobody running, nobody waiting), `on_quiet` runs: the
    transport closes the origin's idle connections, so open sockets follow the checks still to
    run, not every origin the run ever asked (a runbook of 1,000 services would keep 1,000)."""

    __slots__ = ("lane", "_free", "_made", "on_quiet")

    def __init__(self, cap: int):
        self.lane = Lane(cap)
        self._free: list[int] = []
        self._made = 0
        self.on_quiet: list[Callable[[], Awaitable[None]]] = []

    async def leave(self, slot: int) -> None:
        """Give back a slot and the lane's place taken with it."""
        self._free.append(slot)
        self.lane.release()
        if self.lane.held == 0:  # nobody waits either: waiters exist only while the lane is full
            for quiet in self.on_quiet:
                await quiet()

    def take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        self._made += 1
        return self._made - 1


@dataclass(frozen=True)
class Ticket:
    admission: Admission
    origin: Hashable
    slot: int


_TICKET: ContextVar[Ticket | None] = ContextVar("cockpit_check_ticket", default=None)


def current_ticket() -> Ticket | None:
    """The admission of the check running in this task, if any."""
    return _TICKET.get()


class Admission:
    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.overall = Lane(self.limits.overall)
        self._origins: dict[Hashable, Origin] = {}

    def origin(self, key: Hashable) -> Origin:
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = Origin(self.limits.per_origin)
        return origin

    @asynccontextmanager
    async def admit(self, origin: Hashable | None) -> AsyncIterator[Ticket | None]:
        """Wait for a place in `origin`'s lane (None: no origin), then one of the overall bound.

        The origin's place is taken first: checks queued on a busy origin hold no overall place
        while they wait, so they never keep a check of another origin from starting."""
        if origin is None:
            await self.overall.acquire()
            try:
                yield None
            finally:
                self.overall.release()
            return
        o = self.origin(origin)
        await o.lane.acquire()
        try:
            await self.overall.acquire()
        except BaseException:
            o.lane.release()
            raise
        slot = o.take_slot()
        token = _TICKET.set(Ticket(self, origin, slot))
        try:
            yield _TICKET.get()
        finally:
            _TICKET.reset(token)
            self.overall.release()
            await o.leave(slot)
