"""What the cockpit's screens show, handed down to them: they never read it off the App.

The App owns one CockpitView, fills it in as the release opens and changes, and publishes
`changed`; each screen subscribes and redraws what changed (rows whose cells differ).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.signal import Signal

from cockpit.core.refusal import ActionRefused

if TYPE_CHECKING:
    from cockpit.core.guardrail import WindowState
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.config import Runbook
    from cockpit.runbook.outline import RunbookOutline


@dataclass(frozen=True)
class DemoHints:
    """What `cockpit demo` tells a newcomer inside the cockpit: where its target answers and what to
    try from another terminal. Shown as plain text (paths may hold `[`)."""

    url: str
    flags_url: str
    runbook: str
    scratch: str
    removed_on_exit: bool
    commands: tuple[str, ...]


@dataclass
class CockpitView:
    outline: RunbookOutline
    """What the checklist is drawn from; the validated runbook's own outline once it is loaded."""
    environment: str
    changed: Signal[CockpitView]
    runbook: Runbook | None = None
    """The validated runbook, once loaded (the release may still fail to open)."""
    session: ReleaseSession | None = None
    open_error: str | None = None
    """Why the release could not be opened (shown instead of its state)."""
    taking: tuple[int, int] | None = None
    """(done, total) while evidence is being taken, else None."""
    log_status: str = ""
    """Where the log is, entries waiting in the spool, who holds the environment's lock."""
    demo: DemoHints | None = None
    """Set by `cockpit demo`: its target and the commands to try (the help shows them)."""
    sampler: str = ""
    """Who samples the release's open windows: "this cockpit", another watcher's name, or "" (nobody)."""
    sampled_here: dict[str, WindowState] = field(default_factory=dict)
    """This cockpit's own watcher's windows while it holds the watch lease: every sample, where the log
    keeps only the changes."""

    def windows(self) -> list[WindowState]:
        """The release's windows as the cutover screen draws them: this cockpit's samples where it takes
        them, else what the log says (another watcher's entries, or the last state written)."""
        if self.session is None:
            return []
        out = []
        for w in self.session.windows():
            here = self.sampled_here.get(w.key)
            fresher = here is not None and w.is_open and here.opened_at == w.opened_at
            out.append(here if fresher else w)
        return out

    def publish(self) -> None:
        self.changed.publish(self)

    def require(self) -> ReleaseSession:
        """The open release, or ActionRefused saying why there is none yet."""
        if self.session is None:
            raise ActionRefused(self.open_error or "the release is still being opened")
        return self.session
