"""A small app hosting the rollback wizard for `cockpit rollback --config F` (and the tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App

from cockpit.core.evidence import utcnow
from cockpit.core.log.base import ReleaseLog
from cockpit.core.log.entry import Actor, current_actor
from cockpit.core.session import ReleaseSession
from cockpit.runbook.textsafe import printable
from cockpit.ui.live import LiveRelease, told
from cockpit.ui.screens.rollback import RollbackScreen

if TYPE_CHECKING:
    from cockpit.core.log.entry import Entry
    from cockpit.runbook.config import Runbook


class RollbackApp(LiveRelease, App[str | None]):
    TITLE = "cockpit rollback"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor, *,
                 clock: Callable[[], datetime] = utcnow, on_close: list[Callable[[], None]] | None = None,
                 release_id: str | None = None, **screen_kw: Any) -> None:
        super().__init__()
        self.release_args = (runbook, log, environment, actor)
        self.release_id = release_id
        self.session: ReleaseSession | None = None
        self.clock = clock
        self.screen_kw = screen_kw
        self.on_close = on_close or []

    def on_mount(self) -> None:
        self.attach()

    @work(exclusive=True, exit_on_error=False)
    async def attach(self) -> None:
        """The environment's current release, read from the log; the wizard acts on it."""
        try:
            session = await ReleaseSession.attach(*self.release_args, release_id=self.release_id, clock=self.clock)
        except Exception as e:  # noqa: BLE001 - said on exit, never a traceback on the incident screen
            self.exit(None, return_code=1, message=printable(f"cannot read the release log: {type(e).__name__}: {e}"))
            return
        if self.release_id and not session.opened:
            self.exit(None, return_code=1, message=printable(
                f"{session.environment} has no release {self.release_id} in the log"))
            return
        self.session = session
        self.push_screen(RollbackScreen(session, **self.screen_kw), self.exit)
        self.follow_log(session.log, session.runbook)

    def live_session(self) -> ReleaseSession | None:
        return self.session

    def release_changed(self, news: list[Entry]) -> None:
        """Another terminal acted on the release being rolled back: say who did what."""
        for line in told(news):
            self.notify(line, title="From another terminal", markup=False, timeout=10)

    async def action_quit(self) -> None:
        """ctrl+q while a step runs asks first, as the wizard's own leave key does."""
        screen = self.screen
        if isinstance(screen, RollbackScreen):
            screen.action_leave()
            return
        self.exit()

    def on_unmount(self) -> None:
        for fn in self.on_close:
            fn()


def make_rollback_app(runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor, *,
                      stage: str | None = None, clock: Callable[[], datetime] = utcnow, force: bool = False,
                      **kw: Any) -> RollbackApp:
    """The one factory used by the CLI and the tests."""
    return RollbackApp(runbook, log, environment, actor, stage=stage, clock=clock, force=force, **kw)


def run_rollback_app(runbook: Runbook, log: ReleaseLog, environment: str, *, stage: str | None = None,
                     actor: str | None = None, force: bool = False, release_id: str | None = None) -> int:
    """Run the wizard on a terminal; exit 0 when the rollback finished done, 1 otherwise."""
    outcome = make_rollback_app(runbook, log, environment, current_actor(actor), stage=stage, force=force,
                                release_id=release_id).run()
    return 0 if outcome == "done" else 1
