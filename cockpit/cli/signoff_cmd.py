"""`cockpit signoff`: the headless twin of the sign-off form, for scripted releases.

Records the owners, the people named for the runbook's other roles (`--role "Incident Comms Owner=Carol"`),
the rollback ref (validated against git), and optionally the decision: `go` is refused unless the gate says
GO. Exit 0 recorded, 1 refused, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, acting_log, add_config, CliError, environment, load,
                                open_session, print_json, warn_log_status)
from cockpit.core.refusal import ActionRefused
from cockpit.runbook import roles

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("signoff", help="record owners, rollback ref and (optionally) GO / NO-GO, headless")
    add_config(p, ref=True, json_out=True, release=True)
    p.add_argument("--release-owner", required=True, metavar="NAME")
    p.add_argument("--rollback-owner", required=True, metavar="NAME")
    p.add_argument("--rollback-ref", required=True, metavar="REF", help="a known-good ancestor of the target")
    p.add_argument("--role", action="append", default=[], metavar="ROLE=NAME", dest="roles",
                   help='the person named for one of the runbook\'s [release] roles, e.g. "Incident Comms Owner=Carol"'
                        " (repeatable)")
    p.add_argument("--decision", choices=["go", "nogo"], help="also record the decision")
    p.add_argument("--reason", metavar="TEXT", help="why (required with --decision nogo)")
    p.add_argument("--no-evidence", action="store_true",
                   help="judge the evidence already in the log instead of taking it again")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.decision == "nogo" and not (args.reason or "").strip():
        raise CliError("--decision nogo needs --reason")
    runbook = load(args)
    args.roles = _roles(runbook, args)
    return asyncio.run(_signoff(runbook, environment(runbook, args), args))


def _roles(runbook: Runbook, args: argparse.Namespace) -> dict[str, str]:
    """--role ROLE=NAME, each a role the runbook names; refused as usage before anything is recorded."""
    given: dict[str, str] = {}
    for item in args.roles:
        role, eq, name = item.partition("=")
        if not eq or not role.strip():
            raise CliError(f"--role {item!r}: write it ROLE=NAME, e.g. \"Incident Comms Owner=Carol\"")
        if role.strip() in given and roles.person(given[role.strip()]) != roles.person(name):
            raise CliError(f"--role names the {role.strip()} twice, as {given[role.strip()]!r} and as {name.strip()!r}")
        given[role.strip()] = name.strip()
    try:
        roles.assign(runbook.release.roles, args.release_owner, args.rollback_owner, given)
    except ValueError as e:
        raise CliError(f"--role: {e}") from None
    return given


async def _signoff(runbook: Runbook, env: str, args: argparse.Namespace) -> int:
    with acting_log(runbook) as log:
        session = await open_session(runbook, log, env, args.actor, args.ref, args.release_id)
        try:
            signoff = await session.sign_off(args.release_owner, args.rollback_owner, args.rollback_ref, args.roles)
            signing = await asyncio.to_thread(session.signing_status)  # "signed with <key>", "unsigned: why", ""
            if not args.no_evidence:
                await session.take_evidence()
            verdict = session.verdict(require_signoff=True)
            result = {"release_id": session.release_id, "target": {"ref": session.target.ref, "sha": session.target.sha},
                      "signoff": {"release_owner": signoff.release_owner, "rollback_owner": signoff.rollback_owner,
                                  "rollback_ref": signoff.rollback_ref, "rollback_sha": signoff.rollback_sha,
                                  "problems": list(signoff.problems),
                                  "roles": {r: signoff.named(r) for r in runbook.release.roles},
                                  "signed_by": signoff.signed_by.to_json() if signoff.signed_by else None},
                      "gate": {"decision": verdict.decision, "reasons": verdict.reasons}, "recorded": None,
                      "signing": signing or None}
            code = EXIT_FAILED if signoff.problems else EXIT_OK
            if args.decision == "go":
                if not verdict.go:
                    raise ActionRefused("GO refused, the gate says NO-GO: " + "; ".join(verdict.reasons))
                outcome = await session.go(session.target.short)
                result["recorded"], result["problems"] = "GO", outcome.problems
            elif args.decision == "nogo":
                await session.decide_nogo(args.reason)
                result["recorded"] = "NO-GO"
        except ActionRefused as e:
            print(f"cockpit: refused: {e}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            warn_log_status(session)
    if args.json:
        print_json(result)
    else:
        s = result["signoff"]
        named = "".join(f"{role} {name or '(nobody)'}, " for role, name in s["roles"].items())
        print(f"{result['release_id']}: sign-off recorded — {named}rollback ref {s['rollback_ref']} "
              f"{s['rollback_sha'][:7]}")
        for p in s["problems"]:
            print(f"  ✘ rollback ref: {p}")
        if result["signing"]:
            print(result["signing"])
        print(f"gate: {verdict.decision}" + "".join(f"\n  • {r}" for r in verdict.reasons))
        if result["recorded"]:
            print(f"decision recorded: {result['recorded']}")
        for p in result.get("problems", []):
            print(f"  ! {p}")
    return code
