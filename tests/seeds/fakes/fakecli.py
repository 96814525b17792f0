"""What every fake executable shares: strict option parsing, failing like the real tool, and the
calls log. A fake that is asked something it does not know says so and exits non-zero: a runbook
that would not work against the real tool must not pass against its double."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import shopstate


class Fail(Exception):
    """The tool's error: printed to stderr, the process exits with `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def parse(args: list[str], spec: dict[str, bool], *, unknown: Callable[[str], Fail],
          stop_at_dashdash: bool = False) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Options and operands. `spec` maps each option spelling to whether it takes a value; the
    first spelling of a group is up to the caller (aliases map through `spec` itself).
    Returns (options: spelling -> values, operands, the words after `--` when asked to stop there)."""
    opts: dict[str, list[str]] = {}
    operands: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            if stop_at_dashdash:
                return opts, operands, args[i + 1:]
            operands.extend(args[i + 1:])
            break
        if a.startswith("-") and a != "-":
            name, eq, value = a.partition("=")
            if name not in spec and not name.startswith("--") and len(name) > 2 and name[:2] in spec:
                name, eq, value = name[:2], "=", name[2:]   # -nprod
            if name not in spec:
                raise unknown(name)
            if spec[name]:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise Fail(f"error: flag needs an argument: {name}")
                    value = args[i]
                opts.setdefault(name, []).append(value)
            else:
                if eq and value not in ("true", "false"):
                    raise Fail(f"error: invalid argument {value!r} for {name}")
                opts.setdefault(name, []).append(value or "true")
        else:
            operands.append(a)
        i += 1
    return opts, operands, []


def one(opts: dict[str, list[str]], *names: str, default: str | None = None) -> str | None:
    for n in names:
        if n in opts:
            return opts[n][-1]
    return default


def main(tool: str, handler: Callable[[list[str], str], tuple[int, str]]) -> None:
    """Run `handler(argv, state_path) -> (exit code, what it did)`, print a Fail like the tool would,
    and append the call to the calls log either way."""
    state_path, calls = os.environ["SHOP_STATE"], os.environ["SHOP_CALLS"]
    argv = sys.argv[1:]
    try:
        code, did = handler(argv, state_path)
    except Fail as e:
        print(str(e), file=sys.stderr)
        code, did = e.code, f"refused: {e}"
    sys.stdout.flush()
    shopstate.record_call(calls, tool, argv, code, did)
    sys.exit(code)
