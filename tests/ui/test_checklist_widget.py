"""The readiness checklist widget: keys move over items (headings are skipped), text is literal."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from cockpit.ui.widgets.checklist import Checklist


class One(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def compose(self) -> ComposeResult:
        yield Checklist([("Status", 8), ("Item", 0)], id="c")

    def on_mount(self) -> None:
        c = self.query_one(Checklist)
        c.add_row("g1", [Text(""), Text("── group ──")], heading=True)
        c.add_row("a", [Text("pass"), Text("[bold red]not markup[/] \\x1b[2J")])
        c.add_row("g2", [Text(""), Text("── next ──")], heading=True)
        c.add_row("b", [Text("fail"), Text("second")])
        c.focus()

    def on_checklist_highlighted(self, event: Checklist.Highlighted) -> None:
        self.seen.append(event.key)


async def test_keys_skip_headings_and_text_stays_literal() -> None:
    app = One()
    async with app.run_test(size=(60, 8)) as pilot:
        c = app.query_one(Checklist)
        assert c.highlighted == "a"  # the first heading is not selectable
        await pilot.press("down")
        assert c.highlighted == "b" and app.seen[-1] == "b"  # jumped over the second heading
        await pilot.press("down")
        assert c.highlighted == "b"  # stays on the last item
        await pilot.press("home")
        assert c.highlighted == "a"
        line = "".join(seg.text for seg in c.render_line(2))
        assert "[bold red]not markup[/]" in line
        c.update_row("b", [Text("pass"), Text("changed")])
        await pilot.pause()
        assert "changed" in "".join(seg.text for seg in c.render_line(4))
