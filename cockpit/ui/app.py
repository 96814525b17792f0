"""The release owner's cockpit: one App, two modes (readiness, cutover), modal forms on top.

Startup paints the readiness checklist from the runbook's outline first; then, in a thread, it
validates the runbook, opens its log and imports the core; then it opens the release (see
cockpit.core.opening). Nothing heavy is imported before the first paint (a test checks).

The shell is thin: every action is a worker that calls one method of the release
(cockpit.core.session.ReleaseSession). What the screens show is handed down to them as one
CockpitView (cockpit.ui.view); when it changes the app publishes it and each screen redraws the
rows that changed. Screens ask for work with messages (cockpit.ui.messages). Worker errors land in
one handler and become notifications.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker

from cockpit.core.evidence import Evidence, utcnow
from cockpit.core.opening import Opening, OpeningError
from cockpit.core.refusal import ActionRefused
from cockpit.runbook.outline import outline_of
from cockpit.ui import commands
from cockpit.ui.live import LiveRelease, told
from cockpit.ui.messages import RunCore, TakeEvidence
from cockpit.ui.screens.readiness import ReadinessScreen
from cockpit.ui.view import CockpitView, DemoHints
from cockpit.ui.worker_errors import WorkerErrors, notify_error

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook
    from cockpit.core.log.base import ReleaseLog
    from cockpit.core.log.entry import Actor, Entry
    from cockpit.core.session import ReleaseSession
    from cockpit.core.watch import Watcher
    from cockpit.ui.screens.cutover import CutoverScreen
    from cockpit.ui.screens.signoff import SignOffResult


def refusal_notified(action: Callable[..., None]) -> Callable[..., None]:
    """An action the release's state refuses (or that comes before the release is open) is a
    notification saying why; an exception out of an action handler would end the app."""

    @functools.wraps(action)
    def run(self: CockpitApp, *args: Any) -> None:
        try:
            action(self, *args)
        except ActionRefused as e:
            notify_error(self, e)

    return run


class CockpitApp(LiveRelease, WorkerErrors, App[None]):
    CSS_PATH = "cockpit.tcss"
    TITLE = "Release Cockpit"
    # Readiness starts as the default screen and becomes a mode in on_mount: a mode's first screen
    # makes Textual re-parse all CSS, which the first paint need not wait for. Cutover is built on first use.
    DEFAULT_MODE = "readiness"
    BINDINGS = commands.bindings(commands.GLOBAL)

    def __init__(self, opening: Opening, *, environment: str | None = None,
                 ref: str | None = None, actor: Actor | str | None = None, clock: Callable[[], datetime] = utcnow,
                 refresh_every: float | None = 30.0, take_on_open: bool = True,
                 demo: DemoHints | None = None, watch: bool = True) -> None:
        super().__init__()
        self.opening = opening
        environment = environment or opening.outline.default_environment
        self.view = CockpitView(outline=opening.outline, environment=environment,
                                changed=Signal(self, "release-changed"), demo=demo)
        """What the screens show; handed down to each of them."""
        self.runbook: Runbook | None = None
        self.log_store: ReleaseLog | None = None
        if opening.loaded is not None:
            self.runbook, self.log_store = opening.loaded
        self.startup_error: str | None = None
        """Why the runbook or its log could not be opened; the app exits and the CLI prints it (exit 2)."""
        self.environment = environment
        self.ref = ref
        self.actor: Actor | None = None if actor is None or isinstance(actor, str) else actor
        """Who acts; a name given (or none: COCKPIT_ACTOR, the OS user) is resolved after the first paint."""
        self._actor_name = actor if isinstance(actor, str) else None
        self.clock = clock
        self.refresh_every = refresh_every
        self.take_on_open = take_on_open
        self.watch = watch
        """Sample the release's open guardrail windows from here while the cockpit is open (off: another
        watcher's entries are shown, or nobody samples them)."""
        self._watcher: Watcher | None = None
        self.sub_title = f"{opening.outline.name} · {self.environment}"

    @property
    def session(self) -> ReleaseSession | None:
        return self.view.session

    @property
    def open_error(self) -> str | None:
        return self.view.open_error

    # -- lifecycle -------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return ReadinessScreen(self.view)

    def on_mount(self) -> None:
        # Readiness's stack exists: switch_mode returns to this screen. Cutover is built on first use.
        self.add_mode("readiness", lambda: ReadinessScreen(self.view))
        self.add_mode("cutover", lambda: _cutover_screen(self.view))
        # Paint the checklist first, then open the release: opening validates the runbook, reads
        # the log and asks git, which would otherwise hold up the first paint.
        self.call_after_refresh(self.open_release)
        self.view.changed.subscribe(self, lambda _: self._keep_watching())  # a flip here or elsewhere
        if self.refresh_every:
            self.set_interval(self.refresh_every, self._auto_refresh)
            self.set_interval(5.0, self.poll_log_status)

    @work(exclusive=True, group="open", exit_on_error=False)
    async def open_release(self) -> None:
        try:
            session_class = await asyncio.to_thread(self._load)
        except OpeningError as e:
            self.startup_error = str(e)
            self.exit(return_code=2)
            return
        assert self.runbook is not None and self.log_store is not None and self.actor is not None
        view = self.view
        view.runbook, view.outline = self.runbook, outline_of(self.runbook)
        try:
            session = await session_class.open(self.runbook, self.log_store, self.environment, self.actor,
                                               self.ref, clock=self.clock)
        except Exception as e:  # shown on the screen: the cockpit must say why it cannot open the release
            view.open_error = f"{type(e).__name__}: {e}" if not isinstance(e, ActionRefused) else str(e)
            view.publish()
            raise
        view.session = session
        self.sub_title = f"{view.outline.name} · {self.environment} · {session.release_id}"
        self.poll_log_status()
        view.publish()
        self.follow_log(self.log_store, self.runbook)
        if session.state.phase.in_flight:
            self.switch_mode("cutover")
        if self.take_on_open:  # after the release's state is on screen
            self.call_after_refresh(self.take_evidence)

    def _load(self) -> type[ReleaseSession]:
        """Off the event loop, after the first paint: validate the runbook (pydantic), open its log,
        say who acts (asks git), and import the core. Raises OpeningError."""
        # startup: the core is imported here, in a thread, after the first paint
        from cockpit.core.log.entry import current_actor
        from cockpit.core.session import ReleaseSession

        if self.runbook is None or self.log_store is None:
            self.runbook, self.log_store = self.opening.load()
        if self.actor is None:
            self.actor = current_actor(self._actor_name)
        return ReleaseSession

    @work(exclusive=True, group="log-status", exit_on_error=False)
    async def poll_log_status(self) -> None:
        """Spool backlog and lock holder (the release keeps its lock's lease renewed while it holds it)."""
        session = self.view.session
        if session is None:
            return
        log = await asyncio.to_thread(session.log_status)  # the shared log away, entries waiting to replay
        lock = await session.keep_lease()
        status = " · ".join(p for p in (log, lock) if p)
        sampler = await self._lease_holder(session)
        if (status, sampler) != (self.view.log_status, self.view.sampler):
            self.view.log_status, self.view.sampler = status, sampler
            self.view.publish()

    # -- the watched windows (cockpit.core.watch): sampled from here while the cockpit is open ------
    def _keep_watching(self) -> None:
        """Start the watcher when a window of the release is open and it is not running (a flip here, or
        one another terminal made, opened it); it stops by itself when no window is open."""
        session = self.view.session
        if not self.watch or session is None or not session.state.phase.in_flight:
            return
        if any(w.group == "watch" and not w.is_finished for w in self.workers):
            return
        if any(w.is_open or (w.breached_at is not None and not w.acted) for w in session.windows()):
            self.watch_windows()

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_windows(self) -> None:
        """`cockpit watch`'s loop inside the cockpit: it samples and acts only while it holds the
        environment's watch lease; meanwhile another watcher's entries come in by the live follow."""
        watcher = await self._watcher_for(self._session())
        try:
            while True:
                wait = await watcher.round()
                self._watched(watcher)
                if wait is None:
                    return
                await asyncio.sleep(wait)
        finally:
            await watcher.give_back()
            self._watched(watcher)

    async def _watcher_for(self, session: ReleaseSession) -> Watcher:
        if self._watcher is None:
            # startup: loaded when a window first opens
            from cockpit.core.session import ReleaseSession
            from cockpit.core.watch import Watcher, watch_actor

            actor = watch_actor(session.actor)
            # A session of its own on the same log: its reads must not swallow what the live follow tells
            # this cockpit (and its entries come back to the cockpit's session through that follow).
            own = await ReleaseSession.attach(session.runbook, session.log, session.environment, actor,
                                              release_id=session.release_id, clock=self.clock)
            self._watcher = Watcher(own, actor)
        return self._watcher

    def _watched(self, watcher: Watcher) -> None:
        from cockpit.ui.widgets.windows import HERE  # startup: loaded with the watcher

        view = self.view
        view.sampler = HERE if watcher.holding else watcher.waiting_for
        view.sampled_here = {w.key: w for w in watcher.session.windows()} if watcher.holding else {}
        view.publish()

    async def _lease_holder(self, session: ReleaseSession) -> str:
        """Who holds the environment's watch lease now: this cockpit, another watcher's name, or ""."""
        from cockpit.core.log import lock  # startup: the release is open by now
        from cockpit.core.log.base import LogUnavailable
        from cockpit.ui.widgets.windows import HERE

        if self._watcher is not None and self._watcher.holding:
            return HERE
        try:
            row = await asyncio.to_thread(session.log.lock_row, session.environment + lock.WATCH_LEASE)
        except LogUnavailable:
            return self.view.sampler
        held = lock.current(row, session.clock())
        if held is None or held.release_id != session.release_id:
            return ""
        return HERE if self._watcher is not None and held.holder.name == self._watcher.actor.name \
            else held.holder.name

    async def _stop_watching(self) -> None:
        """Give the watch lease back on the way out, so another watcher takes over at once (a write the
        loop had under way is then refused by the lease's guard, never made without it)."""
        if self._watcher is not None:
            await self._watcher.give_back()
        self.workers.cancel_group(self, "watch")

    # -- what other terminals do (cockpit.ui.live) ----------------------------------------------
    def live_session(self) -> ReleaseSession | None:
        return self.view.session

    def release_changed(self, news: list[Entry]) -> None:
        """Another cockpit or command acted on this release: show it, say who, and re-read the lock."""
        self.view.publish()
        for line in told([e for e in news if not e.kind.startswith("guardrail.")]):
            self.notify(line, title="From another terminal", markup=False, timeout=10)
        for line in told([e for e in news if e.kind.startswith("guardrail.")]):  # this cockpit's watcher's too
            self.notify(line, title="Guardrail", severity="error", markup=False, timeout=20)
        self.poll_log_status()
        session = self.view.session
        if session is not None and session.state.phase.in_flight and self.current_mode == "readiness":
            self.switch_mode("cutover")

    # -- worker errors: notified by WorkerErrors; a failed take ends its progress ---------------
    def worker_failed(self, error: BaseException | None, worker: Worker) -> None:
        if self.view.taking is not None:
            self.view.taking = None
            self.view.publish()

    # -- evidence ------------------------------------------------------------------------
    @work(exclusive=True, group="evidence", exit_on_error=False)
    async def take_evidence(self, check_ids: list[str] | None = None, record: bool | str = True) -> None:
        session, view = self._session(), self.view
        total = len([c for c in session.runbook.checks if check_ids is None or c.id in check_ids])
        done = 0
        view.taking = (0, total)
        view.publish()

        def step(_: Evidence) -> None:
            nonlocal done
            done += 1
            view.taking = (done, total)
            view.publish()

        await session.take_evidence(check_ids, on_result=step, record=record)
        view.taking = None
        view.publish()

    def _auto_refresh(self) -> None:
        if self.session is None or any(w.group == "evidence" and w.is_running for w in self.workers):
            return
        self.take_evidence(record="changed")  # the log shows when an item turned, not every re-take

    def _session(self) -> ReleaseSession:
        return self.view.require()

    # -- what screens ask for --------------------------------------------------------------
    @on(RunCore)
    def _run_requested(self, message: RunCore) -> None:
        self.run_core(message.work(), success=message.success)

    @on(TakeEvidence)
    def _take_requested(self, message: TakeEvidence) -> None:
        self.take_evidence(message.check_ids)

    # -- global actions ------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Leaving while an action with side effects runs (a flip, GO, a stage) asks first: leaving
        cancels it half-way."""
        if not any(w.group in ("action", "rollback-step") and w.is_running for w in self.workers):
            await self._leave()
            return
        from cockpit.ui.widgets.confirm import ConfirmScreen  # startup: loaded on first use

        async def leave(ok: bool | None) -> None:
            if ok:
                await self._leave()

        self.push_screen(ConfirmScreen("Quit while an action runs?",
                                       "It is cancelled half-way; what it recorded stays in the log.",
                                       confirm_label="Quit"), leave)

    async def _leave(self) -> None:
        await self._stop_watching()
        self.exit()


    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """What the release's phase has ruled out shows disabled (key bar, palette), never refused once tried."""
        return None if commands.closed(action, self.view.session) else True

    def action_retake(self) -> None:
        self.take_evidence()

    def action_switch(self, mode: str) -> None:
        self.switch_mode(mode)

    def action_help(self) -> None:
        from cockpit.ui.screens.help import HelpScreen  # startup: modal screens load on first use

        self.push_screen(HelpScreen(self.view.demo))

    @refusal_notified
    def action_signoff(self) -> None:
        from cockpit.ui.screens.signoff import SignOffScreen  # startup: loaded on first use

        session = self._session()
        self.push_screen(SignOffScreen(session), self._signed)

    def _signed(self, result: SignOffResult | None) -> None:
        if result is not None:
            self.run_core(self._sign_off(result))

    async def _sign_off(self, r: SignOffResult) -> None:
        signoff = await self._session().sign_off(r.release_owner, r.rollback_owner, r.rollback_ref, roles=r.roles)
        if signoff.problems:
            self.notify("Recorded, but the rollback ref is not usable: " + "; ".join(signoff.problems),
                        severity="warning", markup=False)
        else:
            others = "".join(f", {role} {name or '(nobody yet)'}" for role, name in r.roles.items())
            self.notify(f"Sign-off recorded: {signoff.release_owner} / {signoff.rollback_owner}{others}, "
                        f"rollback to {signoff.rollback_ref}", markup=False)
        self.take_evidence()  # checks that depend on the rollback ref can now be taken

    @refusal_notified
    def action_go(self) -> None:
        from cockpit.ui.widgets.confirm import ConfirmScreen  # startup: loaded on first use

        session = self._session()
        verdict = session.verdict(require_signoff=True)
        if not verdict.go:
            self.notify("GO is not possible:\n• " + "\n• ".join(verdict.reasons), title="NO-GO",
                        severity="warning", markup=False, timeout=12)
            return
        body = (f"Target {session.target.ref}@{session.target.short} to {session.environment}.\n"
                f"Release Owner {session.state.signoff.release_owner if session.state.signoff else '?'}; "
                f"rollback to {session.state.signoff.rollback_ref if session.state.signoff else '?'}.")
        self.push_screen(ConfirmScreen("Give GO", body, confirm_label="GO", type_to_confirm=session.target.short),
                         lambda ok: self.run_core(self._go(session.target.short)) if ok else None)

    async def _go(self, confirmation: str) -> None:
        outcome = await self._session().go(confirmation)
        for p in outcome.problems:
            self.notify(p, severity="warning", markup=False, timeout=15)
        self.notify("GO recorded. The cutover can start.", title="GO", markup=False)
        self.switch_mode("cutover")

    @refusal_notified
    def action_nogo(self) -> None:
        from cockpit.ui.screens.prompt import PromptScreen  # startup: loaded on first use

        self._session()
        self.push_screen(PromptScreen("Record NO-GO", "Why is this release NO-GO?", "reason"),
                         lambda reason: self.run_core(self._session().decide_nogo(reason)) if reason else None)

    @refusal_notified
    def action_rollback(self) -> None:
        """The incident commander's wizard on this environment's release, on top of the cockpit; after a
        guardrail breach that left flags on, with the breach as its reason."""
        from cockpit.ui.screens.rollback import RollbackScreen  # startup: loaded on first use
        from cockpit.ui.widgets.windows import rollback_reason

        session = self._session()
        self.push_screen(RollbackScreen(session, reason=rollback_reason(session)),
                         lambda _: self.run_core(session.refresh()))

    @work(exclusive=True, group="browse", thread=True, exit_on_error=False)
    def action_browse(self) -> None:
        """The auditor's read-only browser over this runbook's log (its own read-only connection)."""
        # startup: the browser loads on first use
        from cockpit.ui.browser.screen import BrowserScreen
        from cockpit.ui.browser.source import open_source

        source = open_source(self._session().runbook)
        self.call_from_thread(self.push_screen, BrowserScreen(source), lambda _: source.close())

    # -- helpers ---------------------------------------------------------------------------
    def run_core(self, coro: Any, *, success: str | None = None) -> None:
        """Run one core coroutine in a worker; re-render after it; errors go to the one handler."""
        async def job() -> None:
            try:
                await coro
            finally:
                self.view.publish()
            if success:
                self.notify(success, markup=False)

        self.run_worker(job(), group="action", exit_on_error=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for a in commands.GLOBAL + getattr(screen, "ACTIONS", []):
            if a.action == "quit":
                continue
            if why := commands.closed(a.action, self.view.session):  # found by name, not listed; says why
                yield SystemCommand(a.title, f"Not now: {why}", lambda why=why: self.notify(
                    why, title="Not now", severity="warning", markup=False), discover=False)
                continue
            yield SystemCommand(a.title, a.help, lambda a=a: self.run_action_string(a.action, screen))

    def run_action_string(self, action: str, screen: Screen) -> None:
        target = screen if any(a.action == action for a in getattr(screen, "ACTIONS", [])) else self
        self.call_later(target.run_action, action)


def _cutover_screen(view: CockpitView) -> CutoverScreen:
    from cockpit.ui.screens.cutover import CutoverScreen  # startup budget: imported when the cutover starts

    return CutoverScreen(view)


def make_app(runbook: Runbook, log: ReleaseLog, **kw: Any) -> CockpitApp:
    """The cockpit on a runbook and log already open (tests, scenes); `cockpit run` opens them itself."""
    return CockpitApp(Opening.ready(runbook, log), **kw)
