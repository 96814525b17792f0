"""`cockpit rollback`: the incident commander's guided rollback (TUI), or headless with `--yes`.

Exit 0 done, 1 failed (or refused: nothing to roll back), 2 bad config or usage (ARCHITECTURE §4),
3 waiting for a person (headless: a manual step without its --manual note; the rollback stays open and
the run that brings the note goes on from that step).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from cockpit.cli.common import (EXIT_FAILED, acting_log, add_config, CliError, environment, load, opened_log,
                                print_json, step_texts, warn_log_status)
from cockpit.runbook.textsafe import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rollback", help="guided rollback of the environment's current release (TUI, or --yes)",
                       description="Roll back the environment's current (or last) release as planned at GO: "
                                   "flags back to their state at GO, redeploy the recorded rollback ref, verify.")
    add_config(p, json_out=True, release=True)
    p.add_argument("--stage", "-s", metavar="STAGE", help="partial rollback: restore only this stage's flags")
    p.add_argument("--yes", "-y", action="store_true", help="headless: run every step without prompts")
    p.add_argument("--note", metavar="TEXT", default="", help="closing note recorded with the outcome (headless)")
    p.add_argument("--manual", action="append", default=[], metavar="STEP=NOTE",
                   help="headless: confirm one of the runbook's manual rollback steps with a note (repeatable)")
    p.add_argument("--force", action="store_true",
                   help="roll back even while another release holds the environment's lock (logged)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    env = environment(runbook, args)
    if args.json and not args.yes:
        raise CliError("--json is for the headless rollback: add --yes")
    if not args.yes:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise CliError("the guided rollback needs a terminal; for scripts and CI use --yes (headless)")
        # startup: the TUI or the headless runner, whichever is asked for
        from cockpit.ui.rollback_app import run_rollback_app

        with opened_log(runbook) as log:
            return run_rollback_app(runbook, log, env, stage=args.stage, actor=args.actor, force=args.force,
                                    release_id=args.release_id)
    return asyncio.run(_headless(runbook, env, args))


async def _headless(runbook: Any, env: str, args: argparse.Namespace) -> int:
    # startup: the TUI or the headless runner, whichever is asked for
    from cockpit.core.log.entry import current_actor
    from cockpit.core.rollback import PlanRefused, RollbackRunner, plan_for
    from cockpit.core.rollback.headless import run_headless
    from cockpit.core.rollback.locking import LockRefused
    from cockpit.core.session import ReleaseSession

    def out(line: str) -> None:
        if not args.json:
            print(printable(line), flush=True)

    with acting_log(runbook) as log:
        session = await ReleaseSession.attach(runbook, log, env, current_actor(args.actor), release_id=args.release_id)
        if args.release_id and not session.opened:
            raise CliError(f"{env} has no release {args.release_id} in the log (cockpit log status lists the current one)",
                           EXIT_FAILED)
        warn_log_status(session)  # before the plan: the incident commander knows what it is built from
        try:
            plan = plan_for(session, stage=args.stage)
        except PlanRefused as e:
            if args.json:
                print_json({"outcome": "refused", "error": str(e), "steps": []})
            raise CliError(str(e), EXIT_FAILED) from None
        out(f"rollback of {plan.release_id} ({env}) by {session.actor.name}; scope {plan.scope}; "
            f"rollback ref {plan.rollback_ref or '(none recorded)'}; rollback owner {plan.rollback_owner or '(none)'}")
        runner = RollbackRunner(session, plan, lock_force=args.force)
        try:
            result = await run_headless(runner, note=args.note, out=out, manual=step_texts(args.manual, "--manual"))
        except LockRefused as e:
            raise CliError(str(e), EXIT_FAILED) from None
        warn_log_status(session)
    if args.json:
        print_json({"release_id": plan.release_id, "environment": env, "scope": plan.scope,
                    "rollback_ref": plan.rollback_ref, "deploy_ref": plan.deploy_ref, "resumed": plan.resumed,
                    "outcome": result.outcome, "elapsed_s": result.elapsed_s, "note": result.note,
                    **({"waiting": result.waiting} if result.waiting else {}),
                    "warnings": list(plan.warnings), "lock": runner.lock_note, "steps": result.steps})
    return result.exit_code

