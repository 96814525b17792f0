"""A stage's procedure on screen: its steps in order with their state, what the next one will do (said
before it runs), and the output of the steps run from this cockpit as it comes.

Always Text, never markup: a command's output and a step's failure are remote text, shown as the
characters they hold (runbook/textsafe.py).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import RichLog, Static

from cockpit.core.release import StageStatus
from cockpit.core.timeline import timeline
from cockpit.runbook.durations import humanize
from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.procedure import StepOutcome
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.steps import Step

ICON = {"pending": "·", "next": "▶", "started": "…", "done": "✔", "failed": "✘", "skipped": "↷"}
STATE_STYLE = {"pending": "dim", "next": "bold yellow", "started": "bold cyan", "done": "green", "failed": "bold red",
               "skipped": "yellow"}
KEYS = "x skip (with a reason) · a abort the stage"


def left_text(left: timedelta) -> str:
    """A soak's time left, to the second: "4:05 left" (a wait counts down where people can see it)."""
    s = max(0, int(left.total_seconds() + 0.999))
    h, rest = divmod(s, 3600)
    return (f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}") + " left"


def step_title(session: ReleaseSession, stage_id: str, sid: str, step: Step) -> str:
    """Its title, else what it does in short: a command's argv as the runbook has it (not where it runs)."""
    if step.title:
        return step.title
    if step.kind == "command":
        return shlex.join(step.run)
    return session.describe_step(stage_id, sid)


def wait_left(session: ReleaseSession, stage_id: str, sid: str, step: Step, now: datetime) -> timedelta | None:
    """A started wait step's time left (from when it started, as the log has it), else None."""
    st = session.state.stage(stage_id)
    started = st.step_started.get(sid)
    if step.kind != "wait" or st.steps.get(sid) != "started" or started is None:
        return None
    return started + step.duration - now


def steps_text(session: ReleaseSession, stage_id: str, *, running: str | None, now: datetime) -> Text:
    """One line per step: its state, when it ran (or is planned, and how late), what it is."""
    st = session.state.stage(stage_id)
    steps = session.procedure(stage_id)
    nxt = session.next_step(stage_id) if st.status is StageStatus.STARTED else None
    plan = {r.step: r for r in timeline(session.state, now) if r.stage == stage_id}
    width = max((len(sid) for sid, _ in steps), default=4)
    t = Text(no_wrap=True, overflow="ellipsis")
    for i, (sid, step) in enumerate(steps, 1):
        state = "started" if sid == running else st.steps.get(sid, "pending")
        shown = "next" if nxt is not None and nxt[0] == sid and state == "pending" else state
        line = Text()
        line.append(f" {ICON[shown]} {i}. {sid:<{width}} ", style=STATE_STYLE[shown])
        line.append(f"{step.kind:<7} ", style="dim")
        line.append(f"{'next' if shown == 'next' else state:<8}", style=STATE_STYLE[shown])
        row = plan.get(sid)
        left = wait_left(session, stage_id, sid, step, now)
        if left is not None:
            when = left_text(left)
        elif state in ("done", "failed", "skipped") and sid in st.step_finished:
            when = f"{st.step_finished[sid]:%H:%M}"
        elif state == "started":
            when = f"since {st.step_started[sid]:%H:%M}" if sid in st.step_started else "starting"
        elif row is not None and row.planned is not None:
            when = f"at {row.planned:%H:%M}"
        else:
            when = ""
        line.append(f" {when:<11}")
        if row is not None and row.late_by:
            line.append(f" {humanize(row.late_by)} late ", style="bold white on red")
        line.append(" " + printable(step_title(session, stage_id, sid, step), one_line=True))
        if i > 1:
            t.append("\n")
        t.append_text(line)
    return t


def next_text(session: ReleaseSession, stage_id: str, *, running: str | None, failure: str | None,
              now: datetime) -> Text:
    """What comes next in the stage's procedure, in words, with the keys that do it."""
    st = session.state.stage(stage_id)
    steps = session.procedure(stage_id)
    numbers = {sid: i for i, (sid, _) in enumerate(steps, 1)}
    t = Text()
    if st.status is StageStatus.STABLE:
        t.append(f"Every step done; stable since {st.stable_at:%H:%M}." if st.stable_at else "Every step done.",
                 style="green")
        return t
    if st.status is not StageStatus.STARTED:
        again = {StageStatus.ABORTED: "Aborted: ", StageStatus.KILLED: "Killed: ",
                 StageStatus.ROLLED_BACK: "Rolled back: "}.get(st.status, "")
        t.append(f"{again}{len(steps)} steps. ", style="bold" if again else "")
        t.append("f starts the stage (its gate first), then ⏎ runs its steps one at a time"
                 + (", from the first again." if again else ", each said and confirmed before it runs."))
        return t
    if running is not None and running in numbers:
        step = dict(steps)[running]
        t.append(f"Running {numbers[running]}. {running}", style="bold cyan")
        t.append(f" · {printable(step_title(session, stage_id, running, step), one_line=True)}")
        left = wait_left(session, stage_id, running, step, now)
        t.append(f"\n{left_text(left)}: the next step waits until then." if left is not None
                 else "\nIts output is shown as it comes; q asks before leaving while it runs.", style="dim")
        return t
    nxt = session.next_step(stage_id)
    if nxt is None:
        t.append("Every step is done. ", style="bold green")
        t.append("Watch its checks (w), then mark it stable (m).")
        return t
    sid, step = nxt
    state = st.steps.get(sid)
    if state == "failed":
        t.append(f"✘ {numbers[sid]}. {sid} FAILED", style="bold red")
        t.append(f" — {printable(failure, one_line=True)}" if failure else " — its entry in the release log says why")
        t.append(f"\n⏎ retry · {KEYS}", style="dim")
        return t
    if state == "started":
        t.append(f"{numbers[sid]}. {sid} was started at {st.step_started[sid]:%H:%M} and has not finished",
                 style="bold yellow")
        t.append(" (a cockpit stopped, or another terminal runs it).")
        t.append(f"\n⏎ goes on with it (a command still running is followed, not started twice) · {KEYS}",
                 style="dim")
        return t
    t.append(f"Next: {numbers[sid]}. {sid}", style="bold")
    t.append(f" · {printable(session.describe_step(stage_id, sid), one_line=True)}")
    if step.kind == "manual":
        keys = "⏎ confirm it with a note"
    elif not step.confirm:
        keys = "⏎ run it (no confirmation: confirm = false)"
    else:
        keys = "⏎ run it (after confirming)"
    t.append(f"\n{keys} · {KEYS}", style="dim")
    return t


class StepList(Static):
    """The steps of the highlighted stage (steps_text), redrawn only when what it shows changed."""

    def show(self, text: Text) -> None:
        shown = (text.plain, tuple(text.spans))
        if shown != getattr(self, "_shown", None):
            self._shown = shown
            self.update(text)


class StepOutput(RichLog):
    """The output of the steps run from this cockpit, as it comes (the whole of it is in a file beside the
    log; the release log keeps an excerpt and its sha256)."""

    def __init__(self, **kw: object) -> None:
        # min_width: wrapped at the pane's width, never scrolled sideways at 80x24
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=5000, min_width=20,
                         **kw)  # type: ignore[arg-type]

    lines_since_begin = 0
    """Output lines of the step begun last."""

    def begin(self, stage_id: str, number: int, sid: str, title: str) -> None:
        self.lines_since_begin = 0
        self.write(Text(f"── {stage_id} · {number}. {sid}: {printable(title, one_line=True)} ──", style="bold"))

    def line(self, text: str, style: str = "") -> None:
        self.lines_since_begin += 1
        self.write(Text(printable(text), style=style))

    def outcome(self, out: StepOutcome) -> None:
        checks = out.data.get("checks")
        if isinstance(checks, dict):  # a checks step's evidence, one line each (its details are in the log)
            for cid, status in checks.items():
                self.line(f"{'✔' if status == 'pass' else '✘'} {cid}: {status}",
                          "green" if status == "pass" else "red")
        style = {"done": "bold green", "skipped": "yellow"}.get(out.outcome, "bold red")
        self.line(f"{ICON.get(out.outcome, '✘')} {out.step}: {out.outcome.upper()} — {out.detail}", style)


# -- messages from a step's worker to the screen that shows it -----------------------------------


@dataclass
class StepLine(Message):
    """A line of the running step's output."""

    text: str


@dataclass
class StepEnded(Message):
    """The step ran (its outcome), or did not finish (None: refused, cancelled, could not run)."""

    stage: str
    step: str
    outcome: StepOutcome | None
