"""Confirmation before anything that changes production: a typed ModalScreen[bool].

With `type_to_confirm`, the person must type that text (e.g. the short target SHA) — a guard
against a reflexive Enter under stress.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 72; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmScreen .title { text-style: bold; margin-bottom: 1; }
    ConfirmScreen .body { margin-bottom: 1; height: auto; max-height: 16; overflow-y: auto; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, body: str | Text, *, confirm_label: str = "Confirm",
                 type_to_confirm: str | None = None, danger: bool = True) -> None:
        super().__init__()
        self._title = title
        self._body = body if isinstance(body, Text) else Text(body)  # Text: never parsed as markup
        self._label = confirm_label
        self._expected = type_to_confirm
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self._title), classes="title")
            yield Static(self._body, classes="body")
            if self._expected:
                yield Label(Text(f"Type {self._expected} to confirm:"))
                yield Input(placeholder=self._expected, id="typed")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(self._label, id="confirm", variant="error" if self._danger else "primary",
                             disabled=bool(self._expected))

    def on_mount(self) -> None:
        self.query_one("#typed" if self._expected else "#cancel").focus()

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip().lower() != (self._expected or "").lower()

    @on(Input.Submitted, "#typed")
    def _submitted(self) -> None:
        if not self.query_one("#confirm", Button).disabled:
            self.dismiss(True)
            return
        # Never a silent refusal: the typed text does not match; say what is wanted.
        self.notify(f"Type {self._expected} exactly to confirm (Esc cancels).", title="Not confirmed",
                    severity="warning", markup=False)

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
