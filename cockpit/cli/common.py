"""Helpers shared by the command modules: options, loading the runbook, exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported when a runbook is loaded, not by `cockpit --help`
    from contextlib import closing

    from cockpit.runbook.config import Runbook
    from cockpit.core.log.base import ReleaseLog
    from cockpit.core.log.spool import SpooledLog
    from cockpit.runbook.outline import RunbookOutline

EXIT_OK = 0
EXIT_FAILED = 1   # NO-GO, refused, tampered, failed
EXIT_USAGE = 2    # bad config or usage


class CliError(Exception):
    """An error the user can act on; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_code = exit_code


def add_config(p: argparse.ArgumentParser, *, env: bool = True, ref: bool = False, json_out: bool = False,
               release: bool = False) -> None:
    p.add_argument("--config", "-c", required=True, metavar="FILE", help="the runbook (TOML)")
    if env:
        p.add_argument("--env", "-e", metavar="ENV", help="environment (default: the runbook's first)")
    if ref:
        p.add_argument("--ref", "-r", metavar="REF", help="target ref (default: [release] main)")
    if release:
        p.add_argument("--release", metavar="ID", dest="release_id",
                       help="the release to act on; refused when it is not the environment's current one")
    if json_out:
        p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--as", dest="actor", metavar="NAME", help="your name in the log (default: COCKPIT_ACTOR or the OS user)")


def load(args: argparse.Namespace) -> Runbook:
    """The runbook, validated now; remembered (cockpit.runbook.validated) for the flag commands' fast start."""
    # startup: pydantic loads when a runbook is validated
    from cockpit.runbook.config import ConfigError
    from cockpit.runbook.validated import load as load_validated

    try:
        return load_validated(args.config)
    except ConfigError as e:
        raise CliError(str(e)) from None


def load_as_validated_before(args: argparse.Namespace) -> Runbook:
    """For the flag commands (the incident path): the runbook as validated before, read without pydantic, while
    its text, its place and the validating code are unchanged; else validated now, as `load` does."""
    from cockpit.runbook.validated import recall  # startup: the cache is read only by the commands that use it

    return recall(args.config) or load(args)  # type: ignore[return-value]  (a RunbookCopy reads as a Runbook)


def environment(rb: Runbook | RunbookOutline, args: argparse.Namespace) -> str:
    env = getattr(args, "env", None) or rb.default_environment
    if env not in rb.environments:
        raise CliError(f"unknown environment {env!r}; the runbook has: {', '.join(rb.environments)}")
    return env


def step_texts(values: list[str], option: str) -> dict[str, str]:
    """--manual / --skip values, STEP=TEXT each, as {step: text}; a malformed one is a usage error."""
    out = {}
    for v in values:
        key, sep, text = v.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise CliError(f"{option} takes STEP=TEXT, e.g. {option} netlify='rolled back in the Netlify UI'")
        out[key.strip()] = text.strip()
    return out


@contextmanager
def acting_log(runbook: Runbook) -> Iterator[SpooledLog]:
    """The log for a command that acts on a release: opened, and at the end the notifications its
    entries made due are delivered (also when the command was refused half-way)."""
    with opened_log(runbook) as log:
        try:
            yield log
        finally:
            deliver_notifications(log, runbook)


def deliver_notifications(log: Any, runbook: Runbook) -> None:
    """Post the [[notify]] messages due after a command acted (GO, a stage, a rollback reach the team's
    channel when they happen, not at the next note); briefly: a failing webhook is reported on stderr,
    retried later, and never fails the command."""
    if not runbook.notify:
        return
    from cockpit.core.log.notify import deliver_pending  # startup: the webhooks load only when there are targets
    from cockpit.runbook.textsafe import printable

    report = deliver_pending(log, runbook, timeout=3.0, budget=5.0)
    for err in report.errors[:3]:
        print(f"notify: {printable(err, one_line=True)}", file=sys.stderr)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")  # one write, not one per token


def warn_log_status(session: Any) -> None:
    """On stderr, what a ReleaseSession says about the log (away, acting on the last state seen, entries
    waiting in the spool); nothing while the shared store answers."""
    status = session.log_status()
    if status:
        print(f"cockpit: {status}", file=sys.stderr)


def opened_log(runbook: Runbook) -> closing[SpooledLog]:
    """The runbook's release log (core.log.open.opened_log), closed after the `with` block; a log that
    cannot be opened is a CliError (exit 2)."""
    # startup: the log stores load when a command opens the log, not before `cockpit run` paints
    from cockpit.core.log.open import opened_log as open_and_close
    from cockpit.core.opening import OpeningError

    try:
        return open_and_close(runbook)
    except OpeningError as e:
        raise CliError(str(e)) from None


async def open_session(runbook: Runbook, log: ReleaseLog, env: str, actor: str | None, ref: str | None,  # noqa: ANN201
                       release_id: str | None = None):
    """The environment's release (resumed or new); a bad ref or a refused target is a usage error (exit 2)."""
    # startup: the session (git, checks, flags) loads when a command opens a release
    from cockpit.core.gitrepo import GitRefError
    from cockpit.core.log.entry import current_actor
    from cockpit.core.session import ActionRefused, ReleaseSession

    try:
        return await ReleaseSession.open(runbook, log, env, current_actor(actor), ref, release_id=release_id)
    except ActionRefused as e:  # another release is in flight, or not the one named: refused, not misused
        raise CliError(str(e), EXIT_FAILED) from None
    except GitRefError as e:
        raise CliError(str(e)) from None
