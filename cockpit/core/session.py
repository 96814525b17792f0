"""A release session: one environment's release as one object, and the only writer of its entries.

Everything that happens to a release — evidence, ticks, sign-off, decisions, flips, the lock, GO,
stages, rollback steps, notes — is recorded through `ReleaseSession.record`, which scrubs secrets,
appends (in a thread: a shared store may be slow or away) and folds the entry into the state. So a
rule about writing lives in one place, and the CLI, the TUI, the rollback and a resumed cockpit all
see the same release. GO and the stages are methods too (cockpit.core.cutover, mixed in here).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from cockpit import __version__
from cockpit.core import gitrepo, kinds
from cockpit.core.cutover import CutoverActions
from cockpit.core.lease import LeaseActions
from cockpit.core.procedure import StageProcedure
from cockpit.core.proof import ProofActions
from cockpit.core.watched import WatchedWindows
from cockpit.core.promotion import REREAD_AFTER, Promotion, read_promotion, rule
from cockpit.core.evidence import Evidence, utcnow
from cockpit.core.flags import flip
from cockpit.core.gate import SignOff, Verdict, evaluate
from cockpit.core.log.base import Guard, LogFilter, LogUnavailable, ReleaseLog
from cockpit.core.log.entry import Actor, Entry, NewEntry
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import ReleaseState, StageStatus, fold
from cockpit.core.secrets import redact_obj
from cockpit.core.target import Target
from cockpit.runbook.roles import assign as assign_roles
from cockpit.runbook.textsafe import representable

if TYPE_CHECKING:
    from cockpit.core.checks.context import CheckContext
    from cockpit.core.flags.base import FlagBackend
    from cockpit.core.flags.flip import FlipResult, KillSwitchResult
    from cockpit.core.log.seen import SeenCache
    from cockpit.runbook.config import Runbook

_PAGE = 500


def _seen(log: ReleaseLog) -> SeenCache | None:
    """The log's last-seen cache (SpooledLog has one; a bare store in a test has none)."""
    return getattr(log, "seen", None)


def find_current(log: ReleaseLog, environment: str) -> ReleaseState | None:
    """The environment's current release, folded from its entries: the one in flight (GO given, not yet
    closed or rolled back) when there is one, whatever was opened after it; else the most recently
    opened. With the store away, the release this machine last saw (see last_seen)."""
    try:
        opened = log.page(LogFilter(environment=environment, kind=kinds.SESSION_OPENED), limit=1,
                          newest_first=True)
        if not opened:
            return None
        newest = opened[0].release_id
        went = log.page(LogFilter(environment=environment, kind=kinds.DECISION_GO), limit=1, newest_first=True)
        # Only one release of an environment is ever in flight (GO takes the lock): the last to go GO.
        live = went[0].release_id if went and went[0].release_id != newest else None
        candidates = [live, newest] if live else [newest]
        for rid in candidates:
            entries = list(log.entries(LogFilter(release_id=rid)))
            state = fold(rid, environment, entries)
            if rid == newest or state.phase.in_flight:
                break
    except LogUnavailable:
        return last_seen(log, environment)
    if (cache := _seen(log)) is not None:
        cache.note(environment, entries, fresh=True)
    return state


def last_seen(log: ReleaseLog, environment: str, release_id: str | None = None) -> ReleaseState | None:
    """The environment's release (or the one named) as this machine last saw it, plus the entries
    waiting in its spool, marked from_cache; None when this machine saw none."""
    cache = _seen(log)
    seen = cache.current(environment) if cache is not None else []
    waiting = [e for e in getattr(log, "pending", list)() if e.environment == environment]
    known = {e.uid for e in seen if e.uid}
    entries = seen + [e for e in waiting if e.uid not in known]
    opened = [e.release_id for e in entries if e.kind == kinds.SESSION_OPENED]
    rid = release_id or (opened[-1] if opened else None)
    if rid is None or rid not in opened:
        return None
    state = fold(rid, environment, (e for e in entries if e.release_id == rid))
    state.from_cache = True
    return state


def _new_release_id(log: ReleaseLog, runbook: Runbook, environment: str, target: Target) -> str:
    base = f"{runbook.release.name}-{environment}-{target.short}"
    rid, n = base, 1
    try:
        while log.count(LogFilter(release_id=rid)) > 0:  # that release is over: this is another attempt
            n += 1
            rid = f"{base}.{n}"
    except LogUnavailable:  # the store cannot say which attempts exist: a name no other attempt has
        return f"{base}.{uuid.uuid4().hex[:6]}"
    return rid


def _in_flight_refusal(current: ReleaseState, environment: str, target: Target) -> str:
    by = f", GO by {current.decision.by}" if current.decision else ""
    return (f"{environment} has release {current.release_id} in flight (phase '{current.phase}', target "
            f"{current.target.short if current.target else '?'}{by}); a second release for {target.short} is "
            f"refused and nothing was recorded. Finish {current.release_id} (cockpit run) or roll it back "
            f"(cockpit rollback --env {environment}) first; to check a ref without releasing it, use an "
            "environment with nothing in flight")


def no_release_id(runbook: Runbook, environment: str) -> str:
    """Where flips outside any release are recorded (break-glass before the first release)."""
    return f"{runbook.release.name}-{environment}-no-release"


@dataclass
class ReleaseSession(ProofActions, CutoverActions, StageProcedure, LeaseActions, WatchedWindows):
    runbook: Runbook
    log: ReleaseLog
    environment: str
    state: ReleaseState
    actor: Actor
    target_on_main: bool | None = None
    main_problem: str | None = None
    """Why target_on_main could not be decided (e.g. [release] main does not exist here)."""
    clock: Callable[[], datetime] = utcnow
    _read_through: int = field(default=-1, repr=False)
    """The log has been read (folded) up to this seq; entries this session wrote are folded as written."""
    _written: set[str] = field(default_factory=set, repr=False)
    """uids of entries this session wrote and folded that a later read must not fold again."""
    _lease_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _reading: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    lock_lost: str = ""
    """Why the lease could not be renewed last time (someone else holds the lock now); "" while fine."""
    _promotion: tuple[int, datetime, Promotion] | None = field(default=None, repr=False)
    """The last promotion reading with the release's last seq and the time it was read at (see promotion)."""

    def __post_init__(self) -> None:
        if self._read_through < 0:
            self._read_through = self.state.last_seq

    # -- opening -------------------------------------------------------------------
    @classmethod
    async def open(cls, runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor,
                   ref: str | None = None, *, release_id: str | None = None,
                   clock: Callable[[], datetime] = utcnow) -> ReleaseSession:
        """Resume the environment's release, or open a new one for `ref` (default: [release] main).

        A release in flight (GO, in cutover or rolling back) is resumed whatever main points at now;
        asking for another target while one is in flight is refused with the way out, and nothing is
        recorded (a check on another ref never takes over the environment). `release_id`, when given,
        must name the release this opens: acting on another one is refused.
        """
        current = await asyncio.to_thread(find_current, log, environment)
        in_flight = current is not None and current.phase.in_flight
        if in_flight and ref is None:
            target = current.target  # type: ignore[union-attr]
        else:
            target = await asyncio.to_thread(gitrepo.resolve_target, runbook, ref)
            if in_flight and current.target and current.target.sha != target.sha:  # type: ignore[union-attr]
                raise ActionRefused(_in_flight_refusal(current, environment, target))  # type: ignore[arg-type]
        assert target is not None
        if current is not None and current.target and current.target.sha == target.sha and not current.phase.finished:
            state = current
        else:
            rid = await asyncio.to_thread(_new_release_id, log, runbook, environment, target)
            state = ReleaseState(release_id=rid, environment=environment)
        if release_id is not None and release_id != state.release_id:
            now = f"release {state.release_id}" if state.opened_at else f"a new release for {target.short}"
            raise ActionRefused(f"{environment}'s current release is not {release_id}: this would act on {now}. "
                                f"Check the release's name (cockpit log status --config … --env {environment})")
        on_main, main_problem = None, None
        try:
            on_main = await asyncio.to_thread(gitrepo.is_ancestor, runbook.repo_path, target.sha, runbook.release.main)
        except gitrepo.GitRefError as e:  # e.g. no origin/main fetched here: say so in the verdict
            main_problem = str(e)
        session = cls(runbook=runbook, log=log, environment=environment, state=state, actor=actor,
                      target_on_main=on_main, main_problem=main_problem, clock=clock)
        await session.record(kinds.SESSION_OPENED, {
            "target": {"ref": target.ref, "sha": target.sha},
            "runbook": runbook.release.name,
            "cockpit": __version__,
            "resumed": state.opened_at is not None,
        })
        return session

    @classmethod
    async def attach(cls, runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor, *,
                     release_id: str | None = None, clock: Callable[[], datetime] = utcnow) -> ReleaseSession:
        """The environment's current release (or the one named), folded from the log, without opening it:
        what the flag commands, the rollback and the log commands act on. With no release ever opened,
        the environment's placeholder release (no_release_id), which holds break-glass flips."""
        def read() -> ReleaseState | None:
            if release_id is None:
                return find_current(log, environment)
            try:
                return fold(release_id, environment, log.entries(LogFilter(release_id=release_id)))
            except LogUnavailable:
                return last_seen(log, environment, release_id)

        state = await asyncio.to_thread(read)
        if state is None:
            state = ReleaseState(release_id=release_id or no_release_id(runbook, environment), environment=environment)
        return cls(runbook=runbook, log=log, environment=environment, state=state, actor=actor, clock=clock)

    @classmethod
    def writer(cls, runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor, release_id: str
               ) -> ReleaseSession:
        """A release to record into without reading it first (a note, a forced unlock): it works while
        the shared store is away (entries are spooled). Its state holds only what it records."""
        return cls(runbook=runbook, log=log, environment=environment, actor=actor,
                   state=ReleaseState(release_id=release_id, environment=environment))

    def log_status(self) -> str:
        """What people must be told about the log: "" while the shared store answers and nothing waits."""
        parts = []
        away = getattr(self.log, "last_error", "")
        if away:
            parts.append(f"the shared release log is away ({away})")
        if self.state.from_cache:
            parts.append("acting on the release as this machine last saw it")
        waiting = getattr(self.log, "pending_count", lambda: 0)()
        if waiting:
            parts.append(f"{waiting} log entries wait in the local spool and are replayed, in order, when it answers")
        if self.witness_problem:  # the head could not be written to git (proof.py)
            parts.append(self.witness_problem)
        return "; ".join(parts)

    @property
    def opened(self) -> bool:
        """A release was opened (not the placeholder of an environment without releases)."""
        return self.state.target is not None

    @property
    def target(self) -> Target:
        assert self.state.target is not None
        return self.state.target

    @property
    def release_id(self) -> str:
        return self.state.release_id

    # -- the one writer --------------------------------------------------------------
    async def record(self, kind: str, payload: dict[str, Any], *, guard: Guard | None = None,
                     actor: Actor | None = None) -> Entry:
        """Append one entry of this release and fold it in. The payload is scrubbed of known secrets and
        made representable (no lone surrogates from remote text or odd argv);
        a guard (the lock) runs inside the store's serialised append and may refuse it. `actor`: who acts
        when it is not the session's person (a watcher in this process, core/watch.py)."""
        new = NewEntry(release_id=self.release_id, environment=self.environment, kind=kind,
                       payload=representable(redact_obj(payload)), actor=actor or self.actor, at=self.clock())
        self._written.add(new.uid)  # before the append: a catch-up reading meanwhile must not fold it too
        entry = await asyncio.to_thread(self._append, new, guard)
        self.state.apply(entry)
        await self._witness(entry)  # GO, a stage's end, the close: the head goes outside the store too
        return entry

    def _remember(self, entries: list[Entry]) -> None:
        if entries and (cache := _seen(self.log)) is not None:
            cache.note(self.environment, entries)

    def _append(self, new: NewEntry, guard: Guard | None) -> Entry:
        """In a thread: the decision signed (proof.py), the append, then the note in this machine's last-seen
        cache (file I/O too)."""
        new = self._signed(new)
        entry = self.log.append(new) if guard is None else self.log.append_guarded(new, guard)
        self._remember([entry])
        return entry

    async def refresh(self) -> ReleaseState:
        """Fold in the entries appended since we last read (by another cockpit or command): only those.
        With the store away the state stays as it is (log_status says so)."""
        await self.catch_up()
        return self.state

    async def catch_up(self) -> list[Entry]:
        """refresh, returning the entries others appended (what another terminal did, with who did it)."""
        def read() -> list[Entry]:
            out, after = [], self._read_through
            while True:
                page = self.log.page(LogFilter(release_id=self.release_id), after_seq=after, limit=_PAGE)
                out += page
                if len(page) < _PAGE:
                    self._remember(out)
                    return out
                after = page[-1].seq

        async with self._reading:  # one catch-up at a time: two would fold the same entries twice
            try:
                entries = await asyncio.to_thread(read)
            except LogUnavailable:
                return []
            return self._fold_news(entries)

    def _fold_news(self, entries: list[Entry]) -> list[Entry]:
        news: list[Entry] = []
        for e in entries:
            self._read_through = max(self._read_through, e.seq)
            if e.uid in self._written:  # ours, folded when it was written (maybe spooled then)
                self._written.discard(e.uid)
                continue
            self.state.apply(e)
            news.append(e)
        return news

    # -- evidence ----------------------------------------------------------------------
    def context(self, stage: str | None = None) -> CheckContext:
        from cockpit.core.checks.context import CheckContext  # startup: the flag commands take no evidence

        return CheckContext(runbook=self.runbook, environment=self.environment, target=self.target,
                            rollback_ref=self.state.signoff.rollback_ref if self.state.signoff else None,
                            ticks=dict(self.state.ticks), stage=stage)

    async def take_evidence(self, check_ids: Sequence[str] | None = None, *,
                            on_result: Callable[[Evidence], None] | None = None,
                            record: bool | Literal["changed"] = True) -> list[Evidence]:
        """Take evidence now. record=True logs all of it; "changed" (the periodic refresh) logs only
        what changed status since it was last seen, so the log shows when health turned without a
        flood of identical entries; False logs nothing."""
        from cockpit.core.checks import take_all  # startup: the flag commands take no evidence

        checks = [c for c in self.runbook.checks if check_ids is None or c.id in check_ids]
        evidence = await take_all(checks, self.context(), on_result=on_result)
        if record == "changed":
            to_log = [e for e in evidence if self._status_changed(e)]
        else:
            to_log = evidence if record else []
        if to_log:
            payload: dict[str, Any] = {"evidence": [e.to_json() for e in to_log]}
            if record == "changed":
                payload["refresh"] = True  # a periodic re-take: only the items whose status changed
            await self.record(kinds.EVIDENCE_TAKEN, payload)
        for e in evidence:
            self.state.evidence[e.check_id] = e
        return evidence

    def _status_changed(self, e: Evidence) -> bool:
        before = self.state.evidence.get(e.check_id)
        return before is None or before.status is not e.status

    def verdict(self, *, require_signoff: bool = False, stage: str | None = None) -> Verdict:
        return evaluate(
            self.runbook, self.state.evidence, now=self.clock(), environment=self.environment,
            target_on_main=self.target_on_main, main_problem=self.main_problem,
            signoff=self.state.signoff, require_signoff=require_signoff,
            stage=stage, stable_stages=self.state.stages_with(StageStatus.STABLE),
            started_stages=self.state.started_stages,
            # Judged before GO only: a release in flight passed it when it went GO.
            promotion=self.promotion() if stage is None and self.state.phase.before_go else None,
        )

    def promotion(self) -> Promotion | None:
        """What the log says of this target in the environment it must pass first (None: no such rule).

        verdict() runs on every redraw, so the log is read again only when this release moved on (an action
        here, another terminal's entry folded in) or the last reading is REREAD_AFTER old; the window is
        judged at the verdict's own `now`. While the shared store is known to be away the last good
        reading stands: a redraw never waits for a connection."""
        source = rule(self.runbook, self.environment)
        if self.state.target is None or source is None:
            return None
        now, kept, away = self.clock(), self._promotion, getattr(self.log, "last_error", "")
        if kept is not None:
            seq, at, last = kept
            if away or (seq == self.state.last_seq and now - at < REREAD_AFTER and not last.unreadable):
                return last
        elif away:
            return Promotion(source[0], self.target.sha, source[1], unreadable=away)
        read = read_promotion(self.log, *source, self.target.sha)
        if read.unreadable and kept is not None and not kept[2].unreadable:
            return kept[2]  # the store went away since: what it said last still stands
        self._promotion = (self.state.last_seq, now, read)
        return read

    # -- people ------------------------------------------------------------------------
    def tick_refusal(self) -> str | None:
        """Why no item may be ticked now (before GO, or during the cutover: stage items), or None."""
        phase = self.state.phase
        if phase.before_go or phase.holds_lock:
            return None
        return f"the release is '{phase}': its items are no longer ticked"

    def signoff_refusal(self) -> str | None:
        """Why no sign-off (nor GO / NO-GO) may be recorded now, or None."""
        if self.state.phase.before_go:
            return None
        return f"the release is '{self.state.phase}': sign-off, GO and NO-GO are recorded before GO"

    async def tick(self, check_id: str, note: str) -> Entry:
        await self.refresh()
        if refusal := self.tick_refusal():
            raise ActionRefused(refusal)
        check = self.runbook.check(check_id)
        if check.kind != "manual":
            raise ActionRefused(f"'{check_id}' is taken by the cockpit, not ticked by hand")
        if not note.strip():
            raise ActionRefused("a tick needs a note: what was checked, where the proof is")
        return await self.record(kinds.ITEM_TICKED, {"check_id": check_id, "note": note.strip()})

    def validate_rollback_ref(self, rollback_ref: str) -> list[str]:
        return gitrepo.validate_rollback_ref(self.runbook.repo_path, rollback_ref, self.target.sha)

    async def sign_off(self, release_owner: str, rollback_owner: str, rollback_ref: str,
                       roles: Mapping[str, str] | None = None) -> SignOff:
        """roles: the people named for the runbook's other roles ([release] roles), e.g. its Incident Comms Owner."""
        try:
            named = assign_roles(self.runbook.release.roles, release_owner, rollback_owner, roles or {})
        except ValueError as e:
            raise ActionRefused(str(e)) from None
        await self.refresh()  # another terminal may have gone GO meanwhile
        if refusal := self.signoff_refusal():
            raise ActionRefused(refusal)
        ref = rollback_ref.strip()
        problems = await asyncio.to_thread(self.validate_rollback_ref, ref) if ref else []
        sha = ""
        if ref and not problems:
            sha = await asyncio.to_thread(gitrepo.resolve, self.runbook.repo_path, ref)
        await self.record(kinds.SIGNOFF_RECORDED, {
            "release_owner": release_owner.strip(), "rollback_owner": rollback_owner.strip(),
            "rollback_ref": ref, "rollback_sha": sha, "problems": problems, "roles": named,
        })
        assert self.state.signoff is not None
        return self.state.signoff

    async def decide_nogo(self, reason: str) -> Entry:
        if not reason.strip():
            raise ActionRefused("a NO-GO needs a reason")
        await self.refresh()
        if refusal := self.signoff_refusal():
            raise ActionRefused(refusal)
        return await self.record(kinds.DECISION_NOGO, {"reason": reason.strip(),
                                                        "reasons": self.verdict(require_signoff=True).reasons})

    async def note(self, text: str) -> Entry:
        return await self.record(kinds.NOTE, {"text": text})

    # -- flags ---------------------------------------------------------------------------
    @property
    def break_glass(self) -> bool:
        """A flip in a protected environment outside a release in flight is break-glass: it needs a
        reason and is logged as such."""
        return self.runbook.environments[self.environment].protected and not self.state.phase.in_flight

    def flag_backend(self) -> FlagBackend:
        """The runbook's flag service; raises MissingSecret / FlagError when it cannot be reached."""
        from cockpit.core.flags.factory import make_backend  # startup: the flag clients load only when used

        return make_backend(self.runbook, self.environment)

    async def flip_flags(self, wanted: Mapping[str, bool], *, reason: str, stage: str | None = None,
                         restore: bool = False, backend: FlagBackend | None = None,
                         backoff: float = 0.5) -> KillSwitchResult:
        """Flip flags (all at once), each flip recorded. restore=True leaves alone the flags already in
        the wanted state (the rollback's snapshot restore). A given backend is not closed here."""
        if self.break_glass and not reason.strip():
            raise ActionRefused("a break-glass flip needs a reason")
        if self.break_glass and any(wanted.values()) and (unsignable := await asyncio.to_thread(self.signing_refusal)):
            raise ActionRefused(unsignable)  # turning off (the kill switch) never waits for a key (proof.py)
        if stage is not None and not restore and any(wanted.values()):
            await self.open_stage_windows(stage)  # the baselines are sampled before the flags go on
        own = backend is None
        backend = backend or self.flag_backend()
        kw: dict[str, Any] = {"reason": reason, "actor": self.actor, "record": self.record,
                              "break_glass": self.break_glass, "stage": stage, "backoff": backoff,
                              "retries": self.runbook.flags.retries if self.runbook.flags else 3}
        try:
            if restore:
                return await flip.restore_snapshot(backend, wanted, **kw)
            return await flip.flip_many(backend, wanted, **kw)
        finally:
            if own:
                await backend.aclose()

    async def flip(self, flag: str, enabled: bool, *, reason: str, backend: FlagBackend | None = None) -> FlipResult:
        """One flag on or off (`cockpit flags set`), recorded with the stage it belongs to."""
        result = await self.flip_flags({flag: enabled}, reason=reason, stage=self.runbook.stage_of(flag),
                                       backend=backend)
        return result.results[0]

    async def kill(self, flags: Iterable[str], *, reason: str, stage: str | None = None,
                   backend: FlagBackend | None = None) -> KillSwitchResult:
        """The kill switch: every flag off at once (seed 001's emergency rollback: all OFF in under 2 minutes)."""
        if not reason.strip():
            raise ActionRefused("the kill switch needs a reason")
        return await self.flip_flags({f: False for f in dict.fromkeys(flags)}, reason=reason, stage=stage,
                                     backend=backend)
