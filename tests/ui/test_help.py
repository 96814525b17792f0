"""The help lists every key as a person types it."""

from __future__ import annotations

from rich.console import Console

from cockpit.ui import commands
from cockpit.ui.screens.help import _table


def rendered(actions: list[commands.Action]) -> str:
    console = Console(width=120, record=True)
    console.print(_table("Keys", actions))
    return console.export_text()


def test_keys_are_shown_as_typed_not_by_their_textual_names() -> None:
    text = rendered(commands.GLOBAL + commands.READINESS + commands.CUTOVER)
    assert "question_mark" not in text
    help_line = next(line for line in text.splitlines() if "Keys and what the cockpit does" in line)
    assert help_line.split()[0] == "?"
