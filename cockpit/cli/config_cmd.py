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
    from cockpit.runbook.config import ConfigError, load_runbook  # pydantic only when a runbook is read

    try:
        rb = load_runbook(args.file)
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
