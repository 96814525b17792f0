"""Small modal screens: ask for one line of text (a note, a reason), show a long text."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class PromptScreen(ModalScreen[str | None]):
    """Returns the typed text (stripped; non-empty unless required=False) or None when cancelled.
    Enter submits."""

    # Its own look, so any app can push it (the log browser runs without the cockpit's CSS);
    # the same as the cockpit's .modal/.dialog rules.
    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > .dialog { width: 70; max-width: 96%; height: auto; max-height: 94%;
                             border: thick $primary; background: $surface; padding: 1 2; }
    PromptScreen .title { text-style: bold; margin-bottom: 1; }
    PromptScreen .buttons { height: auto; align-horizontal: right; margin-top: 1; }
    PromptScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, question: str, placeholder: str = "", *, submit: str = "Record",
                 required: bool = True) -> None:
        super().__init__(classes="modal")
        self._title, self._question, self._placeholder, self._submit = title, question, placeholder, submit
        self._required = required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title), classes="title")
            yield Static(Text(self._question), classes="question")
            yield Input(placeholder=self._placeholder, id="answer")
            yield Static(id="wanted", classes="wanted")  # shown when Enter is pressed on an empty answer
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self._submit, id="ok", variant="primary", disabled=self._required)

    def on_mount(self) -> None:
        self.query_one("#wanted", Static).display = False
        self.query_one("#answer", Input).focus()

    @on(Input.Changed, "#answer")
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#ok", Button).disabled = self._required and not event.value.strip()

    @on(Input.Submitted, "#answer")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        value = self.query_one("#answer", Input).value.strip()
        if value or not self._required:
            self.dismiss(value)
            return
        # Never a silent refusal: say what is wanted (the placeholder names it), and how to leave.
        wanted = self.query_one("#wanted", Static)
        wanted.update(Text(f"Nothing recorded yet: type {self._placeholder or 'an answer'} first (Esc cancels).",
                           style="bold yellow"))
        wanted.display = True

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TextScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, body: Text) -> None:
        super().__init__(classes="modal")
        self._title, self._body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text(self._title), classes="title")
            with VerticalScroll():
                yield Static(self._body)
            yield Label(Text("esc to close", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
