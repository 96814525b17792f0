"""The line at the top of every cockpit screen: release, target, phase, log and lock status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession

PHASE_STYLE = {
    "preparing": "bold yellow", "no-go": "bold red", "go": "bold green", "cutover": "bold cyan",
    "done": "bold green", "rolling back": "bold magenta", "rolled back": "bold magenta",
    "rollback failed": "bold red",
}


def release_line(session: ReleaseSession | None, error: str | None, log_status: str = "") -> Text:
    if session is None:
        return Text(error or "opening the release…", style="bold red" if error else "dim")
    s = session.state
    t = Text()
    t.append(f" {session.runbook.release.name} ", style="bold reverse")
    t.append(f" {session.environment} ", style="bold")
    t.append(f"target {session.target.ref}@{session.target.short}")
    if session.target_on_main is False:
        t.append(f" (NOT on {session.runbook.release.main})", style="bold red")
    t.append("  ")
    t.append(f" {s.phase.value.upper()} ", style=PHASE_STYLE.get(s.phase.value, "bold") + " reverse")
    t.append(f"  {s.release_id}", style="dim")
    if log_status:
        t.append(f"  {log_status}", style="dim")
    return t


class ReleaseBar(Static):
    DEFAULT_CSS = """
    ReleaseBar { height: 1; background: $panel; }
    """
