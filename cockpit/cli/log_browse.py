"""`cockpit log browse --config F`: the auditor's read-only TUI over the release log.

Plugged into `cockpit log` by log_cmd._EXTENSIONS. Needs no flag token and takes no lock; the
store is opened read-only, and entries waiting in the spool are shown, never replayed. The list
follows the log as other terminals append to it.
"""

from __future__ import annotations

import argparse

from cockpit.cli.common import EXIT_OK, CliError, add_config, load
from cockpit.core.log.base import LogFilter
from cockpit.core.secrets import MissingSecret


def register_log(lsub: argparse._SubParsersAction) -> None:
    b = lsub.add_parser("browse", help="the auditor's read-only browser: filter, detail, release story, verify, export")
    add_config(b, env=False)
    b.add_argument("--release", metavar="R", help="start filtered to this release")
    b.add_argument("--oldest-first", action="store_true", help="start with the oldest entry (default: newest)")
    b.set_defaults(func=_browse)


def _browse(args: argparse.Namespace) -> int:
    # startup: the browser (Textual) and the read-only store load only for `log browse`
    from cockpit.core.log.readonly import LogUnreadable
    from cockpit.ui.browser import Query, open_source
    from cockpit.ui.browser_app import make_browser_app

    runbook = load(args)
    try:
        source = open_source(runbook)
    except (LogUnreadable, MissingSecret) as e:
        raise CliError(str(e), 1) from None
    query = Query(LogFilter(release_id=args.release), newest_first=not args.oldest_first)
    make_browser_app(source, query=query).run()
    return EXIT_OK
