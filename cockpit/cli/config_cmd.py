"""`cockpit config check FILE` and `cockpit config schema`."""

from __future__ import annotations

import argparse
import sys

from cockpit.cli.common import EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="validate a runbook or print its JSON Schema")
    csub = p.add_subparsers(dest="config_command", metavar="check|schema", required=True)
    c = csub.add_parser("check", help="validate a runbook")
    c.add_argument("file")
    c.set_defaults(func=_check)
    s = csub.add_parser("schema", help="print the runbook's JSON Schema")
    s.set_defaults(func=_schema)


def _check(args: argparse.Namespace) -> int:
    # startup: pydantic only when a runbook is read
    from cockpit.runbook.config import ConfigError
    from cockpit.runbook.validated import load

    try:
        rb = load(args.file)  # remembered: a flag command on this runbook then starts without validating it again
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.file}: ok — {len(rb.checks)} checks, {len(rb.stages)} stages, "
          f"environments: {', '.join(rb.environments)}")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    # startup: `config check` needs no schema generation
    from cockpit.runbook.schema import json_schema

    print(json_schema())
    return EXIT_OK
