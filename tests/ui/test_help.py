"""The help lists every key as a person types it, and, under `cockpit demo`, what to try from another terminal."""

from __future__ import annotations

from rich.console import Console
from textual.app import App
from textual.widgets import Static

from cockpit.ui import commands
from cockpit.ui.screens.help import HelpScreen, _table
from cockpit.ui.view import DemoHints


def rendered(actions: list[commands.Action]) -> str:
    console = Console(width=120, record=True)
    console.print(_table("Keys", actions))
    return console.export_text()


def test_keys_are_shown_as_typed_not_by_their_textual_names() -> None:
    text = rendered(commands.GLOBAL + commands.READINESS + commands.CUTOVER)
    assert "question_mark" not in text
    help_line = next(line for line in text.splitlines() if "Keys and what the cockpit does" in line)
    assert help_line.split()[0] == "?"


async def test_the_demo_hints_are_plain_text_inside_the_help() -> None:
    """`cockpit demo`'s target and commands, with paths that look like markup shown as typed."""
    folder = "/tmp/demo [bold]x[/]/shop"
    demo = DemoHints(url="http://127.0.0.1:8765", flags_url="http://127.0.0.1:8765/admin",
                     runbook=f"{folder}/demo.toml", scratch=folder, removed_on_exit=True,
                     commands=(f"cockpit check --config {folder}/demo.toml",))
    app = App[None]()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(HelpScreen(demo))
        await pilot.pause()
        shown = app.screen.query_one("#demo", Static).render()
        assert f"cockpit check --config {folder}/demo.toml" in shown.plain
        assert "http://127.0.0.1:8765" in shown.plain and "(removed when the demo ends)" in shown.plain
        assert f"runbook   {folder}/demo.toml" in shown.plain  # "[bold]x[/]" stayed text, not a style
        app.push_screen(HelpScreen())  # without the demo: no such section
        await pilot.pause()
        assert not app.screen.query("#demo")
