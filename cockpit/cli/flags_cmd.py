"""`cockpit flags list|set|diff|kill` — read and flip flags through the runbook's backend, every flip logged.

Flips go through the environment's current release (ReleaseSession.attach), which records them and
says when a flip is break-glass (a protected environment outside a release in flight): then a
reason is needed (asked for on a terminal, else exit 2) and the entry says break_glass = true.

Exit codes: 0 ok (diff: no change since GO), 1 a flip failed (diff: flags changed), 2 usage/config.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, CliError, add_config, environment, load_as_validated_before,
                                print_json, warn_log_status)
from cockpit.core.flags.base import FlagBackend, FlagError, on_off
from cockpit.core.log.base import ReleaseLog
from cockpit.core.log.entry import current_actor, prefetch_git_email
from cockpit.core.secrets import MissingSecret, redact

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession
    from cockpit.runbook.config import Runbook

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("flags", help="read and flip feature flags (every flip is logged)")
    fsub = p.add_subparsers(dest="flags_command", metavar="list|set|diff|kill", required=True)

    ls = fsub.add_parser("list", help="the runbook's flags and their state now")
    add_config(ls, json_out=True)
    ls.add_argument("--all", action="store_true", help="every flag the flag service has, not only the runbook's")
    ls.set_defaults(func=_list)

    st = fsub.add_parser("set", help="turn one flag on or off: read before, flip, read back, log")
    st.add_argument("name", help="the flag")
    st.add_argument("state", choices=["on", "off"])
    add_config(st, json_out=True)
    st.add_argument("--reason", "-m", help="why (required outside a GO release: break-glass)")
    st.set_defaults(func=_set)

    df = fsub.add_parser("diff", help="what changed since the snapshot taken at GO (exit 1 when something did)")
    add_config(df, json_out=True)
    df.set_defaults(func=_diff)

    kl = fsub.add_parser("kill", help="kill switch: turn off a stage's flags (or all the runbook's), concurrently")
    add_config(kl, json_out=True)
    kl.add_argument("--stage", action="append", metavar="ID", help="a stage whose flags go off (repeatable)")
    kl.add_argument("--reason", "-m", help="why (asked for when missing)")
    kl.set_defaults(func=_kill)


# -- shared ------------------------------------------------------------------------------


def _backend(runbook: Runbook, env: str) -> FlagBackend:
    # startup: each subcommand imports what it uses (`flags list` opens no log)
    from cockpit.core.flags.factory import make_backend

    try:
        return make_backend(runbook, env)
    except MissingSecret as e:
        raise CliError(str(e)) from None
    except FlagError as e:
        raise CliError(redact(str(e))) from None


def _open_log(runbook: Runbook) -> ReleaseLog:
    from cockpit.core.log.open import open_log  # lazy: psycopg only for commands that log

    try:
        return open_log(runbook)
    except MissingSecret as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"cannot open the release log: {redact(str(e))}") from None


def _ask_reason(args: argparse.Namespace, why: str) -> str:
    if args.reason and args.reason.strip():
        return args.reason.strip()
    if not sys.stdin.isatty():
        raise CliError(f"{why}: give --reason (there is no terminal to ask on)")
    print(why, file=sys.stderr)
    try:
        reason = input("Reason: ").strip()
    except EOFError:
        reason = ""
    if not reason:
        raise CliError("no reason given; nothing was flipped")
    return reason


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _closing(backend: FlagBackend, coro: Any) -> Any:
    try:
        return await coro
    finally:
        await backend.aclose()


async def _attached(args: argparse.Namespace, rb: Runbook, env: str, log: ReleaseLog) -> ReleaseSession:
    # startup: each subcommand imports what it uses (`flags list` opens no log)
    from cockpit.core.session import ReleaseSession

    return await ReleaseSession.attach(rb, log, env, current_actor(args.actor))


def _reason(args: argparse.Namespace, session: ReleaseSession, what: str) -> str:
    """The flip's reason: asked for when the flip is break-glass, else a default naming the release."""
    if session.break_glass:
        where = (f"no release has been opened in {session.environment}" if not session.opened
                 else f"release {session.release_id} is '{session.state.phase}', not GO")
        return _ask_reason(args, f"{what} in protected environment {session.environment!r} outside a GO release "
                                 f"({where}): this is a break-glass flip and is logged as such")
    return (args.reason or "").strip() or f"{what} during release {session.release_id}"


def _flipping(args: argparse.Namespace, rb: Runbook, what: str,
              act: Callable[[ReleaseSession, str, FlagBackend], Awaitable[Any]]) -> tuple[ReleaseSession, Any]:
    """Open the log, attach the environment's release, get the reason, and flip through the release."""
    env = environment(rb, args)
    if rb.flags is None:
        raise CliError("the runbook has no [flags] section: nothing says where flags live")
    log = _open_log(rb)

    async def run() -> tuple[ReleaseSession, Any]:
        session = await _attached(args, rb, env, log)
        reason = _reason(args, session, what)
        backend = _backend(rb, env)
        result = await _closing(backend, act(session, reason, backend))
        warn_log_status(session)
        return session, result

    try:
        return _run(run())
    finally:
        log.close()


# -- commands ------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    # startup: each subcommand imports what it uses (`flags list` opens no log)
    from cockpit.core.flags.flip import snapshot

    rb = load_as_validated_before(args)
    env = environment(rb, args)
    backend = _backend(rb, env)
    try:
        if args.all:
            states = {s.name: s.enabled for s in _run(_closing(backend, backend.list()))}
        else:
            if not rb.all_flags:
                raise CliError("the runbook's stages name no flags; use --all to list the flag service's flags")
            states = _run(_closing(backend, snapshot(backend, rb.all_flags)))
    except FlagError as e:
        print(f"cockpit: {redact(str(e))}", file=sys.stderr)
        return EXIT_FAILED
    rows = [{"name": n, "enabled": v, "stage": rb.stage_of(n)} for n, v in states.items()]
    if args.json:
        print_json({"environment": env, "backend": backend.name, "flags": rows})
        return EXIT_OK
    width = max((len(r["name"]) for r in rows), default=4)
    print(f"{'FLAG':<{width}}  STATE    STAGE")
    for r in rows:
        state = on_off(r["enabled"])
        print(f"{r['name']:<{width}}  {state:<7}  {r['stage'] or ''}")
    unreadable = [r["name"] for r in rows if r["enabled"] is None]
    if unreadable:
        why = _run(_closing(backend, _why_unreadable(backend, unreadable[0])))
        print(f"could not read: {', '.join(unreadable)} — {why}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


async def _why_unreadable(backend: FlagBackend, flag: str) -> str:
    """The flag service's own answer for one flag the snapshot could not read (a snapshot keeps none)."""
    try:
        await backend.get(flag)
    except FlagError as e:
        return redact(str(e))
    return "it answered on a second try: the flag service is flaky"


def _set(args: argparse.Namespace) -> int:
    # Before the runbook, the log or the flag service: a name outside the grammar reaches nothing.
    from cockpit.runbook.placeholders import flag_name_problem

    problem = flag_name_problem(args.name)
    if problem:
        raise CliError(problem)
    enabled = args.state == "on"
    prefetch_git_email()  # the actor's, for the entries: asked while the runbook and the log load
    rb = load_as_validated_before(args)
    session, result = _flipping(args, rb, f"turning {args.name} {args.state}",
                                lambda s, reason, b: s.flip(args.name, enabled, reason=reason, backend=b))
    if args.json:
        print_json({"release_id": session.release_id, "environment": session.environment, **result.to_json()})
    else:
        print(("break-glass: " if result.break_glass else "") + result.summary())
        if not result.logged:
            print(f"WARNING: the flip is not in the release log: {result.log_error}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _kill(args: argparse.Namespace) -> int:
    prefetch_git_email()  # the actor's, for the entries: asked while the runbook and the log load
    rb = load_as_validated_before(args)
    if args.stage:
        unknown = [s for s in args.stage if s not in {st.id for st in rb.stages}]
        if unknown:
            raise CliError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(s.id for s in rb.stages)}")
        flags = [f for s in rb.stages if s.id in args.stage for f in s.flags]
    else:
        flags = rb.all_flags
    if not flags:
        raise CliError("no flags to turn off: the chosen stages name none")
    session, result = _flipping(args, rb, f"kill switch ({len(flags)} flags off)",
                                lambda s, reason, b: s.kill(flags, reason=reason, backend=b))
    break_glass = any(r.break_glass for r in result.results)
    if args.json:
        print_json({"release_id": session.release_id, "environment": session.environment,
                    "break_glass": break_glass, **result.to_json()})
    else:
        print(("break-glass: " if break_glass else "") + result.summary())
    return EXIT_OK if result.ok else EXIT_FAILED


def _diff(args: argparse.Namespace) -> int:
    # startup: each subcommand imports what it uses (`flags list` opens no log)
    from cockpit.core.flags.flip import diff, snapshot

    rb = load_as_validated_before(args)
    env = environment(rb, args)
    log = _open_log(rb)
    try:
        rel = _run(_attached(args, rb, env, log))
    finally:
        log.close()
    snap = rel.state.flag_snapshot
    if snap is None:
        where = "no release has been opened" if not rel.opened else f"release {rel.release_id} has none"
        raise CliError(f"no flag snapshot recorded at GO in {env} ({where}); the snapshot is taken when GO is "
                       "decided")
    names = list(dict.fromkeys([*snap, *rb.all_flags]))
    backend = _backend(rb, env)
    current = _run(_closing(backend, snapshot(backend, names)))
    changes = diff(snap, current)
    if args.json:
        print_json({"release_id": rel.release_id, "environment": env, "snapshot": snap, "current": current,
                    "changes": [c.to_json() for c in changes]})
    else:
        print(f"flags of release {rel.release_id} ({env}) since GO:")
        if not changes:
            print(f"  no change ({len(names)} flags as they were at GO)")
        for c in changes:
            print(f"  {c.text()}")
    return EXIT_FAILED if changes else EXIT_OK
