"""`cockpit run --config F` (also `cockpit --config F`): the release owner's TUI."""

from __future__ import annotations

import argparse

from cockpit.cli.common import EXIT_OK, add_config, environment, load, opened_log
from cockpit.config import Runbook


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="open (or resume) the release in the cockpit TUI")
    add_config(p, ref=True)
    p.add_argument("--refresh", type=float, default=30.0, metavar="SECONDS",
                   help="re-take evidence this often while open (0: only on demand)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    return run_tui(runbook, env=environment(runbook, args), ref=args.ref, actor=args.actor,
                   refresh_every=args.refresh or None)


def run_tui(runbook: Runbook, *, env: str | None = None, ref: str | None = None, actor: str | None = None,
            refresh_every: float | None = 30.0) -> int:
    from cockpit.core.log.entry import current_actor
    from cockpit.ui.app import make_app  # Textual is imported only when a screen is opened

    with opened_log(runbook) as log:
        make_app(runbook, log, environment=env, ref=ref, actor=current_actor(actor),
                 refresh_every=refresh_every).run()
    return EXIT_OK
