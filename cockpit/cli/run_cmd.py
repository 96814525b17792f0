"""`cockpit run --config F` (also `cockpit --config F`): the release owner's TUI."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cockpit.cli.common import EXIT_OK, EXIT_USAGE, CliError, add_config, environment

if TYPE_CHECKING:
    from cockpit.core.opening import Opening


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="open (or resume) the release in the cockpit TUI")
    add_config(p, ref=True)
    p.add_argument("--refresh", type=float, default=30.0, metavar="SECONDS",
                   help="re-take evidence this often while open (0: only on demand)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    # startup: the first paint comes before the core is imported
    from cockpit.core.opening import Opening, OpeningError

    # The runbook is validated by the app right after its first paint (see cockpit.runbook.outline);
    # a file that is not even shaped like a runbook is refused here, before any screen.
    try:
        opening = Opening.from_file(args.config)
    except OpeningError as e:
        raise CliError(str(e)) from None
    return run_tui(opening, env=environment(opening.outline, args), ref=args.ref, actor=args.actor,
                   refresh_every=args.refresh or None)


def run_tui(opening: Opening, *, env: str | None = None, ref: str | None = None, actor: str | None = None,
            refresh_every: float | None = 30.0, **app_kw: Any) -> int:
    """The cockpit on a terminal (`cockpit run`, and `cockpit demo` with its hints in `app_kw`)."""
    from cockpit.ui.app import CockpitApp  # Textual is imported only when a screen is opened

    app = CockpitApp(opening, environment=env, ref=ref, actor=actor, refresh_every=refresh_every, **app_kw)
    try:
        app.run()
    finally:
        if opening.owns_log and app.log_store is not None:
            app.log_store.close()
    if app.startup_error:
        raise CliError(app.startup_error, EXIT_USAGE)
    return EXIT_OK
