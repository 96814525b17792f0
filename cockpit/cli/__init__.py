"""Command line (ARCHITECTURE §4). Each module here that defines `register(subparsers)` adds its commands.

Discovery keeps this file small and lets each command group live in its own module. A module named
`<command>` or `<command>_cmd` registers the command `<command>`; when the command line names one,
only its module is imported (the cockpit's startup is measured, and `run` need not load `flags`).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from cockpit import __version__
from cockpit.cli.common import EXIT_USAGE, CliError
from cockpit.core.refusal import ActionRefused
from cockpit.runbook.textsafe import representable


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with only `command` when a module of that name exists."""
    parser = argparse.ArgumentParser(
        prog="cockpit",
        description="Release Cockpit: evidence, GO/NO-GO, flags and rollback for a production cutover.",
    )
    parser.add_argument("--version", action="version", version=f"cockpit {__version__}")
    # `cockpit --config F` is `cockpit run --config F` (ARCHITECTURE §4).
    parser.add_argument("--config", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # the package itself: its modules are discovered, and only the named one imported
    import cockpit.cli as pkg

    modules = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if m.name != "common")
    if command in {m.removesuffix("_cmd") for m in modules}:
        modules = [m for m in modules if m.removesuffix("_cmd") == command]
    for name in modules:
        module = importlib.import_module(f"cockpit.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Bytes that were not UTF-8 arrive as lone surrogates: make them visible escapes before any use
    # (an HTTP body, a log entry, a terminal cannot carry them).
    argv = [representable(a) for a in (sys.argv[1:] if argv is None else argv)]
    if argv and argv[0] == "--config" or (argv and argv[0].startswith("--config=")):
        argv = ["run", *argv]
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"cockpit: {e}", file=sys.stderr)
        return e.exit_code
    except ActionRefused as e:  # refused by the core where a command did not expect it (e.g. no key to sign)
        print(f"cockpit: refused: {representable(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130
