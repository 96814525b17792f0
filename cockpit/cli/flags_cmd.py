"""`cockpit flags list|set|diff|kill` — read and flip flags through the runbook's backend, every flip logged.

A flip in a protected environment whose current release is not GO is a break-glass flip: it needs
a reason (asked for on a terminal, else exit 2) and its entry says break_glass = true.

Exit codes: 0 ok (diff: no change since GO), 1 a flip failed (diff: flags changed), 2 usage/config.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.cli.common import EXIT_FAILED, EXIT_OK, CliError, add_config, environment, load, print_json
from cockpit.core.flags.base import FlagBackend, FlagError
from cockpit.core.log.base import ReleaseLog
from cockpit.core.log.entry import current_actor
from cockpit.core.secrets import MissingSecret, redact

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook

IN_FLIGHT = {"go", "cutover", "rolling back", "rollback failed"}
"""Release phases (cockpit.core.release.Phase values) in which flips are part of the release, not break-glass."""


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


@dataclass
class Release:
    """What the flag commands need to know about the environment's current release."""

    release_id: str
    phase: str | None  # None: no release was ever opened in this environment
    snapshot: dict[str, bool | None] | None

    @property
    def in_flight(self) -> bool:
        return self.phase in IN_FLIGHT


def current_release(log: ReleaseLog, runbook: Runbook, env: str) -> Release:
    """The environment's most recently opened release, folded from its entries (cockpit.core.session)."""
    from cockpit.core.session import find_current

    state = find_current(log, env)
    if state is None:
        return Release(release_id=f"{runbook.release.name}-{env}-no-release", phase=None, snapshot=None)
    return Release(release_id=state.release_id, phase=str(state.phase), snapshot=state.flag_snapshot)


def _backend(runbook: Runbook, env: str) -> FlagBackend:
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


def _stage_of(runbook: Runbook, flag: str) -> str | None:
    return next((s.id for s in runbook.stages if flag in s.flags), None)


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _closing(backend: FlagBackend, coro: Any) -> Any:
    try:
        return await coro
    finally:
        await backend.aclose()


def _flip_setup(args: argparse.Namespace, what: str) -> tuple[Runbook, str, ReleaseLog, Release, bool, str]:
    rb = load(args)
    env = environment(rb, args)
    if rb.flags is None:
        raise CliError("the runbook has no [flags] section: nothing says where flags live")
    log = _open_log(rb)
    try:
        rel = current_release(log, rb, env)
        break_glass = rb.environments[env].protected and not rel.in_flight
        if break_glass:
            where = (f"no release has been opened in {env}" if rel.phase is None
                     else f"release {rel.release_id} is '{rel.phase}', not GO")
            reason = _ask_reason(args, f"{what} in protected environment {env!r} outside a GO release ({where}): "
                                       "this is a break-glass flip and is logged as such")
        else:
            reason = (args.reason or "").strip() or f"{what} during release {rel.release_id}"
    except BaseException:
        log.close()
        raise
    return rb, env, log, rel, break_glass, reason


# -- commands ------------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from cockpit.core.flags.flip import snapshot

    rb = load(args)
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
    rows = [{"name": n, "enabled": v, "stage": _stage_of(rb, n)} for n, v in states.items()]
    if args.json:
        print_json({"environment": env, "backend": backend.name, "flags": rows})
        return EXIT_OK
    width = max((len(r["name"]) for r in rows), default=4)
    print(f"{'FLAG':<{width}}  STATE    STAGE")
    for r in rows:
        state = "unknown" if r["enabled"] is None else ("ON" if r["enabled"] else "OFF")
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
    from cockpit.core.flags.flip import flip

    enabled = args.state == "on"
    rb, env, log, rel, break_glass, reason = _flip_setup(args, f"turning {args.name} {args.state}")
    try:
        backend = _backend(rb, env)
        assert rb.flags is not None
        result = _run(_closing(backend, flip(
            backend, args.name, enabled, reason=reason, actor=current_actor(args.actor), log=log,
            release_id=rel.release_id, environment=env, break_glass=break_glass, retries=rb.flags.retries,
            stage=_stage_of(rb, args.name))))
    finally:
        log.close()
    if args.json:
        print_json({"release_id": rel.release_id, "environment": env, **result.to_json()})
    else:
        print(("break-glass: " if break_glass else "") + result.summary())
        if not result.logged:
            print(f"WARNING: the flip is not in the release log: {result.log_error}", file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_FAILED


def _kill(args: argparse.Namespace) -> int:
    from cockpit.core.flags.flip import kill_switch

    rb0 = load(args)
    if args.stage:
        unknown = [s for s in args.stage if s not in {st.id for st in rb0.stages}]
        if unknown:
            raise CliError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(s.id for s in rb0.stages)}")
        flags = [f for s in rb0.stages if s.id in args.stage for f in s.flags]
    else:
        flags = rb0.all_flags
    if not flags:
        raise CliError("no flags to turn off: the chosen stages name none")
    rb, env, log, rel, break_glass, reason = _flip_setup(args, f"kill switch ({len(flags)} flags off)")
    try:
        backend = _backend(rb, env)
        assert rb.flags is not None
        result = _run(_closing(backend, kill_switch(
            backend, flags, reason=reason, actor=current_actor(args.actor), log=log, release_id=rel.release_id,
            environment=env, break_glass=break_glass, retries=rb.flags.retries)))
    finally:
        log.close()
    if args.json:
        print_json({"release_id": rel.release_id, "environment": env, "break_glass": break_glass,
                    **result.to_json()})
    else:
        print(("break-glass: " if break_glass else "") + result.summary())
    return EXIT_OK if result.ok else EXIT_FAILED


def _diff(args: argparse.Namespace) -> int:
    from cockpit.core.flags.flip import diff, snapshot

    rb = load(args)
    env = environment(rb, args)
    log = _open_log(rb)
    try:
        rel = current_release(log, rb, env)
    finally:
        log.close()
    if rel.snapshot is None:
        where = "no release has been opened" if rel.phase is None else f"release {rel.release_id} has none"
        raise CliError(f"no flag snapshot recorded at GO in {env} ({where}); the snapshot is taken when GO is "
                       "decided")
    names = list(dict.fromkeys([*rel.snapshot, *rb.all_flags]))
    backend = _backend(rb, env)
    current = _run(_closing(backend, snapshot(backend, names)))
    changes = diff(rel.snapshot, current)
    if args.json:
        print_json({"release_id": rel.release_id, "environment": env, "snapshot": rel.snapshot, "current": current,
                    "changes": [c.to_json() for c in changes]})
    else:
        print(f"flags of release {rel.release_id} ({env}) since GO:")
        if not changes:
            print(f"  no change ({len(names)} flags as they were at GO)")
        for c in changes:
            print(f"  {c.text()}")
    return EXIT_FAILED if changes else EXIT_OK
