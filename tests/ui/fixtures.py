"""Deterministic releases for the snapshot scenes: fixed clock, fixed git SHAs, fixed evidence.

Evidence is written into the log as recorded entries (what a cockpit would have taken), so the
screens are the real screens reading a real log, without live latencies or ports on them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App
from textual.worker import WorkerCancelled, WorkerFailed

from cockpit.runbook.config import Runbook, load_runbook
from cockpit.core import kinds
from cockpit.core.evidence import Evidence, Status
from cockpit.core.log.base import ReleaseLog
from cockpit.core.log.entry import Actor, NewEntry
from cockpit.core.log.open import open_log
from cockpit.demo.scratch import Scratch, make_scratch
from cockpit.demo.target import DemoTarget

NOW = datetime(2026, 11, 22, 14, 0, 0, tzinfo=UTC)
ANN = Actor("Ann Release", "ann", "cockpit-host", "ann@example.com")
BOB = Actor("Bob Rollback", "bob", "ops-host", "bob@example.com")


def clock() -> datetime:
    return NOW


ENDLESS = ("follow", "watch")
"""Worker groups that run as long as their screen (following the shared log) or a guardrail's window
(the cockpit's watcher, minutes to days): never waited for."""


def _still_opening(app: App[Any]) -> bool:
    """The cockpit opens its release after its first paint (`call_after_refresh`): until then no worker
    exists to wait for, and an action pressed meanwhile is refused as "still opening"."""
    view = getattr(app, "view", None)
    if view is None or not hasattr(view, "session"):
        return False
    return view.session is None and view.open_error is None and getattr(app, "startup_error", None) is None


async def workers_done(app: App[Any], *, opening_within: float = 30.0) -> None:
    """Wait for the release to be open and every worker that ends by itself (a log follower runs until
    its screen closes)."""
    deadline = time.monotonic() + opening_within
    while True:
        if pending := [w for w in app.workers if w.group not in ENDLESS and not w.is_finished]:
            for w in pending:  # (wait_for_complete([]) would wait for every worker, the endless ones too)
                try:
                    await w.wait()
                except (WorkerCancelled, WorkerFailed):
                    pass
            continue
        if not _still_opening(app):
            return
        assert time.monotonic() < deadline, f"the cockpit did not open its release within {opening_within} s"
        await asyncio.sleep(0.01)


@contextmanager
def temp_env(**values: str) -> Iterator[None]:
    """Environment variables set for the block (scene builders are sync, so no monkeypatch)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fixed_git_dates() -> AbstractContextManager[None]:
    """Commits made in the block get fixed dates, so their SHAs are the same on every run."""
    return temp_env(GIT_AUTHOR_DATE="2026-11-20T10:00:00+00:00", GIT_COMMITTER_DATE="2026-11-20T10:00:00+00:00")


@dataclass
class SceneRelease:
    scratch: Scratch
    runbook: Runbook
    log: ReleaseLog
    release_id: str
    target_sha: str

    def add(self, kind: str, payload: dict[str, Any], *, minutes_ago: float, actor: Actor = ANN) -> None:
        self.log.append(NewEntry(self.release_id, "production", kind, payload, actor, at=NOW - timedelta(minutes=minutes_ago)))


def scene_release(tmp: Path) -> SceneRelease:
    # The target only lends its URL to the scratch runbook: scenes take no live evidence, so it stops at once.
    with fixed_git_dates(), DemoTarget() as target:
        scratch = make_scratch(tmp / "demo", target)
    runbook = load_runbook(scratch.runbook_path)
    log = open_log(runbook)
    sha = scratch.shas["head"]
    rel = SceneRelease(scratch, runbook, log, f"demo-shop-production-{sha[:7]}", sha)
    rel.add(kinds.SESSION_OPENED, {"target": {"ref": "origin/main", "sha": sha}, "runbook": "demo-shop"}, minutes_ago=20)
    return rel


DETAILS = {
    "http": ("HTTP 200 in 42 ms; JSON as expected (status)", '{"status": "ok"}'),
    "smoke": ("{key} = PASS", "smoke_sso=PASS\nsmoke_realtime=PASS\nreconnectOk=true\n"),
    "command": ("exit 0 in 0.4s: dry-run: ok, estimated 4s, no locks held", "dry-run: 3 pending migrations\n"),
    "file": ("backup.dump exists, 12m old, 16 bytes", ""),
}


def evidence_for(runbook: Runbook, *, failing: dict[str, tuple[str, str]] | None = None,
                 minutes_ago: float = 2) -> list[dict[str, Any]]:
    """A recorded evidence batch: everything passes except `failing` (id -> (detail, excerpt))."""
    out = []
    for i, c in enumerate(runbook.checks):
        if c.kind == "manual":
            status, detail, excerpt = Status.PENDING, f"waiting for a tick: {c.prompt}", ""
        elif c.kind == "git":
            status, detail, excerpt = Status.PASS, f"{c.rule}: ok", ""
            if c.rule == "rollback-is-ancestor":
                status, detail = Status.PENDING, "no rollback ref recorded yet (it is fixed at sign-off)"
        else:
            d, excerpt = DETAILS.get(c.kind, ("ok", ""))
            status, detail = Status.PASS, d.format(key=getattr(c, "key", ""))
        if failing and c.id in failing:
            status, (detail, excerpt) = Status.FAIL, failing[c.id]
        out.append(Evidence(c.id, c.kind, status, detail, excerpt, duration_ms=40 + i,
                            taken_at=NOW - timedelta(minutes=minutes_ago), blocking=c.blocking).to_json())
    return out
