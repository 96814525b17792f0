"""`cockpit check`: take all evidence at once, print the verdict and its reasons, record it in the log.

Exit 0 GO, 1 NO-GO, 2 bad config or usage (ARCHITECTURE §4).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, acting_log, add_config, environment, load, open_session,
                                print_json, warn_log_status)
from cockpit.runbook.textsafe import printable, shorten

if TYPE_CHECKING:  # the core is imported when the command runs, so `cockpit --help` stays fast
    from cockpit.runbook.config import Runbook
    from cockpit.core.evidence import Evidence
    from cockpit.core.gate import Verdict
    from cockpit.core.session import ReleaseSession

SYMBOL = {"pass": "✔", "fail": "✘", "error": "!", "stale": "⌛", "pending": "…", "inconclusive": "?"}
LABEL = {"inconclusive": "NO DATA"}
"""A status's word where its name would not fit the column (the TUI says "? no data" too)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="take all evidence and print GO / NO-GO with its reasons")
    add_config(p, ref=True, json_out=True, release=True)
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    return run_check(runbook, env=environment(runbook, args), ref=args.ref, json_out=args.json, actor=args.actor,
                     release_id=args.release_id)


def run_check(runbook: Runbook, env: str | None = None, ref: str | None = None, json_out: bool = False,
              actor: str | None = None, release_id: str | None = None) -> int:
    env = env or runbook.default_environment
    return asyncio.run(_check(runbook, env, ref, json_out, actor, release_id))


async def _check(runbook: Runbook, env: str, ref: str | None, json_out: bool, actor: str | None,
                 release_id: str | None) -> int:
    with acting_log(runbook) as log:
        session = await open_session(runbook, log, env, actor, ref, release_id)
        progress = _Progress(len(runbook.checks)) if sys.stdout.isatty() and not json_out else None
        await session.take_evidence(on_result=progress.step if progress else None)
        if progress:
            progress.done()
        verdict = session.verdict()
        warn_log_status(session)
    if json_out:
        print_json(as_json(session, verdict))
    else:
        print(render(session, verdict))
    return EXIT_OK if verdict.go else EXIT_FAILED


def as_json(session: ReleaseSession, verdict: Verdict) -> dict[str, Any]:
    checks = []
    for c in session.runbook.checks:
        ev = verdict.evidence.get(c.id)
        if ev is None:
            checks.append({"id": c.id, "kind": c.kind, "status": "pending", "blocking": c.blocking,
                           "detail": "not taken", "duration_ms": 0, "taken_at": None, "stage": c.stage})
            continue
        d = ev.to_json()
        d["stage"] = c.stage
        checks.append(d)
    return {
        "decision": verdict.decision,
        "reasons": verdict.reasons,
        "warnings": verdict.warnings,
        "release_id": session.release_id,
        "environment": session.environment,
        "target": {"ref": session.target.ref, "sha": session.target.sha, "on_main": session.target_on_main},
        "checks": checks,
    }


def render(session: ReleaseSession, verdict: Verdict) -> str:
    rb = session.runbook
    on_main = {True: f"on {rb.release.main}", False: f"NOT on {rb.release.main}", None: "main unknown"}
    lines = [
        f"{rb.release.name} · {session.environment} · target {session.target.ref}@{session.target.short} "
        f"({on_main[session.target_on_main]}) · release {session.release_id}",
        "",
    ]
    width = max((len(c.id) for c in rb.checks), default=10)
    kinds = max((len(c.kind) for c in rb.checks), default=7)
    for c in rb.checks:
        ev: Evidence | None = verdict.evidence.get(c.id)  # as it counts now (freshness judged by the gate)
        status = ev.status.value if ev else "pending"
        detail = printable(ev.detail, one_line=True) if ev else "not taken"
        ms = f"{ev.duration_ms:>6.0f}ms" if ev else ""
        where = f"[{c.stage}] " if c.stage else ""
        lines.append(f"  {SYMBOL[status]} {LABEL.get(status, status.upper()):<7} {'MUST' if c.blocking else 'SHOULD':<6} "
                     f"{c.id:<{width}}  {c.kind:<{kinds}} {where}{shorten(detail, 70)} {ms}")
    lines.append("")
    if verdict.go:
        lines.append(f"GO — {verdict.passed}/{verdict.counted} release checks pass")
    else:
        lines.append(f"NO-GO — {len(verdict.reasons)} reason{'s' if len(verdict.reasons) != 1 else ''}:")
        lines += [f"  • {printable(r, one_line=True)}" for r in verdict.reasons]
    if verdict.warnings:
        lines.append("Warnings (SHOULD, not blocking):")
        lines += [f"  • {printable(w, one_line=True)}" for w in verdict.warnings]
    return "\n".join(lines)


class _Progress:
    """A one-line progress display on a terminal while evidence is being taken."""

    def __init__(self, total: int):
        self.total, self.n = total, 0

    def step(self, ev: Evidence) -> None:
        self.n += 1
        sys.stderr.write(f"\r\x1b[2Ktaking evidence {self.n}/{self.total} · {ev.check_id}: {ev.status.value}")
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()
