"""The cockpit's actions, registered once: footer bindings, the command palette and the help screen
all read this table, so a key and its description can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    action: str
    key: str
    title: str
    help: str
    footer: bool = True


GLOBAL = [
    Action("retake", "r", "Re-take evidence", "Take every check's evidence again, now"),
    Action("signoff", "s", "Sign off", "Record Release Owner, Rollback Owner and the rollback ref"),
    Action("go", "g", "GO", "Give GO (only when the gate says GO; confirm by typing the short SHA)"),
    Action("nogo", "n", "NO-GO", "Record NO-GO with a reason (always possible)"),
    Action("switch('readiness')", "1", "Readiness", "The checklist, evidence and verdict"),
    Action("switch('cutover')", "2", "Cutover", "Stages in order: flip, watch, mark stable, kill switch"),
    Action("rollback", "ctrl+r", "Rollback", "Open the guided rollback for this release", footer=False),
    Action("browse", "ctrl+l", "Browse log", "The release log, read-only, with integrity check", footer=False),
    Action("help", "question_mark", "Help", "Keys and what the cockpit does"),
    Action("quit", "q", "Quit", "Leave; the release stays in the log and resumes next time"),
]

READINESS = [
    Action("tick", "space", "Tick", "Tick the highlighted manual item, with a note"),
    Action("retake_one", "t", "Re-take item", "Re-take the highlighted item's evidence"),
    Action("raw", "enter", "Raw", "Show the highlighted item's raw excerpt", footer=False),
]

CUTOVER = [
    Action("start_stage", "f", "Flip stage", "Start the highlighted stage: its flags ON, after confirmation"),
    Action("stable", "m", "Mark stable", "Mark the highlighted stage stable (its checks must pass)"),
    Action("kill", "k", "Kill switch", "Turn the highlighted stage's flags OFF at once"),
    Action("watch", "w", "Watch", "Re-take the highlighted stage's checks now"),
    Action("done", "D", "Done", "Close the release once every stage is stable", footer=False),
]


def bindings(actions: list[Action]) -> list[Binding]:
    return [Binding(a.key, a.action, a.title, show=a.footer) for a in actions]
