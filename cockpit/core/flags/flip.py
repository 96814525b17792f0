"""Flips that can be trusted: read before, set, read back after; retried; logged.

Every flip is recorded as one `flag.flipped` entry, whatever its outcome, through the `record`
coroutine it is given (the release's own writer, ReleaseSession.record):
    {flag, before, after, requested, backend, reason, break_glass, ok, error, attempts, stage}
`before`/`after` are the states read from the flag service (null when they could not be read);
`ok` means the read-back shows the requested state. A failed flip's `error` says which state the
flag is in now, or that it is unknown.

The kill switch and the snapshot restore run one flip per flag, all at once: turning 20 flags off
takes about as long as turning one off.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cockpit.core.flags.base import FlagBackend, FlagError, FlagNotFound, on_off
from cockpit.core.kinds import FLAG_FLIPPED
from cockpit.core.log.entry import Actor, Entry
from cockpit.core.secrets import redact

Recorder = Callable[[str, dict[str, Any]], Awaitable[Entry]]
"""Records one entry of the release (kind, payload): ReleaseSession.record."""


@dataclass(frozen=True)
class FlipResult:
    flag: str
    requested: bool
    before: bool | None
    after: bool | None
    ok: bool
    error: str | None = None
    note: str | None = None
    attempts: int = 0
    break_glass: bool = False
    backend: str = ""
    logged: bool = False
    log_error: str | None = None
    entry_seq: int | None = None

    @property
    def state_text(self) -> str:
        return on_off(self.after)

    def summary(self) -> str:
        want = on_off(self.requested)
        if self.ok:
            changed = "" if self.before != self.after else " (already was)"
            note = f" — note: {self.note}" if self.note else ""
            return f"{self.flag}: {on_off(self.before)} → {self.state_text}{changed}{note}"
        return f"{self.flag}: FAILED to turn {want}; it is {self.state_text} — {self.error}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class KillSwitchResult:
    """The outcome of a batch of flips (kill switch, snapshot restore), one result per flag, in order."""

    results: list[FlipResult] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[FlipResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        if not self.results:
            return "no flags to flip"
        head = (f"all {len(self.results)} flags flipped" if self.ok
                else f"{len(self.failed)} of {len(self.results)} flips FAILED")
        return "\n".join([f"{head} in {self.elapsed_s:.2f}s", *(f"  {r.summary()}" for r in self.results)])

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "elapsed_s": round(self.elapsed_s, 3), "flips": [r.to_json() for r in self.results]}


async def _retrying(call, *, retries: int, backoff: float):  # type: ignore[no-untyped-def]
    """Await call() until it succeeds or fails for good; retry FlagError(retryable) with exponential backoff.

    Returns (value, attempts). Non-retryable errors (auth, not found, protected) are raised at once.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except FlagError as e:
            e.attempts = attempt  # type: ignore[attr-defined]
            if not e.retryable or attempt > retries:
                raise
        await asyncio.sleep(backoff * (2 ** (attempt - 1)))


async def flip(backend: FlagBackend, flag: str, enabled: bool, *, reason: str, actor: Actor,
               record: Recorder | None, break_glass: bool = False, retries: int = 3, backoff: float = 0.5,
               stage: str | None = None) -> FlipResult:
    """Turn one flag on/off and prove it by reading it back; never raises for failures (the result says)."""
    ctx = _Ctx(backend, flag, enabled, reason, actor, record, break_glass, stage, retries, backoff)
    await ctx.read_before()
    if not ctx.missing:
        await ctx.send()
        await ctx.read_after()
    return await ctx.finish()


async def _read(backend: FlagBackend, flag: str, retries: int, backoff: float) -> bool:
    return (await _retrying(lambda: backend.get(flag), retries=retries, backoff=backoff))[0].enabled


def _describe(e: BaseException) -> str:
    return redact(str(e) if isinstance(e, FlagError) else f"{type(e).__name__}: {e}")


@dataclass
class _Ctx:
    """One flip's facts as they are learnt, phase by phase; `finish` turns them into the result and the entry."""

    backend: FlagBackend
    flag: str
    enabled: bool
    reason: str
    actor: Actor
    record: Recorder | None
    break_glass: bool
    stage: str | None
    retries: int = 3
    backoff: float = 0.5
    before: bool | None = None
    after: bool | None = None
    error: str | None = None
    note: str | None = None
    attempts: int = 0
    missing: bool = False
    set_error: str | None = None
    read_error: str | None = None

    @property
    def read_retries(self) -> int:
        return min(self.retries, 1)  # a read is evidence, the set is the action: reads get one retry at most

    async def read_before(self) -> None:
        try:
            self.before = await _read(self.backend, self.flag, self.read_retries, self.backoff)
        except FlagNotFound as e:
            self.error, self.missing = redact(str(e)), True
        except Exception:
            pass  # the flip matters more than knowing the state before; `before` stays unknown

    async def send(self) -> None:
        # One key for every retry of this flip: the flag API applies it once however often it arrives.
        key = str(uuid.uuid4())
        try:
            _, self.attempts = await _retrying(
                lambda: self.backend.set(self.flag, self.enabled, reason=self.reason, actor=self.actor.name,
                                         idempotency_key=key),
                retries=self.retries, backoff=self.backoff)
        except FlagError as e:
            self.attempts = getattr(e, "attempts", 1)
            self.set_error = _describe(e)
        except Exception as e:  # a bug or an unexpected library error must still be logged as a failed flip
            self.attempts = max(self.attempts, 1)
            self.set_error = _describe(e)

    async def read_after(self) -> None:
        try:
            self.after = await _read(self.backend, self.flag, self.read_retries, self.backoff)
        except Exception as e:
            self.read_error = _describe(e)

    def judge(self) -> None:
        if self.missing:
            return
        if self.after == self.enabled:
            if self.set_error:  # e.g. the answer timed out but the change was applied: the read-back counts
                self.note = (f"the set request reported an error ({self.set_error}) but the flag reads back "
                             f"{on_off(self.enabled)}")
        elif self.set_error:
            self.error = self.set_error
        elif self.read_error:
            self.error = f"the flip was accepted but reading the flag back failed: {self.read_error}"
        else:
            self.error = f"the flag service accepted the flip but the flag reads back {on_off(self.after)}"

    async def finish(self) -> FlipResult:
        self.judge()
        ok = self.error is None and self.after == self.enabled
        error = self.error
        if not ok:
            state = ("the flag does not exist there" if self.missing else f"flag is {on_off(self.after)}"
                     f"{' (could not read it back)' if self.after is None else ''}")
            error = f"{error or 'not flipped'} [{state}]"
        result = FlipResult(flag=self.flag, requested=self.enabled, before=self.before, after=self.after, ok=ok,
                            error=error, note=self.note, attempts=self.attempts, break_glass=self.break_glass,
                            backend=getattr(self.backend, "name", "?"))
        if self.record is None:
            return result
        payload: dict[str, Any] = {
            "flag": self.flag, "before": self.before, "after": self.after, "requested": self.enabled,
            "backend": result.backend, "reason": self.reason, "break_glass": self.break_glass, "ok": ok,
            "error": error, "attempts": self.attempts,
        }
        if self.note:
            payload["note"] = self.note
        if self.stage is not None:
            payload["stage"] = self.stage
        try:
            entry = await self.record(FLAG_FLIPPED, payload)
        except Exception as e:  # the flip happened; say the log did not get it rather than hide the outcome
            return replace(result, logged=False, log_error=redact(f"{type(e).__name__}: {e}"))
        return replace(result, logged=True, entry_seq=entry.seq)


# -- many flags at once ------------------------------------------------------------------


def _unique(flags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(flags))


async def flip_many(backend: FlagBackend, wanted: Mapping[str, bool], *, reason: str, actor: Actor,
                    record: Recorder | None, break_glass: bool = False, retries: int = 3, backoff: float = 0.5,
                    stage: str | None = None) -> KillSwitchResult:
    """One flip per flag, all at once; the result lists every flag's exact outcome.

    The phases run in lockstep: read every flag, set every flag concurrently, read every flag back. When
    the backend can list its flags, each read phase is one `list()` instead of one request per flag:
    20 flags cost 22 requests instead of 60, which matters to a flag service that is struggling during
    an incident (and to the kill switch's speed). A flag missing from a listing is read on its own.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    ctxs = [_Ctx(backend, f, v, reason, actor, record, break_glass, stage, retries, backoff)
            for f, v in wanted.items()]
    bulk = len(ctxs) > 1 and getattr(backend, "bulk_reads", False)

    async def phase_read(targets: list[_Ctx], before: bool) -> None:
        listing = await _listing(backend, retries=min(retries, 1), backoff=backoff) if bulk else None

        async def one(c: _Ctx) -> None:
            if listing is not None and c.flag in listing:
                if before:
                    c.before = listing[c.flag]
                else:
                    c.after = listing[c.flag]
            else:
                await (c.read_before() if before else c.read_after())

        await asyncio.gather(*(one(c) for c in targets))

    await phase_read(ctxs, before=True)
    live = [c for c in ctxs if not c.missing]
    await asyncio.gather(*(c.send() for c in live))
    await phase_read(live, before=False)
    results = await asyncio.gather(*(c.finish() for c in ctxs))
    return KillSwitchResult(results=list(results), elapsed_s=loop.time() - t0)


async def _listing(backend: FlagBackend, *, retries: int, backoff: float) -> dict[str, bool] | None:
    try:
        states, _ = await _retrying(backend.list, retries=retries, backoff=backoff)
    except Exception:
        return None  # each flag is then read on its own
    return {s.name: s.enabled for s in states}


async def kill_switch(backend: FlagBackend, flags: Iterable[str], *, reason: str, actor: Actor,
                      record: Recorder | None, break_glass: bool = False, retries: int = 3, backoff: float = 0.5,
                      stage: str | None = None) -> KillSwitchResult:
    """Turn every flag off, concurrently (seed 001's emergency rollback: all OFF in under 2 minutes)."""
    return await flip_many(backend, {f: False for f in _unique(flags)}, reason=reason, actor=actor, record=record,
                           break_glass=break_glass, retries=retries, backoff=backoff, stage=stage)


# -- snapshot, diff, restore ---------------------------------------------------------------


async def snapshot(backend: FlagBackend, flags: Iterable[str], *, retries: int = 1,
                   backoff: float = 0.2) -> dict[str, bool | None]:
    """Every flag's state now, read concurrently; None where it could not be read."""
    names = _unique(flags)

    async def one(name: str) -> bool | None:
        try:
            return (await _retrying(lambda: backend.get(name), retries=retries, backoff=backoff))[0].enabled
        except FlagError:
            return None

    values = await asyncio.gather(*(one(n) for n in names))
    return dict(zip(names, values, strict=True))


@dataclass(frozen=True)
class FlagChange:
    flag: str
    was: bool | None
    now: bool | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        return f"{self.flag}: {on_off(self.was)} at GO → {on_off(self.now)} now"


def diff(snapshot: Mapping[str, bool | None], current: Mapping[str, bool | None]) -> list[FlagChange]:
    """Flags whose state differs (unknown on either side counts as a difference), in snapshot order then new."""
    names = list(snapshot) + [n for n in current if n not in snapshot]
    return [FlagChange(n, snapshot.get(n), current.get(n)) for n in names
            if snapshot.get(n) != current.get(n) or snapshot.get(n) is None]


async def restore_snapshot(backend: FlagBackend, snap: Mapping[str, bool | None], *, reason: str, actor: Actor,
                           record: Recorder | None, break_glass: bool = False, retries: int = 3,
                           backoff: float = 0.5, stage: str | None = None) -> KillSwitchResult:
    """Flip back every flag whose state differs from the snapshot, concurrently.

    Flags the snapshot could not read (None) are left alone: there is no state to restore them to.
    Flags whose current state cannot be read are flipped anyway (setting is idempotent).
    """
    known = {f: v for f, v in snap.items() if v is not None}
    current = await snapshot(backend, known)
    wanted = {f: v for f, v in known.items() if current.get(f) != v}
    return await flip_many(backend, wanted, reason=reason, actor=actor, record=record, break_glass=break_glass,
                           retries=retries, backoff=backoff, stage=stage)


def snapshot_payload(snap: Mapping[str, bool | None]) -> dict[str, Any]:
    """The payload of a `flags.snapshot` entry (the lead's release fold reads `flags`)."""
    return {"flags": dict(snap)}
