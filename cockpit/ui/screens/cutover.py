"""Cutover: the stages in order — flip a stage's flags after confirmation, watch its health, mark it
stable, or hit its kill switch. A stage cannot start before the one it follows is stable (the gate says so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cockpit.core.flags.base import on_off
from cockpit.core.gate import Verdict
from cockpit.core.release import StageStatus
from cockpit.core.session import ReleaseSession
from cockpit.runbook.durations import humanize
from cockpit.runbook.textsafe import printable
from cockpit.ui import commands
from cockpit.ui.messages import RunCore, TakeEvidence
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.view import CockpitView
from cockpit.ui.widgets.confirm import ConfirmScreen
from cockpit.ui.widgets.evidence import detail_cell, status_cell
from cockpit.ui.widgets.keybar import KeyBar
from cockpit.ui.widgets.releasebar import ReleaseBar, release_line
from cockpit.ui.widgets.verdict import VerdictBanner, phase_text

if TYPE_CHECKING:
    from cockpit.runbook.config import StageConfig

COLUMNS = [("status", "Status"), ("stage", "Stage"), ("flags", "Flags"), ("checks", "Checks"), ("when", "Since")]
STAGE_STYLE = {StageStatus.PENDING: "dim", StageStatus.STARTED: "bold cyan", StageStatus.STABLE: "bold green",
               StageStatus.KILLED: "bold red"}


def _covered(session: ReleaseSession, stage_id: str) -> bool:
    """The stage had started and a rollback (of the release, or of this stage) covers it."""
    rb = session.state.rollback
    return rb is not None and rb.scope in ("all", f"stage:{stage_id}") and \
        session.state.stage(stage_id).status is not StageStatus.PENDING


def stage_status(session: ReleaseSession, stage_id: str) -> Text:
    """A stage's status; once a rollback covers it, it says so: no row still looks live."""
    st = session.state.stage(stage_id).status
    if _covered(session, stage_id):  # when it was rolled back: the "since" column
        phase = session.state.phase.value
        return Text(phase, style="bold red" if phase == "rollback failed" else "bold magenta")
    return Text(st.value, style=STAGE_STYLE[st])


def flag_states(session: ReleaseSession, stage: StageConfig) -> Text:
    """Each flag of the stage with its last known state in this release (from the flips logged)."""
    last = {f.flag: f for f in session.state.flips}
    t = Text()
    for i, name in enumerate(stage.flags):
        flip = last.get(name)
        state = on_off(None if flip is None else flip.after, "?")
        if flip is None and session.state.flag_snapshot is not None:
            state = on_off(session.state.flag_snapshot.get(name), "?")
        t.append(("  " if i else "") + name + " ")
        t.append(state, style={"ON": "bold green", "OFF": "bold", "?": "yellow"}[state])
    return t or Text("no flags", style="dim")


class CutoverScreen(Screen[None]):
    ACTIONS = commands.CUTOVER
    BINDINGS = commands.bindings(commands.CUTOVER)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # 80x24: a shorter banner (cockpit.tcss)

    def __init__(self, view: CockpitView) -> None:
        super().__init__()
        self.view = view
        self._cells: dict[tuple[str, str], tuple[object, ...]] = {}
        """What each cell shows now: a cell is redrawn only when this changes."""

    @property
    def session(self) -> ReleaseSession | None:
        return self.view.session

    def compose(self) -> ComposeResult:
        yield ReleaseBar(id="release")
        yield VerdictBanner(id="verdict")
        yield DataTable(id="stages", cursor_type="row")
        with VerticalScroll(id="detail-box"):
            yield Static(id="detail")
        yield KeyBar(commands.CUTOVER + commands.GLOBAL)

    def on_mount(self) -> None:
        table = self.query_one("#stages", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for s in self._stages():
            table.add_row(Text("pending"), Text(s.id, style="bold"), Text(""), Text(""), Text(""), key=s.id)
        self.view.changed.subscribe(self, lambda _: self._changed())
        self.set_interval(1.0, self.render_state)  # the "since" column and the monitor window tick
        self.render_state()

    def _changed(self) -> None:
        self.render_state()
        self.refresh_bindings()  # the release (maybe written by another process) may have closed actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if commands.closed(action, self.view.session) else True

    def _stages(self) -> list[StageConfig]:
        return self.view.runbook.stages if self.view.runbook else []

    def _set(self, table: DataTable, row: str, column: str, value: Text) -> None:
        shown = (value.plain, str(value.style), tuple(value.spans))
        if self._cells.get((row, column)) != shown:
            self._cells[(row, column)] = shown
            table.update_cell(row, column, value, update_width=True)

    def render_state(self) -> None:
        session, view = self.session, self.view
        self.query_one("#release", ReleaseBar).update(release_line(session, view.open_error, view.log_status))
        if session is None:
            return
        stage = self._highlighted()
        banner = self.query_one("#verdict", VerdictBanner)
        verdict = session.verdict()
        over = phase_text(session.state)
        if over is not None:
            banner.show_over(over)
        elif stage is None:
            banner.show(verdict, view.taking)
        else:
            banner.show(session.stage_verdict(stage.id), view.taking, label=f"checks of {stage.id}")
        table = self.query_one("#stages", DataTable)
        for s in session.runbook.stages:
            checks = [c for c in session.runbook.checks if c.stage == s.id]
            passing = sum(1 for c in checks if (e := verdict.evidence.get(c.id)) and e.ok)
            self._set(table, s.id, "status", stage_status(session, s.id))
            self._set(table, s.id, "flags", flag_states(session, s))
            self._set(table, s.id, "checks", Text(f"{passing}/{len(checks)}"))
            self._set(table, s.id, "when", Text(self._when(session, s)))
        self._show_detail(stage, verdict)

    def _when(self, session: ReleaseSession, s: StageConfig) -> str:
        st, rb = session.state.stage(s.id), session.state.rollback
        if rb is not None and _covered(session, s.id):  # its clock stopped: no "watch 5m more" after a rollback
            return f"was {st.status.value} until {rb.started_at:%H:%M}"
        if st.status is StageStatus.STARTED and st.started_at:
            left = session.stable_after(s.id)
            since = humanize(session.clock() - st.started_at)
            return f"{since}, watch {humanize(left)} more" if left else since
        if st.status is StageStatus.STABLE and st.stable_at:
            return f"stable {st.stable_at:%H:%M}"
        return "after " + ", ".join(s.after) if s.after else ""

    def _highlighted(self) -> StageConfig | None:
        table = self.query_one("#stages", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.view.runbook.stage(key) if key and self.view.runbook else None

    def _show_detail(self, stage: StageConfig | None, verdict: Verdict) -> None:
        session = self.session
        detail = self.query_one("#detail", Static)
        if session is None or stage is None:
            detail.update(Text("No stages in this runbook." if session else "", style="dim"))
            return
        t = Text()
        t.append(f"{stage.id}", style="bold")
        t.append(f" · {stage.title}\n" if stage.title else "\n")
        for c in (c for c in session.runbook.checks if c.stage == stage.id):
            ev = verdict.evidence.get(c.id)
            t.append_text(status_cell(ev))
            t.append(f"  {c.label}: ")
            t.append_text(detail_cell(c, ev, width=70))
            t.append("\n")
        flips = [f for f in session.state.flips if f.stage == stage.id or f.flag in stage.flags]
        for f in flips[-8:]:
            t.append(f"{f.at:%H:%M:%S} {f.by}: {f.flag} ", style="dim")
            t.append(f"{on_off(f.before, '?')} → {on_off(f.after, '?')}", style="green" if f.ok else "bold red")
            if f.error:
                t.append(f"  {printable(f.error, one_line=True)}", style="red")
            t.append("\n")
        detail.update(t)

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.render_state()

    # -- actions: checked against the release before asking, run by the app --------------------
    def _stage_checks(self, stage: StageConfig) -> list[str]:
        return [c.id for c in self.view.require().runbook.checks if c.stage == stage.id]

    def action_start_stage(self) -> None:
        stage, session = self._highlighted(), self.session
        if stage is None or session is None:
            return
        refusal = session.stage_refusal(stage.id)
        if refusal:  # asked before the confirmation, never refused after it
            self.notify(f"{stage.id} cannot start: {refusal}", severity="warning", markup=False, timeout=12)
            return
        body = f"Turn ON in {session.environment}: {', '.join(stage.flags) or '(no flags)'}\n" \
               f"Its health checks are watched right after."
        self.app.push_screen(ConfirmScreen(f"Start {stage.id}", body, confirm_label="Flip ON"),
                             lambda ok: self._start(session, stage) if ok else None)

    def _start(self, session: ReleaseSession, stage: StageConfig) -> None:
        async def job() -> None:
            outcome = await session.start_stage(stage.id)
            if outcome.flips is not None:
                self.notify(outcome.flips.summary(), severity="information" if outcome.flips.ok else "error",
                            markup=False, timeout=12)
            for p in outcome.problems:
                self.notify(p, severity="warning", markup=False, timeout=12)
            self.post_message(TakeEvidence(self._stage_checks(stage)))

        self.post_message(RunCore(job))

    def action_stable(self) -> None:
        stage, session = self._highlighted(), self.session
        if stage is None or session is None:
            return
        refusal = session.stable_refusal(stage.id)
        if refusal:  # before asking for the note: the note would be typed for nothing
            self.notify(f"{stage.id} cannot be marked stable: {refusal}", severity="warning", markup=False,
                        timeout=12)
            return
        self.app.push_screen(PromptScreen(f"Mark {stage.id} stable", "What did you watch?", "note"),
                             lambda note: self.post_message(RunCore(lambda: session.mark_stable(stage.id, note),
                                                                    f"{stage.id} marked stable")) if note else None)

    def action_kill(self) -> None:
        stage, session = self._highlighted(), self.session
        if stage is None or session is None:
            return
        if not stage.flags:  # said before asking for a reason that would be typed for nothing
            self.notify(f"{stage.id} has no flags to turn off.", severity="warning", markup=False)
            return
        # One key, then the reason: the prompt opens with its reason field focused; Enter turns them off.
        self.app.push_screen(
            PromptScreen(f"KILL SWITCH {stage.id}", f"Turn OFF now: {', '.join(stage.flags)}. Why?",
                         "a reason (goes in the log)", submit="Turn OFF"),
            lambda reason: self._kill(session, stage, reason) if reason else None)

    def _kill(self, session: ReleaseSession, stage: StageConfig, reason: str) -> None:
        async def job() -> None:
            outcome = await session.kill_stage(stage.id, reason)
            self.notify(outcome.flips.summary(), title="Kill switch",
                        severity="information" if outcome.ok else "error", markup=False, timeout=20)

        self.post_message(RunCore(job))

    def action_watch(self) -> None:
        stage = self._highlighted()
        if stage is not None:
            self.post_message(TakeEvidence(self._stage_checks(stage)))

    def action_done(self) -> None:
        session = self.session
        if session is None:
            return
        refusal = session.finish_refusal()
        if refusal:
            self.notify(f"The release cannot be closed yet: {refusal}", severity="warning", markup=False, timeout=12)
            return
        self.app.push_screen(PromptScreen("Close the release", "A closing note for the log:", "note"),
                             lambda note: self.post_message(RunCore(lambda: session.finish(note), "Release closed"))
                             if note else None)
