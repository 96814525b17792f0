"""The GO / NO-GO banner with its reasons and the readiness progress N/M — or, once the release is
over or being rolled back, what happened to it instead (a verdict would no longer mean anything)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.gate import Verdict
    from cockpit.core.release import ReleaseState

CLOSED = "Sign-off, GO, NO-GO and the stage actions are closed"


def verdict_text(verdict: Verdict, taking: tuple[int, int] | None, *, label: str = "release checks",
                 max_reasons: int = 6) -> Text:
    t = Text()
    if verdict.go:
        t.append(" GO ", style="bold white on green")
    else:
        t.append(" NO-GO ", style="bold white on red")
    t.append(f"  {verdict.passed}/{verdict.counted} {label} pass")
    if taking is not None:
        t.append(f"   taking evidence {taking[0]}/{taking[1]}…", style="italic yellow")
    for r in verdict.reasons[:max_reasons]:
        t.append("\n • ")
        t.append(printable(r, one_line=True))
    if len(verdict.reasons) > max_reasons:
        t.append(f"\n … and {len(verdict.reasons) - max_reasons} more", style="dim")
    for w in verdict.warnings[:3]:
        t.append("\n ◦ ", style="yellow")
        t.append(printable(w, one_line=True), style="yellow")
    return t


def phase_text(state: ReleaseState) -> Text | None:
    """The banner of a release that is rolled back, being rolled back, or done; None while the gate decides."""
    phase, rb = state.phase.value, state.rollback
    if rb is None or rb.settled_stage:  # a stage rolled back alone: its row says so, the release goes on
        if not state.done:
            return None
        t = Text()
        t.append(" DONE ", style="bold white on green")
        t.append("  the release was closed: every stage stable")
        t.append(f"\n • {CLOSED}; the evidence and the stages stay as they were.")
        return t
    style = "bold white on red" if phase == "rollback failed" else "bold white on magenta"
    t = Text()
    t.append(f" {phase.upper()} ", style=style)
    scope = "the whole release" if rb.scope == "all" else rb.scope.replace("stage:", "stage ")
    t.append(f"  {printable(rb.by, one_line=True)} started rolling back {scope} at {rb.started_at:%H:%M}")
    if rb.finished_at is not None:
        t.append(f"; {rb.outcome} at {rb.finished_at:%H:%M}")
    steps = ", ".join(f"{k} {v.get('outcome', '?')}" for k, v in rb.steps.items())
    t.append(f"\n • steps: {steps or 'none finished yet'}")
    t.append(f"\n • {CLOSED}.")
    if phase != "rolled back":
        t.append("\n • ctrl+r opens the rollback to " + ("resume it." if phase == "rolling back" else "try again."))
    return t


class VerdictBanner(Static):
    DEFAULT_CSS = """
    VerdictBanner { height: auto; max-height: 10; padding: 0 1; border: round $primary; }
    VerdictBanner.-go { border: round $success; }
    VerdictBanner.-nogo { border: round $error; }
    VerdictBanner.-over { border: round $secondary; }
    """

    def show(self, verdict: Verdict, taking: tuple[int, int] | None, label: str = "release checks") -> None:
        self._look("-go" if verdict.go else "-nogo")
        self.update(verdict_text(verdict, taking, label=label))

    def show_over(self, text: Text) -> None:
        """What became of the release, instead of a verdict."""
        self._look("-over")
        self.update(text)

    def _look(self, name: str) -> None:
        for look in ("-go", "-nogo", "-over"):
            self.set_class(look == name, look)
