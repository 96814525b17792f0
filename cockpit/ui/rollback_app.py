"""A small app hosting the rollback wizard for `cockpit rollback --config F` (and the tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.app import App

from cockpit.core.evidence import utcnow
from cockpit.core.log.base import ReleaseLog
from cockpit.core.log.entry import Actor
from cockpit.ui.screens.rollback import RollbackScreen

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook


class RollbackApp(App[str | None]):
    TITLE = "cockpit rollback"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor, *,
                 on_close: list[Callable[[], None]] | None = None, **screen_kw: Any) -> None:
        super().__init__()
        self.screen_args = (runbook, log, environment, actor)
        self.screen_kw = screen_kw
        self.on_close = on_close or []

    def on_mount(self) -> None:
        self.push_screen(RollbackScreen(*self.screen_args, **self.screen_kw), self.exit)

    def on_unmount(self) -> None:
        for fn in self.on_close:
            fn()


def make_rollback_app(runbook: Runbook, log: ReleaseLog, environment: str, actor: Actor, *,
                      stage: str | None = None, clock: Callable[[], datetime] = utcnow, force: bool = False,
                      **kw: Any) -> RollbackApp:
    """The one factory used by the CLI and the tests."""
    return RollbackApp(runbook, log, environment, actor, stage=stage, clock=clock, force=force, **kw)


def run_rollback_app(runbook: Runbook, environment: str, *, stage: str | None = None, actor: str | None = None,
                     force: bool = False) -> int:
    """Run the wizard on a terminal; exit 0 when the rollback finished done, 1 otherwise."""
    from cockpit.cli.common import opened_log
    from cockpit.core.log.entry import current_actor

    with opened_log(runbook) as log:
        outcome = make_rollback_app(runbook, log, environment, current_actor(actor), stage=stage, force=force).run()
    return 0 if outcome == "done" else 1
