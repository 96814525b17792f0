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
from cockpit.ui.view import DemoHints
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


def demo_text(demo: DemoHints) -> Text:
    """Where the demo runs and the exact commands to try from another terminal; Text, never markup."""
    t = Text()
    t.append("cockpit demo: a target on this machine and a scratch checkout\n", style="bold")
    for label, value in (("target", demo.url), ("flag API", demo.flags_url), ("runbook", demo.runbook),
                         ("scratch", demo.scratch + ("  (removed when the demo ends)" if demo.removed_on_exit else ""))):
        t.append(f"{label:<10}", style="dim")
        t.append(value + "\n")
    t.append("Try, from another terminal (then r here re-takes the evidence at once):\n", style="bold")
    for command in demo.commands:
        t.append(f"  {command}\n")
    t.rstrip()
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, demo: DemoHints | None = None) -> None:
        super().__init__(classes="modal")
        self.demo = demo

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Release Cockpit — help", classes="title")
            with VerticalScroll():
                if self.demo is not None:
                    yield Static(demo_text(self.demo), id="demo", classes="section")
                yield Static(Text(ABOUT))
                yield Static(_table("Everywhere (also in the command palette, ctrl+p)", commands.GLOBAL))
                yield Static(_table("Readiness", commands.READINESS))
                yield Static(_table("Cutover", commands.CUTOVER))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # arrows and page keys scroll what does not fit

    def action_close(self) -> None:
        self.dismiss(None)
