"""One writer per release: every entry of a release is appended through ReleaseSession.record.

Run a whole release against the demo target and a real SQLite log — opening, evidence, sign-off,
a tick, GO (lock, snapshot, tag), a stage started and killed, a flag set, the rollback (flags,
redeploy, verify), a note and a forced unlock — with the store wrapped so that each append says
which function called it. Every one must come from the release's own writer.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path
from types import CodeType
from typing import Any

from cockpit.core import kinds
from cockpit.core.log.entry import Actor, Entry, NewEntry
from cockpit.core.log.open import open_log
from cockpit.core.rollback import RollbackRunner, plan_for
from cockpit.core.session import ReleaseSession
from tests.helpers.demo import Demo, in_cutover

ANN = Actor("Ann", "ann", "laptop")
BOB = Actor("Bob", "bob", "desk")
COCKPIT = Path(__file__).resolve().parents[2] / "cockpit"


class WatchedLog:
    """A real store whose appends remember the function that called them."""

    def __init__(self, log: Any) -> None:
        self._log = log
        self.callers: list[tuple[CodeType, str]] = []

    def append(self, entry: NewEntry) -> Entry:
        self.callers.append((sys._getframe(1).f_code, entry.kind))
        return self._log.append(entry)

    def append_guarded(self, entry: NewEntry, guard: Any) -> Entry:
        self.callers.append((sys._getframe(1).f_code, entry.kind))
        return self._log.append_guarded(entry, guard)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


async def test_every_entry_of_a_release_goes_through_its_writer(demo: Demo) -> None:
    log = WatchedLog(open_log(demo.runbook))
    session = await in_cutover(demo.runbook, log, ANN)
    await session.kill_stage("layer-0", "error rate")
    await session.flip(demo.runbook.all_flags[0], False, reason="by hand")

    incident = await ReleaseSession.attach(demo.runbook, log, "production", BOB)  # type: ignore[arg-type]
    runner = RollbackRunner(incident, plan_for(incident), flag_backoff=0.01)
    await runner.begin()  # takes the lock over from Ann: a forced unlock, then lock.taken
    for step in runner.plan.steps:
        await runner.run_step(step)
    await runner.finish("done", "rolled back")
    await ReleaseSession.writer(demo.runbook, log, "production", BOB, incident.release_id).note("post-mortem at 3")  # type: ignore[arg-type]

    written = Counter(kind for _, kind in log.callers)
    for kind in (kinds.SESSION_OPENED, kinds.EVIDENCE_TAKEN, kinds.ITEM_TICKED, kinds.SIGNOFF_RECORDED,
                 kinds.DECISION_GO, kinds.FLAGS_SNAPSHOT, kinds.TAG_CREATED, kinds.STAGE_STARTED, kinds.FLAG_FLIPPED,
                 kinds.STAGE_KILLED, kinds.ROLLBACK_STARTED, kinds.ROLLBACK_STEP, kinds.DEPLOY_STARTED,
                 kinds.DEPLOY_FINISHED, kinds.ROLLBACK_FINISHED, kinds.NOTE, "lock.taken", "lock.released"):
        assert written[kind], f"the drill wrote no {kind} entry"
    writers = {code for code, _ in log.callers}
    assert writers == {ReleaseSession._append.__code__}, [c.co_qualname for c in writers]


def test_nothing_else_in_the_code_appends_to_a_store() -> None:
    """The stores and the spool append for themselves (cockpit/core/log/); above them only the release does."""
    offenders = []
    for path in COCKPIT.rglob("*.py"):
        rel = path.relative_to(COCKPIT).as_posix()
        if rel.startswith("core/log/") or rel == "core/session.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("append", "append_guarded"):
                owner = ast.unparse(node.value)
                if node.attr == "append_guarded" or owner.split(".")[-1] in ("log", "store", "_log", "log_store"):
                    offenders.append(f"{rel}:{node.lineno} {owner}.{node.attr}")
    assert offenders == []
