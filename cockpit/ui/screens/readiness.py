"""Readiness: the checklist grouped by stage, each item's live evidence, and the GO / NO-GO banner."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey

from cockpit.config import CheckConfig
from cockpit.textsafe import shorten
from cockpit.ui import commands
from cockpit.ui.screens.prompt import PromptScreen, TextScreen
from cockpit.ui.widgets.evidence import age_cell, current, detail_cell, detail_pane, requirement_cell, status_cell
from cockpit.ui.widgets.keybar import KeyBar
from cockpit.ui.widgets.releasebar import ReleaseBar, release_line
from cockpit.ui.widgets.verdict import VerdictBanner

FIXED_WIDTH = 36  # status, requirement and age columns with the table's cell padding


def column_widths(screen_width: int) -> tuple[int, int]:
    """Item and evidence widths that keep every column on screen (the detail pane shows it all)."""
    room = max(30, screen_width - FIXED_WIDTH)
    item = max(14, room * 2 // 5)
    return item, room - item
COLUMNS = [("status", "Status"), ("req", "Req"), ("item", "Item"), ("evidence", "Evidence"), ("age", "Age")]


class ReadinessScreen(Screen[None]):
    ACTIONS = commands.READINESS
    BINDINGS = commands.bindings(commands.READINESS)

    def compose(self) -> ComposeResult:
        yield ReleaseBar(id="release")
        yield VerdictBanner(id="verdict")
        yield DataTable(id="checklist", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="detail-box"):
            yield Static(id="detail")
        yield KeyBar(commands.READINESS + commands.GLOBAL)

    def on_mount(self) -> None:
        table = self.query_one("#checklist", DataTable)
        widths = dict(zip(("item", "evidence"), column_widths(self.app.size.width), strict=True))
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=widths.get(key))
        self._build_rows(table)
        self.watch(self.app, "version", lambda _: self.render_state())
        self.watch(self.app, "taking", lambda _: self.render_state())
        self.watch(self.app, "log_status", lambda _: self.render_state())
        self.set_interval(1.0, self.render_state)  # ages tick and stale evidence turns stale visibly
        self.render_state()

    def _build_rows(self, table: DataTable) -> None:
        runbook = self.app.runbook  # type: ignore[attr-defined]
        groups: list[tuple[str | None, str]] = [(None, "Release gate")]
        groups += [(s.id, f"{s.id} · {s.title}" if s.title else s.id) for s in runbook.stages]
        for stage_id, title in groups:
            checks = [c for c in runbook.checks if c.stage == stage_id]
            if not checks:
                continue
            table.add_row(Text(""), Text(""), Text(f"── {title} ──", style="bold"), Text(""), Text(""),
                          key=f"stage:{stage_id}")
            for c in checks:
                table.add_row(Text("… pending", style="dim"), requirement_cell(c), Text(c.label),
                              detail_cell(c, None), Text("—"), key=c.id)

    # -- rendering from the session --------------------------------------------------------
    def render_state(self) -> None:
        app = self.app
        session = app.session  # type: ignore[attr-defined]
        self.query_one("#release", ReleaseBar).update(release_line(session, app.open_error, app.log_status))  # type: ignore[attr-defined]
        if session is None:
            return
        now = session.clock()
        self.query_one("#verdict", VerdictBanner).show(session.verdict(), app.taking)  # type: ignore[attr-defined]
        table = self.query_one("#checklist", DataTable)
        item_w, evidence_w = column_widths(self.size.width)
        for c in session.runbook.checks:
            ev = current(c, session.state.evidence.get(c.id), now)
            table.update_cell(c.id, "status", status_cell(ev))
            table.update_cell(c.id, "item", Text(shorten(c.label, item_w)))
            table.update_cell(c.id, "evidence", detail_cell(c, ev, evidence_w))
            table.update_cell(c.id, "age", age_cell(ev, now))
        self._show_detail()

    def on_resize(self) -> None:
        table = self.query_one("#checklist", DataTable)
        for key, width in zip(("item", "evidence"), column_widths(self.size.width), strict=True):
            table.columns[ColumnKey(key)].width = width
        table.refresh(layout=True)
        self.render_state()

    def _highlighted(self) -> CheckConfig | None:
        table = self.query_one("#checklist", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None or key.startswith("stage:"):
            return None
        return self.app.runbook.check(key)  # type: ignore[attr-defined]

    def _show_detail(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        check = self._highlighted()
        detail = self.query_one("#detail", Static)
        if check is None or session is None:
            detail.update(Text("Highlight an item to see its evidence.", style="dim"))
            return
        detail.update(detail_pane(check, current(check, session.state.evidence.get(check.id), session.clock()),
                                  session.clock()))

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    # -- actions ----------------------------------------------------------------------------
    def action_tick(self) -> None:
        check = self._highlighted()
        if check is None or check.kind != "manual":
            self.notify("Only manual items are ticked by hand; the cockpit takes the others itself.",
                        severity="warning", markup=False)
            return
        session = self.app.session  # type: ignore[attr-defined]
        self.app.push_screen(
            PromptScreen(f"Tick: {check.label}", check.prompt, "note: what was checked, where the proof is"),
            lambda note: self.app.run_core(session.tick(check.id, note), success=f"Ticked {check.id}")  # type: ignore[attr-defined]
            if note else None,
        )

    def action_retake_one(self) -> None:
        check = self._highlighted()
        if check is not None:
            self.app.take_evidence([check.id])  # type: ignore[attr-defined]

    def action_raw(self) -> None:
        check = self._highlighted()
        session = self.app.session  # type: ignore[attr-defined]
        if check is None or session is None:
            return
        self.app.push_screen(TextScreen(f"Evidence: {check.label}",
                                        detail_pane(check, session.state.evidence.get(check.id), session.clock())))
