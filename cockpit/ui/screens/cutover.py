"""Cutover: the stages in order — start a stage after confirmation (its flags ON, or its procedure, run
here step by step with its output as it comes), watch its health, mark it stable, abort it or hit its
kill switch; the release-day plan against actual one key away. A stage cannot start before the one it
follows is stable (the gate says so). Under the stages, the release's watched windows (its guardrails
after a flip) with a sparkline each; a breach shows a banner, which offers the rollback when flags stayed on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from cockpit.core.flags.base import on_off
from cockpit.core.gate import Verdict
from cockpit.core.release import StageStatus
from cockpit.core.session import ReleaseSession
from cockpit.core.timeline import timeline
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
from cockpit.ui.widgets.steps import StepEnded, StepLine, StepList, StepOutput, next_text, step_title, steps_text
from cockpit.ui.widgets.timeline import TimelinePanel, timeline_view
from cockpit.ui.widgets.verdict import VerdictBanner, phase_text
from cockpit.ui.widgets.windows import BreachBanner, WindowsPanel, breaches

if TYPE_CHECKING:
    from cockpit.core.procedure import StepOutcome
    from cockpit.runbook.config import StageConfig

COLUMNS = [("status", "Status"), ("stage", "Stage"), ("flags", "Flags"), ("checks", "Checks"), ("when", "Since")]
STEP_ACTIONS = ("run_step", "skip_step", "abort_stage")
STAGE_STYLE = {StageStatus.PENDING: "dim", StageStatus.STARTED: "bold cyan", StageStatus.STABLE: "bold green",
               StageStatus.KILLED: "bold red", StageStatus.ABORTED: "bold red", StageStatus.ROLLED_BACK: "bold magenta"}


def _covered(session: ReleaseSession, stage_id: str) -> bool:
    """The stage had started and a rollback of the release, or one of this stage still under way or
    failed, covers it (a partial rollback that ended well is the stage's own status: rolled back)."""
    rb = session.state.rollback
    return rb is not None and not rb.settled_stage and rb.covers(stage_id) and \
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
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # 80 columns: the step output under the steps

    def __init__(self, view: CockpitView) -> None:
        super().__init__()
        self.view = view
        self._cells: dict[tuple[str, str], tuple[object, ...]] = {}
        """What each cell shows now: a cell is redrawn only when this changes."""
        self._step_at: tuple[str, str] | None = None
        """(stage, step) run from this screen now; its keys wait until it ends."""
        self._step_failures: dict[tuple[str, str], str] = {}
        """Why a step run from here failed (the log has it too; the release's state keeps only the outcome)."""

    @property
    def session(self) -> ReleaseSession | None:
        return self.view.session

    def compose(self) -> ComposeResult:
        yield ReleaseBar(id="release")
        yield VerdictBanner(id="verdict")
        yield BreachBanner(id="breach")
        yield DataTable(id="stages", cursor_type="row")
        yield WindowsPanel(id="windows")
        with Horizontal(id="cut-body"):
            with VerticalScroll(id="detail-box"):
                yield StepList(id="steps")
                yield Static(id="step-next")
                yield Static(id="detail")
            yield StepOutput(id="step-output")
        yield TimelinePanel(id="timeline")
        yield KeyBar(commands.CUTOVER + commands.GLOBAL)

    def on_mount(self) -> None:
        table = self.query_one("#stages", DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for s in self._stages():
            table.add_row(Text("pending"), Text(s.id, style="bold"), Text(""), Text(""), Text(""), key=s.id)
        self.query_one("#timeline", TimelinePanel).display = False
        self.query_one("#breach", BreachBanner).display = False
        self.query_one("#windows", WindowsPanel).display = False
        self.view.changed.subscribe(self, lambda _: self._changed())
        self.set_interval(1.0, self.render_state)  # the "since" column, the monitor window and a soak tick
        self.render_state()

    def _changed(self) -> None:
        self.render_state()
        self.refresh_bindings()  # the release (maybe written by another process) may have closed actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if commands.closed(action, self.view.session):
            return None
        if action in STEP_ACTIONS and self._step_refusal(action):  # the highlighted stage's procedure, when it runs
            return None
        return True

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
        self.query_one("#breach", BreachBanner).show(breaches(session))
        self.query_one("#windows", WindowsPanel).show(view.windows(), session.clock(), view.sampler)
        self._show_detail(stage, verdict)
        self._show_procedure(stage)
        if self.query_one("#timeline", TimelinePanel).display:
            self._show_timeline(session, stage)

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
        if st.status is StageStatus.ROLLED_BACK and rb is not None and rb.finished_at:
            return f"rolled back {rb.finished_at:%H:%M} by {rb.by}"
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

    def _show_procedure(self, stage: StageConfig | None) -> None:
        """The highlighted stage's steps, what comes next and the output pane — when it has a procedure."""
        session = self.session
        has = session is not None and stage is not None and bool(session.procedure(stage.id))
        self.set_class(has, "-procedure")
        for selector in ("#steps", "#step-next", "#step-output"):
            self.query_one(selector).display = has
        if not has:
            return
        assert session is not None and stage is not None
        now = session.clock()
        running = self._step_at[1] if self._step_at and self._step_at[0] == stage.id else None
        self.query_one("#steps", StepList).show(steps_text(session, stage.id, running=running, now=now))
        nxt = session.next_step(stage.id)
        failure = self._step_failures.get((stage.id, nxt[0])) if nxt else None
        self.query_one("#step-next", Static).update(next_text(session, stage.id, running=running, failure=failure,
                                                              now=now))

    def _show_timeline(self, session: ReleaseSession, stage: StageConfig | None) -> None:
        now = session.clock()
        titles = {(s.id, sid): step_title(session, s.id, sid, step)
                  for s in session.runbook.stages for sid, step in session.procedure(s.id)}
        self.query_one("#timeline", TimelinePanel).show(
            timeline_view(session.state, timeline(session.state, now), now, stage=stage.id if stage else None,
                          titles=titles))

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.render_state()
        self.refresh_bindings()  # the step keys follow the highlighted stage

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
        steps = session.procedure(stage.id)
        if steps:  # its procedure does the rest, one step per key press
            body = Text(f"Start {stage.id} in {session.environment}; then its steps run one at a time, each said "
                        "and confirmed before it runs (⏎):\n")
            for i, (sid, step) in enumerate(steps, 1):
                body.append(f"  {i}. {sid}: {step_title(session, stage.id, sid, step)}\n")
            body.rstrip()
            label = "Start"
        else:
            body = Text(f"Turn ON in {session.environment}: {', '.join(stage.flags) or '(no flags)'}\n"
                        f"Its health checks are watched right after.")
            label = "Flip ON"
        self.app.push_screen(ConfirmScreen(f"Start {stage.id}", body, confirm_label=label),
                             lambda ok: self._start(session, stage) if ok else None)

    def _start(self, session: ReleaseSession, stage: StageConfig) -> None:
        async def job() -> None:
            outcome = await session.start_stage(stage.id)
            if outcome.flips is not None:
                self.notify(outcome.flips.summary(), severity="information" if outcome.flips.ok else "error",
                            markup=False, timeout=12)
            for p in outcome.problems:
                self.notify(p, severity="warning", markup=False, timeout=12)
            nxt = session.next_step(stage.id)
            if nxt is not None:  # its checks are judged by its own steps (a checks step), not now
                self.notify(f"{stage.id} started: ⏎ runs its first step, {nxt[0]}.", markup=False)
                return
            self.post_message(TakeEvidence(self._stage_checks(stage)))

        self.post_message(RunCore(job))

    # -- a stage's procedure: one step per key, its output streamed into the screen ---------------
    def _step_refusal(self, action: str) -> str | None:
        """Why a step key cannot act on the highlighted stage now (its key shows disabled), or None."""
        stage, session = self._highlighted(), self.session
        if stage is None or session is None:
            return "the release is still being opened"
        if self._step_at is not None:
            return f"step {self._step_at[1]} of {self._step_at[0]} is running; wait for it to end"
        if not session.procedure(stage.id):
            return f"{stage.id} has no steps (f starts it: its flags ON)"
        if session.state.stage(stage.id).status is not StageStatus.STARTED:
            return f"{stage.id} is {session.state.stage(stage.id).status}; f starts it, then its steps run"
        if action != "abort_stage" and session.next_step(stage.id) is None:
            return f"every step of {stage.id} is done: watch its checks, then mark it stable (m)"
        return None

    def _procedure_stage(self, action: str) -> tuple[ReleaseSession, StageConfig] | None:
        """The highlighted stage and the release, or None after saying why `action` cannot act now (the
        palette runs an action whatever its key shows)."""
        why = self._step_refusal(action)
        stage, session = self._highlighted(), self.session
        if why or stage is None or session is None:
            self.notify(f"Not now: {why}", severity="warning", markup=False, timeout=10)
            return None
        return session, stage

    def _next_step(self, action: str) -> tuple[ReleaseSession, Any, str, Any] | None:
        """The release, the highlighted stage and its next step, or None after saying why not now."""
        found = self._procedure_stage(action)
        if found is None:
            return None
        session, stage = found
        nxt = session.next_step(stage.id)
        assert nxt is not None  # _procedure_stage refuses a stage whose steps are all done
        return session, stage, nxt[0], nxt[1]

    def action_run_step(self) -> None:
        found = self._next_step("run_step")
        if found is None:
            return
        session, stage, sid, step = found
        refusal = session.step_refusal(stage.id, sid)
        if refusal:
            self.notify(f"{sid} cannot run: {refusal}", severity="warning", markup=False, timeout=12)
            return
        does = session.describe_step(stage.id, sid)
        retry = session.state.stage(stage.id).steps.get(sid) == "failed"
        title = f"{'Retry' if retry else 'Run'} {stage.id} · {sid}"
        if step.kind == "manual":  # a person did it outside the cockpit: their note is the proof
            self.app.push_screen(PromptScreen(title, f"{does}\nWhat was done, and where is the proof?",
                                              "a note (goes in the release log)", submit="Confirm step"),
                                 lambda note: self._run(session, stage, sid, note) if note else None)
        elif step.confirm:
            self.app.push_screen(ConfirmScreen(title, Text(does), confirm_label="Retry" if retry else "Run"),
                                 lambda ok: self._run(session, stage, sid) if ok else None)
        else:
            self._run(session, stage, sid)

    def _run(self, session: ReleaseSession, stage: StageConfig, sid: str, note: str = "") -> None:
        steps = session.procedure(stage.id)
        number = [s for s, _ in steps].index(sid) + 1
        self.query_one("#step-output", StepOutput).begin(stage.id, number, sid,
                                                         step_title(session, stage.id, sid, dict(steps)[sid]))
        self._step_at = (stage.id, sid)
        self._step_failures.pop((stage.id, sid), None)

        # A soak counts down in the steps list (from the log's start time), not as a line a second.
        on_line = None if dict(steps)[sid].kind == "wait" else (lambda line: self.post_message(StepLine(line)))

        async def job() -> None:
            outcome = None
            try:  # in the app's "action" group: quitting while it runs asks first
                outcome = await session.run_step(stage.id, sid, note=note, on_line=on_line)
            finally:
                self.post_message(StepEnded(stage.id, sid, outcome))

        self.post_message(RunCore(job))
        self.render_state()
        self.refresh_bindings()

    @on(StepLine)
    def _step_line(self, message: StepLine) -> None:
        output = self.query_one("#step-output", StepOutput)
        if output.lines_since_begin == 0:  # its step.started is in the log by now: show when it started
            self._show_procedure(self._highlighted())
        output.line(message.text)

    @on(StepEnded)
    def _step_ended(self, message: StepEnded) -> None:
        self._step_at = None
        out = message.outcome
        if out is not None:
            self._said(message.stage, out)
        self.render_state()
        self.refresh_bindings()

    def _said(self, stage_id: str, out: StepOutcome) -> None:
        self.query_one("#step-output", StepOutput).outcome(out)
        session = self.session
        highlighted = self._highlighted()
        # Said in a notification only when the stage is not on screen (another highlighted, the timeline shown).
        shown = highlighted is not None and highlighted.id == stage_id and self.query_one("#cut-body").display
        if not out.ok:
            self._step_failures[(stage_id, out.step)] = out.detail
            if not shown:
                self.notify(f"{out.step} failed: {printable(out.detail, one_line=True)}", title=stage_id,
                            severity="error", markup=False, timeout=12)
        elif session is not None and session.next_step(stage_id) is None:
            if not shown:
                self.notify(f"Every step of {stage_id} is done: watch its checks, then mark it stable (m).",
                            title=stage_id, markup=False, timeout=12)
            self.post_message(TakeEvidence(self._stage_checks(session.runbook.stage(stage_id))))

    def action_skip_step(self) -> None:
        found = self._next_step("skip_step")
        if found is None:
            return
        session, stage, sid, _ = found
        self.app.push_screen(
            PromptScreen(f"Skip {stage.id} · {sid}", f"{session.describe_step(stage.id, sid)}\nWhy is it skipped?",
                         "a reason (goes in the release log)", submit="Skip step"),
            lambda reason: self._skip(session, stage, sid, reason) if reason else None)

    def _skip(self, session: ReleaseSession, stage: StageConfig, sid: str, reason: str) -> None:
        steps = session.procedure(stage.id)
        self.query_one("#step-output", StepOutput).begin(stage.id, [s for s, _ in steps].index(sid) + 1, sid,
                                                         step_title(session, stage.id, sid, dict(steps)[sid]))
        self._step_at = (stage.id, sid)

        async def job() -> None:
            outcome = None
            try:
                outcome = await session.skip_step(stage.id, sid, reason)
            finally:
                self.post_message(StepEnded(stage.id, sid, outcome))

        self.post_message(RunCore(job))
        self.refresh_bindings()

    def action_abort_stage(self) -> None:
        found = self._procedure_stage("abort_stage")
        if found is None:
            return
        session, stage = found
        on = sorted({f.flag for f in session.state.flips if f.stage == stage.id and f.after})
        self.app.push_screen(
            PromptScreen(f"Abort {stage.id}", "Stop its procedure here" + (f" and turn OFF: {', '.join(on)}" if on
                         else "") + ". Why?", "a reason (goes in the release log)", submit="Abort…"),
            lambda reason: self._confirm_abort(session, stage, on, reason) if reason else None)

    def _confirm_abort(self, session: ReleaseSession, stage: StageConfig, on: list[str], reason: str) -> None:
        body = Text(f"{stage.id} stops where it is: its steps not done stay undone"
                    + (f"; OFF again now: {', '.join(on)}" if on else "; it switched no flag on") +
                    f".\nReason: {reason}\nf starts it again later, from its first step.")
        self.app.push_screen(ConfirmScreen(f"Abort {stage.id}?", body, confirm_label="Abort stage"),
                             lambda ok: self._abort(session, stage, reason) if ok else None)

    def _abort(self, session: ReleaseSession, stage: StageConfig, reason: str) -> None:
        async def job() -> None:
            problems = await session.abort_stage(stage.id, reason)
            for p in problems:
                self.notify(p, title=f"{stage.id} aborted", severity="error", markup=False, timeout=20)
            if not problems:
                self.notify(f"{stage.id} aborted.", markup=False)

        self.post_message(RunCore(job))

    def action_timeline(self) -> None:
        panel = self.query_one("#timeline", TimelinePanel)
        panel.display = not panel.display
        self.query_one("#cut-body").display = not panel.display
        self.render_state()

    def action_stable(self) -> None:
        stage, session = self._highlighted(), self.session
        if stage is None or session is None:
            return
        refusal = session.stable_refusal(stage.id)
        if refusal and session.stable_refusal(stage.id, override=True) is None:
            # Only its watched windows (or monitor time) hold it back: say which, and offer the override.
            self.app.push_screen(
                PromptScreen(f"Mark {stage.id} stable anyway?", f"Not yet: {refusal}.\nOverride it with a reason "
                             "(logged with what its windows show now), or Esc to wait.",
                             "a reason (goes in the release log)", submit="Override"),
                lambda reason: self._override(session, stage, reason) if reason else None)
            return
        if refusal:  # before asking for the note: the note would be typed for nothing
            self.notify(f"{stage.id} cannot be marked stable: {refusal}", severity="warning", markup=False,
                        timeout=12)
            return
        self.app.push_screen(PromptScreen(f"Mark {stage.id} stable", "What did you watch?", "note"),
                             lambda note: self.post_message(RunCore(lambda: session.mark_stable(stage.id, note),
                                                                    f"{stage.id} marked stable")) if note else None)

    def _override(self, session: ReleaseSession, stage: StageConfig, reason: str) -> None:
        self.post_message(RunCore(lambda: session.mark_stable(stage.id, reason, override=reason),
                                  f"{stage.id} marked stable (override: {reason})"))

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
