"""The cockpit's actions, registered once: footer bindings, the command palette and the help screen
all read this table, so a key and its description can never disagree.

`closed` says which actions the release's phase has ruled out; the screens' and the app's
`check_action` show those disabled (key bar, palette) instead of refusing them once tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession


@dataclass(frozen=True)
class Action:
    action: str
    key: str
    title: str
    help: str
    footer: bool = True
    bar: str = ""
    """A shorter title for the key bar, where 80 columns hold a dozen keys."""
    spare: bool = False
    """Left off the key bar first when it is short (Help and the palette still list it)."""
    priority: bool = False
    """Taken before the focused widget sees the key (enter runs a step, not the table's row select)."""


GLOBAL = [
    Action("retake", "r", "Re-take evidence", "Take every check's evidence again, now", bar="Re-take all"),
    Action("signoff", "s", "Sign off", "Record Release Owner, Rollback Owner and the rollback ref"),
    Action("go", "g", "GO", "Give GO (only when the gate says GO; confirm by typing the short SHA)"),
    Action("nogo", "n", "NO-GO", "Record NO-GO with a reason (any time before GO)"),
    Action("switch('readiness')", "1", "Readiness", "The checklist, evidence and verdict", spare=True),
    Action("switch('cutover')", "2", "Cutover", "Stages in order: start, run their steps, watch, mark stable, "
           "kill switch", spare=True),
    Action("rollback", "ctrl+r", "Rollback", "Open the guided rollback for this release", footer=False),
    Action("browse", "ctrl+l", "Browse log", "The release log, read-only, with integrity check", footer=False),
    Action("help", "question_mark", "Help", "Keys and what the cockpit does"),
    Action("quit", "q", "Quit", "Leave; the release stays in the log and resumes next time"),
]

READINESS = [
    Action("tick", "space", "Tick", "Tick the highlighted manual item, with a note"),
    Action("retake_one", "t", "Re-take item", "Re-take the highlighted item's evidence", bar="Re-take",
           spare=True),
    Action("raw", "enter", "Raw", "Show the highlighted item's raw excerpt", footer=False),
]

CUTOVER = [
    Action("start_stage", "f", "Start stage", "Start the highlighted stage after confirmation: its flags ON, or "
           "its procedure ready to run step by step", bar="Start"),
    Action("run_step", "enter", "Run step", "Run the stage's next step (or retry a failed one): said and confirmed "
           "first; a manual step asks for a note", bar="Run", priority=True),
    Action("skip_step", "x", "Skip step", "Skip the stage's next step, with a reason (logged)", bar="Skip"),
    Action("abort_stage", "a", "Abort stage", "Stop the stage's procedure, with a reason: the flags it switched "
           "on go off again", bar="Abort"),
    Action("stable", "m", "Mark stable", "Mark the highlighted stage stable (its checks must pass)", bar="Stable"),
    Action("kill", "k", "Kill switch", "Turn the highlighted stage's flags OFF at once"),
    Action("timeline", "t", "Timeline", "Planned against actual for every step, late ones marked (t again: "
           "back to the stage)"),
    Action("watch", "w", "Watch", "Re-take the highlighted stage's checks now"),
    Action("done", "D", "Done", "Close the release once every stage is stable", footer=False),
]


def bindings(actions: list[Action]) -> list[Binding]:
    return [Binding(a.key, a.action, a.title, show=a.footer, priority=a.priority) for a in actions]


# The phase's own rules (cockpit.core.release.Phase): sign-off and the decision come before GO; the
# stages are run while the release holds the lock (GO, cutover). Rules that turn with the evidence (the
# gate, the order of stages, a monitor window) stay with the actions, which say why when tried.
_BEFORE_GO = {"signoff", "go", "nogo"}
_WHILE_HELD = {"start_stage", "run_step", "skip_step", "abort_stage", "stable", "done"}


def closed(action: str, session: ReleaseSession | None) -> str | None:
    """Why the release's phase rules `action` out, or None (possible; or refused with its reason when tried)."""
    if session is None:  # still opening: the action says so when tried
        return None
    phase = session.state.phase
    if action in _BEFORE_GO:
        return session.signoff_refusal()
    if action in _WHILE_HELD and not phase.holds_lock:
        return f"the release is '{phase}': stages are run between GO and its close"
    if action == "tick":
        return session.tick_refusal()
    return None
