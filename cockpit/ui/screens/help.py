"""Help: every key, from the one action table, and what the cockpit is doing for you."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cockpit.ui import commands
from cockpit.ui.widgets.keybar import key_label

ABOUT = (
    "The cockpit takes the readiness evidence itself (re-taken every 30 s while open), says GO or NO-GO "
    "with its reasons, records sign-offs and the rollback ref, and flips flags stage by stage. Every step "
    "is an entry in the hash-chained release log: quit at any time, the release resumes where it was."
)


def _table(title: str, actions: list[commands.Action]) -> Table:
    t = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    for a in actions:
        t.add_row(Text(key_label(a.key), style="bold"), Text(a.title), Text(a.help, style="dim"))
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Release Cockpit — help", classes="title")
            with VerticalScroll():
                yield Static(Text(ABOUT))
                yield Static(_table("Everywhere (also in the command palette, ctrl+p)", commands.GLOBAL))
                yield Static(_table("Readiness", commands.READINESS))
                yield Static(_table("Cutover", commands.CUTOVER))

    def action_close(self) -> None:
        self.dismiss(None)
