"""`cockpit tick CHECK --note T`: tick a manual item headless (a release driven from CI: the person
confirms what they checked, where the proof is). Exit 0 ticked, 1 refused, 2 bad config or usage."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, CliError, acting_log, add_config, environment, load, open_session,
                                print_json)
from cockpit.runbook.textsafe import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tick", help="tick a manual item of the release, with a note (headless)")
    p.add_argument("check", help="the manual check's id")
    add_config(p, json_out=True, release=True)
    p.add_argument("--note", "-m", required=True, help="what was checked, where the proof is (logged)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    manual = {c.id for c in runbook.checks if c.kind == "manual"}
    if args.check not in manual:
        raise CliError(f"{args.check!r} is not a manual item; the runbook's: {', '.join(sorted(manual)) or 'none'}")
    return asyncio.run(_tick(runbook, environment(runbook, args), args))


async def _tick(runbook: Any, env: str, args: argparse.Namespace) -> int:
    from cockpit.core.refusal import ActionRefused  # startup: with the session

    with acting_log(runbook) as log:
        session = await open_session(runbook, log, env, args.actor, None, args.release_id)
        try:
            await session.tick(args.check, args.note)
        except ActionRefused as e:
            print(f"cockpit: refused: {printable(str(e))}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        print_json({"release_id": session.release_id, "check_id": args.check, "ticked_by": session.actor.name})
    else:
        print(printable(f"{session.release_id}: {args.check} ticked by {session.actor.name}"))
    return EXIT_OK
