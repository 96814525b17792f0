"""Carrying out one step of a procedure — a stage's (core/procedure.py) or a declared rollback's
(core/rollback/runner.py): the same kinds, run the same way, said the same way before they run.

The caller logs the step (step.* or rollback.step); this module does it and says how it went.
Commands are argv lists: each element is one argument with its placeholders substituted, joined
with shell quoting for the run wrapper (core/runs.py), so no value is ever read as shell syntax.
"""

from __future__ import annotations

import asyncio
import hashlib
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.core.evidence import Status
from cockpit.core.refusal import ActionRefused
from cockpit.core.runs import RunResult, Runs
from cockpit.runbook.durations import humanize
from cockpit.runbook.placeholders import PlaceholderError, expand

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.steps import Step

EXCERPT_LINES = 10
"""Lines of a command's output kept in its log entry (all of it stays in its output file)."""


@dataclass(frozen=True)
class Place:
    """Where a procedure runs: what its steps' defaults come from."""

    repo: Path
    stage: str | None
    stage_flags: tuple[str, ...] = ()
    tag: Callable[[Any], str] = lambda step: step.name or "pre-release"
    remote: str | None = None


@dataclass
class Done:
    outcome: str
    """done | failed"""
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def argv_of(step: Any, values: Mapping[str, str | None]) -> list[str]:
    try:
        return [expand(a, values) for a in step.run]
    except PlaceholderError as e:
        raise ActionRefused(f"step cannot run: {e}") from None


def describe(step: Step, values: Mapping[str, str | None], place: Place) -> str:
    """What the step will do, in words, before it runs (shown in the confirmation and logged)."""
    if step.kind == "command":
        try:
            argv = shlex.join(argv_of(step, values))
        except ActionRefused as e:
            return str(e)
        return (f"run {argv} in {place.repo / (step.cwd or '.')} (timeout {humanize(step.timeout)}, "
                f"success = exit {step.expect_exit})")
    if step.kind == "tag":
        sha = (values.get("sha") or "")[:7]
        return f"tag {place.tag(step)} on {sha}" + (f" and push it to {place.remote}" if place.remote else "")
    if step.kind == "flags":
        flags = step.flags if step.flags is not None else place.stage_flags
        return f"switch {', '.join(flags) or 'no flags'} {'on' if step.on else 'off'}"
    if step.kind == "checks":
        return f"re-take {', '.join(step.checks)}; each must pass to go on"
    if step.kind == "manual":
        return f"{step.who + ': ' if step.who else ''}{step.instruction} (confirmed with a note)"
    return f"wait {humanize(step.duration)} before the next step"


async def execute(session: ReleaseSession, step: Step, *, key: str, values: Mapping[str, str | None], place: Place,
                  note: str = "", on_line: Callable[[str], None] | None = None, runs: Runs | None = None,
                  resumed: bool = False, started_at: datetime | None = None) -> Done:
    """Carry the step out. `key` names its run (once at a time, across cockpits); `resumed` says a
    crashed cockpit started it and its run may still be going; `started_at` when a wait began."""
    if step.kind == "command":
        return await _command(session, step, key, values, place, on_line, runs, resumed)
    if step.kind == "tag":
        name = place.tag(step)
        problems = await session._tag_named(name, place.stage or name)
        if problems:
            return Done("failed", "; ".join(problems), {"tag": name})
        return Done("done", f"{name} on {session.target.short}", {"tag": name, "sha": session.target.sha})
    if step.kind == "flags":
        flags = step.flags if step.flags is not None else list(place.stage_flags)
        if not flags:
            return Done("done", "no flags to switch")
        sid = key.rsplit(":", 1)[-1]
        reason = f"step {sid}" + (f" of stage {place.stage}" if place.stage else "")
        result = await session.flip_flags({f: step.on for f in flags}, reason=reason, stage=place.stage)
        failed = [r.summary() for r in result.failed]
        return Done("failed" if failed else "done", "; ".join(failed) or f"{', '.join(flags)} {'on' if step.on else 'off'}",
                    {"flags": {f: step.on for f in flags}})
    if step.kind == "checks":
        evidence = await session.take_evidence(list(step.checks))
        lines = [f"{'✔' if e.status is Status.PASS else '✘'} {e.check_id}: {e.status.value} — {e.detail}"
                 for e in evidence]
        bad = [ln for e, ln in zip(evidence, lines) if e.status is not Status.PASS]
        return Done("failed" if bad else "done", "; ".join(bad) or "all pass",
                    {"checks": {e.check_id: e.status.value for e in evidence}}, lines)
    if step.kind == "manual":
        if not note.strip():
            raise ActionRefused("a manual step is confirmed with a note: what was done, where the proof is")
        return Done("done", f"confirmed by {session.actor.name}: {note.strip()}",
                    {"note": note.strip(), "who": step.who or ""})
    end = (started_at or session.clock()) + step.duration
    while (left := end - session.clock()).total_seconds() > 0:
        if on_line is not None:
            on_line(f"waiting: {humanize(left)} left")
        await asyncio.sleep(min(left.total_seconds(), 1.0))
    return Done("done", f"waited {humanize(step.duration)}")


async def _command(session: ReleaseSession, step: Any, key: str, values: Mapping[str, str | None], place: Place,
                   on_line: Callable[[str], None] | None, runs: Runs | None, resumed: bool) -> Done:
    from cockpit.core.log.open import spool_dir  # startup: only a command step needs the runs folder

    runs = runs or Runs(spool_dir(session.runbook) / "runs")
    argv = argv_of(step, values)
    cwd = place.repo / (step.cwd or ".")
    left = runs.find(key)
    if left is not None and (runs.running(left) or (resumed and runs.exit_code(left) is not None)):
        # A run left by a cockpit that stopped (started, never finished in the log): follow it to its end
        # or read its exit code; never start it twice at once.
        if on_line is not None:
            on_line(f"(following the run started by a cockpit that stopped, pid {left.pid})")
        res = await runs.follow(left, on_line=on_line)
    elif not cwd.is_dir():
        res = RunResult(shlex.join(argv), None, 0.0, error=f"working directory {cwd} does not exist")
    else:
        res = await runs.start(key, shlex.join(argv), cwd=cwd, timeout_s=step.timeout.total_seconds(), on_line=on_line)
    out_file = runs.output_path(key)
    data: dict[str, Any] = {"argv": argv, "cwd": str(cwd), "exit_code": res.exit_code,
                            "elapsed_s": round(res.elapsed_s, 3), "timed_out": res.timed_out,
                            "excerpt": res.tail[-EXCERPT_LINES:], "output_file": str(out_file),
                            "output_sha256": await asyncio.to_thread(sha256_of, out_file)}
    ok = res.exit_code == step.expect_exit and not res.timed_out
    problem = res.error if not ok else ""
    if step.produces:
        produced = cwd / step.produces
        digest = await asyncio.to_thread(sha256_of, produced)
        data["produces"] = {"path": str(produced), "sha256": digest}
        if ok and digest is None:
            ok, problem = False, f"it did not write {step.produces}"
    if ok:
        detail = f"exit {res.exit_code} in {res.elapsed_s:.1f}s"
    elif res.exit_code is not None and res.exit_code != step.expect_exit:
        detail = f"exit {res.exit_code}, expected {step.expect_exit}"
    else:
        detail = problem or res.summary()
    return Done("done" if ok else "failed", detail, data, list(res.tail))


def sha256_of(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None
