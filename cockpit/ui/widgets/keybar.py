"""The footer line of the cockpit's screens: the keys of the action table, one Text line.

Textual's Footer builds and styles a widget per key; with the cockpit's dozen keys that was half
of the time to the first paint (measured by tests/benchmarks/bench_startup.py). This draws the
same keys, from the same table (cockpit/ui/commands.py), as one line — and a click still runs
the key's action.

Help and Quit are pinned to the right end, so a narrow terminal drops other keys, never those. A key
whose action `check_action` disables is drawn dimmed (hidden when it says False); the line is redrawn
when the screen's bindings change (`refresh_bindings`).
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.actions import parse
from textual.binding import Binding
from textual.widget import Widget

from cockpit.ui.commands import Action

KEY_NAMES = {"question_mark": "?", "slash": "/", "space": "space", "enter": "⏎", "escape": "esc"}
PINNED = ("help", "quit", "leave")
"""Drawn at the right end whatever the width: how to get help and how to leave."""
PALETTE = Action("command_palette", "ctrl+p", "palette", "")


def key_label(key: str) -> str:
    key = key.split(",")[0]
    return KEY_NAMES.get(key, key.replace("ctrl+", "^"))


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, actions: list[Action]) -> None:
        super().__init__()
        self._actions = [a for a in actions if a.footer]
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        if self.app.ENABLE_COMMAND_PALETTE:
            self._actions.append(PALETTE)
        self.screen.bindings_updated_signal.subscribe(self, lambda _: self.refresh())

    def _target(self, action: str) -> object:
        """The screen's own actions first, then the app's (as a key press would resolve them)."""
        name = action.split("(")[0]
        return self.screen if hasattr(self.screen, f"action_{name}") else self.app

    def state(self, action: str) -> bool | None:
        """check_action's answer: True shown, None shown disabled, False not shown."""
        _, name, args = parse(action)
        return self._target(action).check_action(name, args)  # type: ignore[attr-defined]

    def render(self) -> Text:
        shown = [(a, s) for a in self._actions if (s := self.state(a.action)) is not False]
        pieces = {a.action: self._piece(a, s) for a, s in shown}
        ruled_out = {a.action for a, s in shown if s is None}
        spare = {a.action for a in self._actions if a.spare}
        right = [a.action for a, _ in shown if a.action in PINNED]
        left = [a.action for a, _ in shown if a.action not in PINNED]
        room = self.size.width - 1 - sum(pieces[a].cell_len for a in right)
        # When the line is short, keys the release rules out go first, then spare ones, then the last; "…" says so.
        kept: set[str] = set()
        for action in sorted(left, key=lambda a: (a in ruled_out, a in spare)):
            used = sum(pieces[a].cell_len for a in kept) + pieces[action].cell_len
            if used + (2 if len(kept) + 1 < len(left) else 0) > room:
                break
            kept.add(action)
        text, self._spans = Text(" ", no_wrap=True, overflow="crop", end=""), []

        def put(action: str) -> None:
            self._spans.append((text.cell_len, text.cell_len + pieces[action].cell_len, action))
            text.append_text(pieces[action])

        for action in (a for a in left if a in kept):
            put(action)
        if len(kept) < len(left):
            text.append("… ", style="dim")
        text.pad_right(max(0, room + 1 - text.cell_len))
        for action in right:
            put(action)
        return text

    @staticmethod
    def _piece(a: Action, state: bool | None) -> Text:
        enabled = state is not None  # None: shown, but the release rules it out now
        t = Text(style="" if enabled else "dim")
        t.append(key_label(a.key), style="bold orange1" if enabled else "")
        t.append(" ")
        t.append(a.bar or a.title, style="" if enabled else "strike")
        t.append("  ")
        return t

    async def on_click(self, event: events.Click) -> None:
        for start, end, action in self._spans:
            if start <= event.x < end:
                await self._target(action).run_action(action)  # type: ignore[attr-defined]
                return


def actions_of(bindings: list[Binding]) -> list[Action]:
    """The key bar for a screen that declares plain Textual bindings."""
    return [Action(b.action, b.key, b.description, b.description, footer=b.show) for b in bindings]
