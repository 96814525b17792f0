"""Readiness: the checklist grouped by stage, each item's live evidence, and the GO / NO-GO banner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from cockpit.core.evidence import Evidence
from cockpit.ui import commands
from cockpit.ui.messages import RunCore, TakeEvidence
from cockpit.ui.view import CockpitView, DemoHints
from cockpit.ui.widgets.checklist import Checklist
from cockpit.ui.widgets.evidence import age_cell, detail_cell, detail_pane, requirement_cell, status_cell
from cockpit.ui.widgets.keybar import KeyBar
from cockpit.ui.widgets.releasebar import ReleaseBar, release_line
from cockpit.ui.widgets.verdict import VerdictBanner, phase_text

if TYPE_CHECKING:
    from cockpit.core.gate import Verdict
    from cockpit.runbook.config import CheckConfig
    from cockpit.runbook.outline import CheckOutline, RunbookOutline

FIXED_WIDTH = 29  # status, requirement and age columns with their gaps


def item_width(screen_width: int) -> int:
    """The item column's share; evidence takes the rest (the detail pane shows both whole)."""
    return max(14, (screen_width - FIXED_WIDTH) * 2 // 5)


COLUMNS = [("Status", 9), ("Req", 6), ("Item", 30), ("Evidence", 0), ("Age", 6)]


def demo_line(demo: DemoHints) -> Text:
    """One line saying where the demo's target answers; the help says what to try from another terminal."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" demo ", style="bold reverse")
    t.append(f" target {demo.url}  ·  ")
    t.append("?", style="bold orange1")
    t.append(" what to try from another terminal")
    return t


class ReadinessScreen(Screen[None]):
    ACTIONS = commands.READINESS
    BINDINGS = commands.bindings(commands.READINESS)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # 80x24: the checklist before the detail pane

    def __init__(self, view: CockpitView) -> None:
        super().__init__()
        self.view = view
        self._verdict: Verdict | None = None

    def compose(self) -> ComposeResult:
        yield ReleaseBar(id="release")
        yield VerdictBanner(id="verdict")
        if self.view.demo is not None:
            yield Static(demo_line(self.view.demo), id="demo-hint")
        yield Checklist(COLUMNS, id="checklist")
        with VerticalScroll(id="detail-box"):
            yield Static(id="detail")
        yield KeyBar(commands.READINESS + commands.GLOBAL)

    def on_mount(self) -> None:
        table = self.query_one("#checklist", Checklist)
        table.set_widths({"Item": item_width(self.app.size.width)})
        self._build_rows(table, self.view.outline)
        table.focus()
        self.view.changed.subscribe(self, lambda _: self._changed())
        self.set_interval(1.0, self.render_state)  # ages tick and stale evidence turns stale visibly
        self.render_state()

    def _changed(self) -> None:
        self.render_state()
        self.refresh_bindings()  # the release (maybe written by another process) may have closed actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if commands.closed(action, self.view.session) else True

    def _build_rows(self, table: Checklist, outline: RunbookOutline) -> None:
        """The rows, drawn from the outline: the first paint comes before the runbook is validated."""
        self._rows_from = outline
        table.clear()
        groups: list[tuple[str | None, str]] = [(None, "Release gate")]
        groups += [(s.id, f"{s.id} · {s.title}" if s.title else s.id) for s in outline.stages]
        for stage_id, title in groups:
            checks = [c for c in outline.checks if c.stage == stage_id]
            if not checks:
                continue
            table.add_row(f"stage:{stage_id}", [Text(""), Text(""), Text(f"── {title} ──", style="bold")],
                          heading=True)
            for c in checks:
                table.add_row(c.id, self._cells(c, None, None))

    # -- rendering from the view: only the rows whose cells changed are redrawn -------------------
    def render_state(self) -> None:
        view = self.view
        session = view.session
        self.query_one("#release", ReleaseBar).update(release_line(session, view.open_error, view.log_status))
        if session is None:
            return
        now = session.clock()
        # The banner judges what GO needs, sign-off included: it never says GO while GO is impossible.
        verdict = self._verdict = session.verdict(require_signoff=True)
        over = phase_text(session.state)
        if over is None:
            self.query_one("#verdict", VerdictBanner).show(verdict, view.taking)
        else:
            self.query_one("#verdict", VerdictBanner).show_over(over)
        table = self.query_one("#checklist", Checklist)
        if self._rows_from != view.outline:  # never expected: tests hold them equal
            self._build_rows(table, view.outline)
        for c in session.runbook.checks:
            table.update_row(c.id, self._cells(c, verdict.evidence.get(c.id), now))
        self._show_detail()

    @staticmethod
    def _cells(c: CheckConfig | CheckOutline, ev: Evidence | None, now: datetime | None) -> list[Text]:
        return [status_cell(ev), requirement_cell(c), Text(c.label), detail_cell(c, ev, 200),
                age_cell(ev, now) if now else Text("—")]

    def on_resize(self) -> None:
        self.query_one("#checklist", Checklist).set_widths({"Item": item_width(self.size.width)})

    def _highlighted(self) -> CheckConfig | None:
        key = self.query_one("#checklist", Checklist).highlighted
        session = self.view.session
        return None if key is None or session is None else session.runbook.check(key)

    def _show_detail(self) -> None:
        session, verdict = self.view.session, self._verdict
        check = self._highlighted()
        detail = self.query_one("#detail", Static)
        if check is None or session is None or verdict is None:
            detail.update(Text("Highlight an item to see its evidence.", style="dim"))
            return
        detail.update(detail_pane(check, verdict.evidence.get(check.id), session.clock()))

    def on_checklist_highlighted(self, _: Checklist.Highlighted) -> None:
        self._show_detail()

    # -- actions ----------------------------------------------------------------------------
    def action_tick(self) -> None:
        from cockpit.ui.screens.prompt import PromptScreen  # startup: loaded on first use

        check = self._highlighted()
        if check is None or check.kind != "manual":
            self.notify("Only manual items are ticked by hand; the cockpit takes the others itself.",
                        severity="warning", markup=False)
            return
        session = self.view.session
        if session is None:
            self.notify(self.view.open_error or "the release is still being opened", severity="warning",
                        markup=False)
            return
        self.app.push_screen(
            PromptScreen(f"Tick: {check.label}", check.prompt, "note: what was checked, where the proof is"),
            lambda note: self.post_message(RunCore(lambda: session.tick(check.id, note), f"Ticked {check.id}"))
            if note else None,
        )

    def action_retake_one(self) -> None:
        check = self._highlighted()
        if check is not None:
            self.post_message(TakeEvidence([check.id]))

    def action_raw(self) -> None:
        from cockpit.ui.screens.prompt import TextScreen  # startup: loaded on first use

        check = self._highlighted()
        session = self.view.session
        if check is None or session is None:
            return
        self.app.push_screen(TextScreen(f"Evidence: {check.label}",
                                        detail_pane(check, session.state.evidence.get(check.id), session.clock())))
