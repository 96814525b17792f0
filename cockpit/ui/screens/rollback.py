"""The rollback wizard: the incident commander's screen.

A Screen any app can push with a release (ReleaseSession): the cockpit hands down its own, the
`cockpit rollback` app attaches one; it depends on nothing else of the hosting app. It refreshes the
release from the log, plans (core: cockpit.core.rollback), shows each step's
plan before it runs, asks for confirmation (a step the runbook declares manual asks for a person's note
instead), runs it in a worker and streams the output. A failed step offers retry (enter), skip with a
reason (s) or abort (a); nothing continues on its own.
The screen is dismissed with the rollback's outcome ("done" | "failed" | "aborted") or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import RichLog, Static
from textual.worker import Worker

from cockpit.core.flags.base import on_off
from cockpit.core.rollback import PlanRefused, RollbackPlan, RollbackRunner, StepResult, plan_for
from cockpit.runbook.textsafe import printable
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.widgets.confirm import ConfirmScreen
from cockpit.ui.widgets.keybar import KeyBar, actions_of
from cockpit.ui.worker_errors import WorkerErrors

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession

CLOSE = "close"
ICON = {"pending": "·", "current": "▶", "running": "…", "done": "✔", "skipped": "↷", "failed": "✘"}


def clock_text(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


def _result_text(r: StepResult) -> str:
    """A step's outcome in words, without durations (those are in the log and the clock)."""
    if r.step == "deploy" and r.outcome != "skipped" and "exit_code" in r.data:
        if r.data.get("timed_out"):
            return f"redeploy of {r.data.get('ref')} timed out: its process group was killed"
        return f"redeploy of {r.data.get('ref')}: exit code {r.data.get('exit_code')}"
    if r.outcome == "done" and "argv" in r.data:  # a declared command's run
        return f"exit code {r.data.get('exit_code')}"
    return r.detail


# -- messages up from the step worker ----------------------------------------------------------


@dataclass
class OutputLine(Message):
    text: Text


@dataclass
class StepDone(Message):
    result: StepResult


class RollbackScreen(WorkerErrors, Screen[str | None]):
    CSS_PATH = Path(__file__).with_name("rollback.tcss")
    BINDINGS = [
        Binding("enter", "run", "Run step", priority=True),
        Binding("s", "skip", "Skip…"),
        Binding("a", "abort", "Abort…"),
        Binding("q", "leave", "Quit"),
    ]

    def __init__(self, session: ReleaseSession, *, stage: str | None = None, force: bool = False,
                 backend_factory: Callable[[], Any] | None = None, flag_backoff: float = 0.5,
                 tick_seconds: float = 1.0, reason: str | None = None) -> None:
        super().__init__()
        self.reason = reason or ""
        """Why the rollback is opened, when the cockpit knows it (a guardrail's breach): shown and logged."""
        self.session = session
        self.environment, self.actor, self.clock = session.environment, session.actor, session.clock
        self.stage, self.force = stage, force
        self.backend_factory, self.flag_backoff, self.tick_seconds = backend_factory, flag_backoff, tick_seconds
        self.runner: RollbackRunner | None = None
        self.status: dict[str, str] = {}
        self.current: str | None = None
        self._step_running = False
        self.begun = False
        self.outcome: str | None = None
        self.error: str | None = None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="rb-head"):
            yield Static(Text(f"ROLLBACK · {self.environment}"), id="rb-title")
            yield Static("⏱ --:--", id="rb-clock")
        yield Static(Text("Reading the release log…"), id="rb-facts")
        with Horizontal(id="rb-body"):
            yield Static(id="rb-steps")
            with Vertical(id="rb-main"):
                yield Static(id="rb-detail")
                yield Static(id="rb-status")
                # min_width: wrapped at the pane's width, never 78 columns scrolled sideways at 80x24
                yield RichLog(id="rb-output", wrap=True, markup=False, highlight=False, max_lines=5000, min_width=20)
        yield KeyBar(actions_of(self.BINDINGS))  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.load()
        if self.tick_seconds > 0:
            self.set_interval(self.tick_seconds, self.refresh_clock)

    @work(exclusive=True, group="rollback-load", exit_on_error=False)
    async def load(self) -> None:
        await self.session.refresh()  # what others recorded since (a headless kill, another wizard)
        try:
            plan = plan_for(self.session, stage=self.stage)
        except PlanRefused as e:
            self._refused(str(e))
            return
        self._loaded(plan)

    def _refused(self, why: str) -> None:
        self.error = why
        self.query_one("#rb-facts", Static).update(Text(f"Nothing to roll back: {why}", style="bold red"))
        self.query_one("#rb-detail", Static).update(Text("Press q to leave."))

    def _loaded(self, plan: RollbackPlan) -> None:
        state = self.session.state
        self.runner = RollbackRunner(self.session, plan, backend_factory=self.backend_factory,
                                     flag_backoff=self.flag_backoff, lock_force=self.force, reason=self.reason)
        for step in plan.steps:
            done = plan.finished_steps.get(step)
            self.status[step] = str(done["outcome"]) if done else "pending"
        self.query_one("#rb-title", Static).update(Text(f"ROLLBACK · {plan.release_id} · {plan.environment}"
                                                        f"{' · scope ' + plan.scope if plan.stage else ''}"))
        self.query_one("#rb-facts", Static).update(self._facts(plan))
        if plan.resumed:
            self._out(Text(f"Resuming the rollback started by {state.rollback.by}: finished steps are not redone.",
                           style="yellow"))
        self._advance()

    def _facts(self, plan: RollbackPlan) -> Text:
        t = Text()

        def row(label: str, value: str, style: str = "") -> None:
            t.append(f"{label:<16}", style="bold")
            t.append(value + "\n", style=style)

        tgt = plan.target
        if self.reason:
            row("Reason", printable(self.reason, one_line=True), "bold red")
        row("Deployed", f"{tgt.ref} @ {tgt.short}" if tgt else "unknown")
        if plan.rollback_ref:
            moved = f" → deploying {plan.deploy_ref[:12]}" if plan.deploy_ref != plan.rollback_ref else ""
            row("Rollback ref", f"{plan.rollback_ref} ({plan.rollback_sha[:7] or 'sha not recorded'}){moved}")
        else:
            row("Rollback ref", "NONE RECORDED — the redeploy is refused; the flags step still works", "bold red")
        row("Rollback owner", f"{plan.rollback_owner or '(none)'}   release owner {plan.release_owner or '(none)'}"
                              f"   you: {self.actor.name}")
        flipped = [f.flag for f in plan.flags if f.flipped]
        row("Flipped", ", ".join(flipped) or "no flag flipped in this release")
        if plan.snapshot is None:
            row("Snapshot at GO", "none taken", "yellow")
        else:
            row("Snapshot at GO", ", ".join(f"{k} {on_off(v)}"
                                            for k, v in plan.snapshot.items()) or "empty")
        for w in plan.warnings:
            t.append(f"⚠ {w}\n", style="yellow")
        t.rstrip()
        return t

    # -- the step machine -------------------------------------------------------------------------
    def _advance(self) -> None:
        assert self.runner is not None
        pending = [s for s in self.runner.plan.steps if self.status[s] not in ("done", "skipped")]
        self.current = pending[0] if pending else CLOSE
        self._render_steps()
        self._render_detail()

    def _render_steps(self) -> None:
        assert self.runner is not None
        t = Text()
        for i, step in enumerate([*self.runner.plan.steps, CLOSE], 1):
            st = self.status.get(step, "pending")
            if self.outcome is not None and step == CLOSE:
                st = "done" if self.outcome == "done" else "failed"
            icon = ICON["running" if self.running and step == self.current else
                        ("current" if step == self.current and st == "pending" else st)]
            style = {"done": "green", "skipped": "yellow", "failed": "bold red"}.get(st, "")
            if step == self.current and self.outcome is None:
                style += " reverse"
            t.append(f" {icon} {i}. {self._short_title(step)}\n", style=style.strip())
        self.query_one("#rb-steps", Static).update(t)

    def _short_title(self, step: str) -> str:
        """The steps column's name for a step: the built-in ones' short names, a declared one's title."""
        assert self.runner is not None
        if step == CLOSE:
            return "Close"
        plan = self.runner.plan
        title = plan.title(step)
        return printable(title if plan.step(step) is not None else title.split(":")[0], one_line=True)

    def _manual(self, step: str) -> bool:
        """A step the runbook declares manual: a person does it elsewhere and confirms it with a note."""
        assert self.runner is not None
        declared = self.runner.plan.step(step)
        return declared is not None and declared.kind == "manual"

    def _render_detail(self) -> None:
        assert self.runner is not None
        self.refresh_bindings()  # what can be run, skipped or aborted has changed
        plan = self.runner.plan
        detail = self.query_one("#rb-detail", Static)
        status = self.query_one("#rb-status", Static)
        status.remove_class("failed", "done")
        if self.outcome is not None:
            detail.update(Text(f"Rollback {self.outcome.upper()} — time to rollback "
                               f"{clock_text(self.runner.last_step_elapsed_s())}. Press q to leave."))
            status.update("")
            return
        if self.current == CLOSE:
            t = Text("Close the rollback: record the outcome, a note and the time to rollback.\n")
            for step in plan.steps:
                t.append(f"  {step}: {self.status[step]}\n")
            t.append("enter: close (with a note)   a: abort", style="dim")
            detail.update(t)
            status.update("")
            return
        step = self.current or ""
        t = Text(printable(plan.title(step), one_line=True) + "\n", style="bold")
        for line in plan.describe(step):
            t.append(printable(line) + "\n")
        if step == "deploy" and plan.interrupted_deploy:
            t.append("The previous redeploy was interrupted: it runs again.\n", style="yellow")
        failed = self.status[step] == "failed"
        declared = plan.step(step)
        if failed:
            run = "enter: retry"
        elif self._manual(step):
            run = "enter: confirm it with a note"
        elif declared is not None and not declared.confirm:
            run = "enter: run this step"
        else:
            run = "enter: run this step (after confirming)"
        keys = run + "   s: skip (with a reason)   a: abort"
        t.append(keys, style="dim")
        detail.update(t)
        if failed:
            res = self.runner.results.get(step)
            status.update(Text(f"✘ FAILED: {_result_text(res) if res else 'see the output'}"))
            status.add_class("failed")
        else:
            status.update("")

    def refresh_clock(self) -> None:
        if self.runner is None:
            return
        secs = self.runner.last_step_elapsed_s() if self.outcome else self.runner.elapsed_s(self.clock())
        self.query_one("#rb-clock", Static).update(f"⏱ {clock_text(secs)}")

    def _out(self, text: Text) -> None:
        self.query_one("#rb-output", RichLog).write(text)

    # -- actions ------------------------------------------------------------------------------------
    def _busy(self) -> bool:
        return self.runner is None or self.running or self.outcome is not None

    @property
    def running(self) -> bool:
        """A step (or skipping, closing) is in flight: its keys show disabled until it ends."""
        return self._step_running

    @running.setter
    def running(self, value: bool) -> None:
        self._step_running = value
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Run, skip and abort show disabled while a step runs and once the rollback is closed."""
        if action in ("run", "abort") and self._busy():
            return None
        if action == "skip" and (self._busy() or self.current in (None, CLOSE)):
            return None
        return True

    def action_run(self) -> None:
        if self._busy():
            return
        assert self.runner is not None
        step = self.current
        if step == CLOSE:
            self.app.push_screen(PromptScreen("Close the rollback", "A note for the log (what happened, what next):",
                                              "e.g. catalog mode restored, smoke green", submit="Close rollback",
                                              required=False), self._close)
            return
        assert step is not None
        plan = self.runner.plan
        retry = self.status[step] == "failed"
        title = ("Retry: " if retry else "Run: ") + printable(plan.title(step), one_line=True)
        body = "\n".join(printable(line) for line in plan.describe(step))
        if self._manual(step):  # done by a person outside the cockpit: their note is the proof
            self.app.push_screen(PromptScreen(title, f"{body}\nWhat was done, and where is the proof?",
                                              "a note (goes in the release log)", submit="Confirm step"),
                                 lambda note: self._start(step, note) if note else None)
        elif (declared := plan.step(step)) is not None and not declared.confirm:
            self._start(step)
        else:
            self.app.push_screen(ConfirmScreen(title, Text(body), confirm_label="Retry" if retry else "Run"),
                                 lambda ok: self._start(step) if ok else None)

    def _start(self, step: str, note: str = "") -> None:
        assert self.runner is not None
        self.running = True
        self._render_steps()
        self._out(Text(f"── {printable(self.runner.plan.title(step), one_line=True)} ──", style="bold"))
        self.run_step(step, note)

    @work(exclusive=True, group="rollback-step", exit_on_error=False)
    async def run_step(self, step: str, note: str = "") -> None:
        assert self.runner is not None
        await self._ensure_begun()

        # Per-flag and per-check outcomes are written when the step ends, in plan order (they land
        # concurrently, in any order); a command's output is streamed line by line as it comes.
        result = await self.runner.run_step(step, note=note,
                                            on_line=lambda line: self.post_message(OutputLine(Text(printable(line)))))
        self.post_message(StepDone(result))

    async def _ensure_begun(self) -> None:
        assert self.runner is not None
        if not self.begun:
            await self.runner.begin()
            self.begun = True
            if self.runner.lock_note:
                self.post_message(OutputLine(Text(f"lock: {self.runner.lock_note}", style="yellow")))

    @on(OutputLine)
    def _line(self, msg: OutputLine) -> None:
        self._out(msg.text)

    @on(StepDone)
    def _step_done(self, msg: StepDone) -> None:
        r = msg.result
        self.running = False
        self.status[r.step] = r.outcome
        style = {"done": "bold green", "skipped": "yellow"}.get(r.outcome, "bold red")
        declared = self.runner.plan.step(r.step) if self.runner is not None else None
        if r.step != "deploy" and (declared is None or declared.kind != "command"):  # a command's was streamed
            for line in r.lines:
                self._out(Text(printable(line), style="green" if line.startswith("✔") else "red"))
        self._out(Text(printable(f"{r.step}: {r.outcome.upper()} — {_result_text(r)}"), style=style))
        self.refresh_clock()
        if r.outcome == "failed":
            self._render_steps()
            self._render_detail()
        else:
            self._advance()

    def action_skip(self) -> None:
        if self._busy() or self.current in (None, CLOSE):
            return
        step = self.current
        assert step is not None
        self.app.push_screen(PromptScreen(f"Skip '{step}'", "Why? (goes in the log)",
                                          "e.g. no known-good build: flags off is enough", submit="Skip step"),
                             lambda reason: self._skip(step, reason))

    def _skip(self, step: str, reason: str | None) -> None:
        if reason:
            self.running = True
            self.skip_step(step, reason)

    @work(exclusive=True, group="rollback-step", exit_on_error=False)
    async def skip_step(self, step: str, reason: str) -> None:
        assert self.runner is not None
        await self._ensure_begun()
        self.post_message(StepDone(await self.runner.skip(step, reason)))

    def action_abort(self) -> None:
        if self._busy():
            return
        self.app.push_screen(PromptScreen("Abort the rollback", "Why? (goes in the log)",
                                          "e.g. redeploy keeps failing: escalating to the platform team",
                                          submit="Abort rollback"), self._abort)

    def _abort(self, reason: str | None) -> None:
        if reason:
            self.running = True
            self.finish("aborted", reason)

    def _close(self, note: str | None) -> None:
        if note is not None:
            self.running = True
            self.finish("done", note)

    @work(exclusive=True, group="rollback-step", exit_on_error=False)
    async def finish(self, outcome: str, note: str) -> None:
        assert self.runner is not None
        await self._ensure_begun()
        entry = await self.runner.finish(outcome, note)
        self.running = False
        self.outcome = outcome
        self._out(Text(f"Rollback {outcome.upper()} — time to rollback {clock_text(entry.payload['elapsed_s'])}"
                       + (f" — {note}" if note else ""), style="bold green" if outcome == "done" else "bold red"))
        self.refresh_clock()
        self._render_steps()
        self._render_detail()

    def action_leave(self) -> None:
        if self.running:
            self.app.push_screen(ConfirmScreen(
                "Leave while a step runs?",
                "The step is cancelled (a running deploy is killed) and not recorded as finished. "
                "`cockpit rollback` resumes from the last finished step.", confirm_label="Leave"),
                lambda ok: self._leave() if ok else None)
            return
        self._leave()

    def _leave(self) -> None:
        self.workers.cancel_group(self, "rollback-step")
        self.dismiss(self.outcome)

    def worker_failed(self, error: BaseException | None, worker: Worker) -> None:
        # Notified by WorkerErrors; the incident screen also shows it in the output and stops "running".
        self.running = False
        self._out(Text(printable(f"! {type(error).__name__}: {error}"), style="bold red"))
        if self.runner is not None:
            self._render_steps()
            self._render_detail()
