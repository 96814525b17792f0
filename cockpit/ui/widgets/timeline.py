"""The release-day plan against what happened (core/timeline.py): one row per stage step, planned and
actual times, its outcome, and how late it is — late rows stand out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cockpit.runbook.durations import humanize
from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.release import ReleaseState
    from cockpit.core.timeline import TimelineRow

OUTCOME_STYLE = {"done": "green", "failed": "bold red", "skipped": "yellow", "started": "bold cyan",
                 "pending": "dim"}


def _hm(at: datetime | None) -> Text:
    return Text(f"{at:%H:%M}") if at else Text("--:--", style="dim")


def timeline_view(state: ReleaseState, rows: list[TimelineRow], now: datetime, *, stage: str | None = None,
                  titles: Mapping[tuple[str, str], str] | None = None) -> Group | Text:
    """The plan as a table; `stage`'s rows in bold (the one highlighted on the cutover screen). `titles`:
    (stage, step) -> what it does, for steps the plan names only by their kind."""
    if not rows:
        return Text("No release-day plan: the plan is fixed at GO from the stages' steps, and this release's "
                    "stages had none then.", style="dim")
    late = [r for r in rows if r.late_by]
    head = Text()
    head.append("Release-day plan", style="bold")
    if state.decision is not None:
        head.append(f" · fixed at GO {state.decision.at:%H:%M}")
    head.append(f" · now {now:%H:%M} · ")
    head.append(f"{len(late)} late" if late else "on time", style="bold red" if late else "green")
    table = Table(box=None, padding=(0, 1), expand=True, header_style="bold")
    table.add_column("Stage", no_wrap=True)
    table.add_column("Step", no_wrap=True)
    table.add_column("Planned", no_wrap=True)
    table.add_column("Started", no_wrap=True)
    table.add_column("Ended", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Late", no_wrap=True)
    table.add_column("What", ratio=1, no_wrap=True, overflow="ellipsis")
    for r in rows:
        ended = r.finished if r.outcome in ("done", "failed", "skipped") else None
        table.add_row(
            Text(r.stage, style="bold" if r.stage == stage else ""),
            Text(r.step, style="bold red" if r.late_by else ("bold" if r.stage == stage else "")),
            _hm(r.planned), _hm(r.started), _hm(ended),
            Text(r.outcome, style=OUTCOME_STYLE.get(r.outcome, "")),
            Text(f" {humanize(r.late_by)} ", style="bold white on red") if r.late_by else Text(""),
            Text(printable((titles or {}).get((r.stage, r.step), r.title), one_line=True)),
        )
    return Group(head, table)


class TimelinePanel(VerticalScroll):
    """The plan against actual, scrolled when it is longer than the screen."""

    DEFAULT_CSS = """
    TimelinePanel { height: 1fr; padding: 0 1; border-top: solid $primary-darken-2; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-body")

    def show(self, view: Group | Text) -> None:
        self.query_one("#timeline-body", Static).update(view)
