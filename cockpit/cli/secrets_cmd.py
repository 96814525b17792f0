"""`cockpit secrets set|delete NAME` — tokens and passwords in the OS keyring, never on the command line.

`set` asks without echo on a terminal (twice, so a typo is caught); from a pipe it reads stdin
(`pass show x | cockpit secrets set flags-admin`), so scripts never put the value in argv.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from cockpit.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from cockpit.core.secrets import MissingSecret, SecretStoreError, delete_secret, env_name, set_secret

MAX_SECRET = 64 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("secrets", help="store or delete a secret in the OS keyring")
    ssub = p.add_subparsers(dest="secrets_command", metavar="set|delete", required=True)
    s = ssub.add_parser("set", help="store a secret (asked without echo, or read from stdin)")
    s.add_argument("name", help="the secret's name, as in the runbook (e.g. flags-admin)")
    s.set_defaults(func=_set)
    d = ssub.add_parser("delete", help="remove a secret from the keyring")
    d.add_argument("name")
    d.set_defaults(func=_delete)


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        try:
            first = getpass.getpass(f"Value for secret {name!r} (not shown): ")
            second = getpass.getpass("Again, to confirm: ")
        except EOFError:
            raise CliError("no value given; nothing stored") from None
        if first != second:
            raise CliError("the two values differ; nothing stored")
        return first
    data = sys.stdin.read(MAX_SECRET + 1)
    if len(data) > MAX_SECRET:
        raise CliError(f"stdin holds more than {MAX_SECRET} characters; that is not a secret value")
    return data.rstrip("\r\n")  # `echo x |` adds a newline that is not part of the value


def _set(args: argparse.Namespace) -> int:
    value = _read_value(args.name)
    if not value:
        raise CliError("empty value; nothing stored", EXIT_USAGE)
    try:
        set_secret(args.name, value)
    except SecretStoreError as e:
        raise CliError(str(e), EXIT_FAILED) from None
    print(f"stored secret {args.name!r} in the keyring ({_backend_name()}); the runbook refers to it by name "
          f"(CI may set {env_name(args.name)} instead)")
    return EXIT_OK


def _delete(args: argparse.Namespace) -> int:
    try:
        delete_secret(args.name)
    except MissingSecret:
        raise CliError(f"the keyring holds no secret {args.name!r}; nothing deleted", EXIT_FAILED) from None
    except SecretStoreError as e:
        raise CliError(str(e), EXIT_FAILED) from None
    print(f"deleted secret {args.name!r} from the keyring")
    return EXIT_OK


def _backend_name() -> str:
    try:
        # startup: keyring loads its backends on import; only when asked
        import keyring

        kr = keyring.get_keyring()
        return f"{type(kr).__module__}.{type(kr).__name__}"
    except Exception:
        return "unknown backend"
