"""The GO / NO-GO banner with its reasons and the readiness progress N/M."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.gate import Verdict


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


class VerdictBanner(Static):
    DEFAULT_CSS = """
    VerdictBanner { height: auto; max-height: 10; padding: 0 1; border: round $primary; }
    VerdictBanner.-go { border: round $success; }
    VerdictBanner.-nogo { border: round $error; }
    """

    def show(self, verdict: Verdict, taking: tuple[int, int] | None, label: str = "release checks") -> None:
        self.set_class(verdict.go, "-go")
        self.set_class(not verdict.go, "-nogo")
        self.update(verdict_text(verdict, taking, label=label))
