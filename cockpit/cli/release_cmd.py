"""`cockpit release close`: close the environment's release headless once every stage is stable (the
end of a cutover driven from CI). Exit 0 closed, 1 refused, 2 bad config or usage."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from cockpit.cli.common import EXIT_FAILED, EXIT_OK, acting_log, add_config, CliError, environment, load, print_json
from cockpit.runbook.textsafe import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="close the environment's release (every stage stable), headless")
    rsub = p.add_subparsers(dest="release_action", required=True)
    cl = rsub.add_parser("close", help="close the release: done, its lock given back")
    add_config(cl, json_out=True, release=True)
    cl.add_argument("--note", "-m", default="", help="a closing note (logged)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    return asyncio.run(_close(runbook, environment(runbook, args), args))


async def _close(runbook: Any, env: str, args: argparse.Namespace) -> int:
    # startup: the session loads when the command runs
    from cockpit.core.log.entry import current_actor
    from cockpit.core.refusal import ActionRefused
    from cockpit.core.session import ReleaseSession

    with acting_log(runbook) as log:
        session = await ReleaseSession.attach(runbook, log, env, current_actor(args.actor), release_id=args.release_id)
        if not session.opened:
            raise CliError(f"{env} has no release to close", EXIT_FAILED)
        try:
            await session.finish(args.note)
        except ActionRefused as e:
            if args.json:
                print_json({"release_id": session.release_id, "closed": False, "refused": str(e)})
            else:
                print(f"cockpit: refused: {printable(str(e))}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        print_json({"release_id": session.release_id, "closed": True})
    else:
        print(printable(f"{session.release_id}: closed by {session.actor.name}"))
    return EXIT_OK
