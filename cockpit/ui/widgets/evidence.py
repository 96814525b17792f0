"""How one check's evidence reads on screen: a status cell, an age, a detail pane. Always Text, never markup."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from cockpit.core.evidence import Evidence, Status
from cockpit.runbook.durations import humanize
from cockpit.runbook.textsafe import printable, shorten

if TYPE_CHECKING:
    from cockpit.runbook.config import CheckConfig
    from cockpit.runbook.outline import CheckOutline

STATUS_STYLE = {
    Status.PASS: ("✔ pass", "bold green"),
    Status.FAIL: ("✘ fail", "bold red"),
    Status.ERROR: ("! error", "bold red"),
    Status.STALE: ("⌛ stale", "bold yellow"),
    Status.PENDING: ("… pending", "dim"),
    Status.INCONCLUSIVE: ("? no data", "bold yellow"),
}


def status_cell(ev: Evidence | None) -> Text:
    label, style = STATUS_STYLE[ev.status if ev else Status.PENDING]
    return Text(label, style=style)


def requirement_cell(check: CheckConfig | CheckOutline) -> Text:
    return Text("MUST", style="bold") if check.blocking else Text("SHOULD", style="dim")


def detail_cell(check: CheckConfig | CheckOutline, ev: Evidence | None, width: int = 60) -> Text:
    if ev is None:
        return Text(shorten(check.prompt, width) if check.kind == "manual" else "not taken yet", style="dim")
    return Text(shorten(printable(ev.detail, one_line=True), width))


def age_cell(ev: Evidence | None, now: datetime) -> Text:
    return Text(humanize(ev.age(now)) if ev else "—", style="dim")


def detail_pane(check: CheckConfig, ev: Evidence | None, now: datetime) -> Text:
    t = Text()
    t.append(f"{check.label}", style="bold")
    t.append(f"   ({check.kind}, {'MUST' if check.blocking else 'SHOULD'}"
             f"{', stage ' + check.stage if check.stage else ''}"
             f"{', counts for ' + humanize(check.max_age) if check.max_age else ''})\n", style="dim")
    if check.kind == "manual":
        t.append(f"{check.prompt}\n")
    if ev is None:
        t.append("No evidence yet.", style="dim")
        return t
    t.append_text(status_cell(ev))
    t.append(f"   taken {humanize(ev.age(now))} ago in {ev.duration_ms:.0f} ms\n", style="dim")
    t.append(printable(ev.detail) + "\n")
    if ev.excerpt:
        t.append("─── raw excerpt ───\n", style="dim")
        t.append(printable(ev.excerpt))
    return t
