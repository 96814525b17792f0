"""The footer line of the cockpit's screens: the keys of the action table, one Text line.

Textual's Footer builds and styles a widget per key; with the cockpit's dozen keys that was half
of the time to the first paint (measured by tests/benchmarks/bench_startup.py). This draws the
same keys, from the same table (cockpit/ui/commands.py), as one line — and a click still runs
the key's action.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from textual.binding import Binding

from cockpit.ui.commands import Action

KEY_NAMES = {"question_mark": "?", "slash": "/", "space": "space", "enter": "⏎", "escape": "esc"}


def key_label(key: str) -> str:
    key = key.split(",")[0]
    return KEY_NAMES.get(key, key.replace("ctrl+", "^"))


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, actions: list[Action]) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str]] = []
        text = Text(no_wrap=True, overflow="ellipsis")
        for a in (a for a in actions if a.footer):
            start = len(text)
            text.append(f" {key_label(a.key)}", style="bold orange1")
            text.append(f" {a.title} ")
            self._spans.append((start, len(text), a.action))
        start = len(text)
        text.append(" ^p", style="bold orange1")
        text.append(" palette")
        self._spans.append((start, len(text), "command_palette"))
        self.update(text)

    async def on_click(self, event: events.Click) -> None:
        for start, end, action in self._spans:
            if start <= event.x < end:
                # The screen's own actions first, then the app's (as a key press would resolve it).
                name = action.split("(")[0]
                target = self.screen if hasattr(self.screen, f"action_{name}") else self.app
                await target.run_action(action)
                return


def actions_of(bindings: list[Binding]) -> list[Action]:
    """The key bar for a screen that declares plain Textual bindings."""
    return [Action(b.action, b.key, b.description, b.description, footer=b.show) for b in bindings]
