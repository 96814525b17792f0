"""The readiness checklist: one line per item (or group heading), rendered with the Line API.

Textual's DataTable renders and measures every cell through Rich; for the checklist that was
the largest part of the cockpit's first paint. Here each row is one Text, laid out in fixed
columns and turned into a Strip once when it changes; only visible lines are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass
class Row:
    key: str
    cells: list[Text] = field(default_factory=list)
    heading: bool = False


class Checklist(ScrollView, can_focus=True):
    """Rows of cells under a header line; `cursor` is the highlighted row, headings are skipped."""

    DEFAULT_CSS = """
    Checklist { height: 1fr; min-height: 5; overflow-x: hidden; }
    Checklist > .checklist--header { text-style: bold; background: $panel; }
    Checklist > .checklist--cursor { background: $accent 40%; text-style: bold; }
    """
    COMPONENT_CLASSES = {"checklist--header", "checklist--cursor"}
    BINDINGS = [
        Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
        Binding("pageup", "move(-10)", show=False), Binding("pagedown", "move(10)", show=False),
        Binding("home", "move(-100000)", show=False), Binding("end", "move(100000)", show=False),
    ]

    class Highlighted(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, columns: list[tuple[str, int]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = columns  # (title, width); width 0 = the rest of the line
        self.rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._strips: dict[tuple[int, int, bool], Strip] = {}
        self.cursor = 0

    # -- data ---------------------------------------------------------------------------------
    def clear(self) -> None:
        self.rows, self._index, self._strips, self.cursor = [], {}, {}, 0
        self.virtual_size = Size(self.size.width, 1)
        self.refresh()

    def add_row(self, key: str, cells: list[Text], *, heading: bool = False) -> None:
        self._index[key] = len(self.rows)
        self.rows.append(Row(key, cells, heading))
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        if heading and self.cursor == len(self.rows) - 1:
            self.cursor += 1

    def update_row(self, key: str, cells: list[Text]) -> None:
        i = self._index[key]
        if [c.plain for c in cells] == [c.plain for c in self.rows[i].cells] and \
                [c.style for c in cells] == [c.style for c in self.rows[i].cells]:
            return  # the 1-second redraw of unchanged rows costs nothing
        self.rows[i].cells = cells
        self._strips = {k: v for k, v in self._strips.items() if k[0] != i}
        self.refresh_line(i + 1)

    def set_widths(self, widths: dict[str, int]) -> None:
        columns = [(title, widths.get(title, width)) for title, width in self.columns]
        if columns != self.columns:
            self.columns = columns
            self._strips.clear()
            self.refresh()

    @property
    def highlighted(self) -> str | None:
        if not self.rows or self.rows[self.cursor].heading:
            return None
        return self.rows[self.cursor].key

    def row_index(self, key: str) -> int:
        return self._index[key]

    def move_to(self, key: str) -> None:
        self._set_cursor(self._index[key])

    # -- keys and mouse -----------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        start = max(0, min(len(self.rows) - 1, self.cursor + delta))
        step = 1 if delta > 0 else -1
        # The nearest item in the direction of travel, else the nearest the other way (headings are not rows to act on).
        for direction in (step, -step):
            target = start
            while 0 <= target < len(self.rows) and self.rows[target].heading:
                target += direction
            if 0 <= target < len(self.rows):
                self._set_cursor(target)
                return

    def on_click(self, event) -> None:  # noqa: ANN001 - textual.events.Click
        row = event.y + self.scroll_offset.y - 1
        if 0 <= row < len(self.rows) and not self.rows[row].heading:
            self._set_cursor(row)

    def _set_cursor(self, index: int) -> None:
        old, self.cursor = self.cursor, index
        self._strips = {k: v for k, v in self._strips.items() if k[0] not in (old, index)}
        self.refresh_line(old + 1)
        self.refresh_line(index + 1)
        visible = self.size.height - 1
        if index < self.scroll_offset.y:
            self.scroll_to(y=index, animate=False)
        elif index >= self.scroll_offset.y + visible:
            self.scroll_to(y=index - visible + 1, animate=False)
        self.post_message(self.Highlighted(self.rows[index].key))

    # -- rendering ----------------------------------------------------------------------------
    def _widths(self) -> list[int]:
        fixed = sum(w for _, w in self.columns if w) + len(self.columns)
        return [w or max(4, self.size.width - fixed) for _, w in self.columns]

    def _line(self, cells: list[Text]) -> Text:
        line = Text(no_wrap=True, end="")
        for cell, width in zip(cells, self._widths(), strict=False):
            piece = cell.copy()
            piece.truncate(width, overflow="ellipsis", pad=True)
            line.append_text(piece)
            line.append(" ")
        return line

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:  # the header stays put while the rows scroll
            header = self._line([Text(title) for title, _ in self.columns])
            style = self.get_component_rich_style("checklist--header")
            return Strip(header.render(self.app.console), header.cell_len).apply_style(style) \
                .extend_cell_length(width, style).crop(0, width)
        index = y - 1 + self.scroll_offset.y
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        selected = index == self.cursor and self.has_focus
        key = (index, width, selected)
        strip = self._strips.get(key)
        if strip is None:
            row = self.rows[index]
            text = self._line(row.cells)
            segments = list(text.render(self.app.console))
            cursor = self.get_component_rich_style("checklist--cursor") if selected else None
            strip = Strip(Segment.apply_style(segments, self.rich_style, cursor), text.cell_len) \
                .extend_cell_length(width, self.rich_style + (cursor or Style())).crop(0, width)
            self._strips[key] = strip
        return strip

    def on_focus(self) -> None:
        self.refresh()  # only the cursor row's strip changes (focus is in its cache key)

    def on_blur(self) -> None:
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)
        self._strips.clear()
