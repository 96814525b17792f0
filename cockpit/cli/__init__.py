"""Command line (ARCHITECTURE §4). Each module here that defines `register(subparsers)` adds its commands.

Discovery keeps this file small and lets each command group live in its own module.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from cockpit import __version__
from cockpit.cli.common import EXIT_USAGE, CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cockpit",
        description="Release Cockpit: evidence, GO/NO-GO, flags and rollback for a production cutover.",
    )
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    # `cockpit --config F` is `cockpit run --config F` (ARCHITECTURE §4).
    parser.add_argument("--config", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import cockpit.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name == "common":
            continue
        module = importlib.import_module(f"cockpit.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "--config" or (argv and argv[0].startswith("--config=")):
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"cockpit: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130
