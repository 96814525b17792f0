"""`cockpit watch --config F [--env E] [--release ID]`: watch the open windows of the environment's
release without a screen (for systemd or a pod), act on a breach, exit when no window is open.

It holds the environment's watch lease while it works (a second watcher waits and takes over when
the first stops renewing), writes only what changes, and resumes from the log after a restart.
Exit 0 when every window closed (clean or acted on), 1 when there was nothing to watch or it could
not act, 2 bad config or usage. SIGTERM and Ctrl-C stop it cleanly (the lease is given back).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, CliError, add_config, deliver_notifications, environment, load,
                                opened_log, warn_log_status)
from cockpit.runbook.textsafe import printable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("watch", help="watch the release's guardrail windows and act on a breach (long-running)")
    add_config(p, release=True)
    p.add_argument("--quiet", "-q", action="store_true", help="print only breaches and actions")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    env = environment(runbook, args)
    if not any(s.guardrails for s in runbook.stages):
        raise CliError("the runbook has no guardrails to watch (guardrails = [...] on a stage)", EXIT_FAILED)
    return asyncio.run(_run(runbook, env, args))


async def _run(runbook: Any, env: str, args: argparse.Namespace) -> int:
    # startup: the session loads when the command runs
    from cockpit.core.log.entry import current_actor
    from cockpit.core.session import ReleaseSession
    from cockpit.core.watch import Watcher, watch_actor

    def say(line: str) -> None:
        said.append(line)
        if not args.quiet or "BREACHED" in line or "flags off" in line or "alert" in line or "!" in line:
            print(printable(line), flush=True)

    said: list[str] = []
    actor = watch_actor(current_actor(args.actor))
    with opened_log(runbook) as log:
        session = await ReleaseSession.attach(runbook, log, env, actor, release_id=args.release_id)
        warn_log_status(session)
        if not session.opened:
            raise CliError(f"{env} has no release to watch", EXIT_FAILED)
        watcher = Watcher(session, actor, say=say)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        acted_badly = False
        watched = False
        try:
            while not stop.is_set():
                wait = await watcher.round()
                if said:
                    acted_badly |= any("\n  ! " in line for line in said)
                    said.clear()
                    await asyncio.to_thread(deliver_notifications, log, runbook)
                if wait is None:
                    break
                watched = True
                try:
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                except TimeoutError:
                    pass
        finally:
            await watcher.give_back()
            session.close()
        if not watched and not stop.is_set():
            print(f"cockpit: no window of {session.release_id} is open in {env}", file=sys.stderr)
            return EXIT_FAILED
        print(printable(f"{session.release_id}: {'stopped' if stop.is_set() else 'no window open any more'}"),
              flush=True)
        return EXIT_FAILED if acted_badly else EXIT_OK
