"""`cockpit stage start|stable|abort S`: a stage's actions without the TUI, for teams that drive the
cutover from CI.

`start` starts the stage (its gate, the lock) and runs its steps in order, each said before it runs;
a step that needs confirming needs --yes; a manual step needs --manual STEP=NOTE (without it the
command stops there, exit 3, and running it again goes on from that step). A failed step stops the
command (exit 1): run it again to retry, skip it with --skip STEP=REASON, or abort the stage.
Exit 0 done, 1 failed or refused, 2 bad config or usage, 3 waiting for a person.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, Any

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, acting_log, add_config, CliError, environment, load, print_json,
                                step_texts, warn_log_status)
from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.session import ReleaseSession

EXIT_WAITING = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stage", help="start a stage and run its steps, mark it stable, or abort it (headless)")
    ssub = p.add_subparsers(dest="stage_action", required=True)
    st = ssub.add_parser("start", help="start the stage and run its steps in order")
    st.add_argument("stage")
    add_config(st, json_out=True, release=True)
    st.add_argument("--yes", "-y", action="store_true", help="run the steps that ask for a confirmation")
    st.add_argument("--manual", action="append", default=[], metavar="STEP=NOTE",
                    help="confirm a manual step with a note (repeatable)")
    st.add_argument("--skip", action="append", default=[], metavar="STEP=REASON",
                    help="skip a step with a reason (repeatable; logged)")
    sb = ssub.add_parser("stable", help="mark the stage stable (its steps done, its window over, its checks passing)")
    sb.add_argument("stage")
    add_config(sb, json_out=True, release=True)
    sb.add_argument("--note", "-m", default="", help="what was watched")
    sb.add_argument("--override", metavar="REASON", default="",
                    help="mark it stable before its monitor or guardrail windows passed clean (the reason is logged)")
    ab = ssub.add_parser("abort", help="stop the stage: the flags it switched on go off again")
    ab.add_argument("stage")
    add_config(ab, json_out=True, release=True)
    ab.add_argument("--reason", "-m", required=True, help="why (logged)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    runbook = load(args)
    env = environment(runbook, args)
    if args.stage not in {s.id for s in runbook.stages}:
        raise CliError(f"unknown stage {args.stage!r}; the runbook has: {', '.join(s.id for s in runbook.stages)}")
    return asyncio.run(_run(runbook, env, args))


async def _run(runbook: Any, env: str, args: argparse.Namespace) -> int:
    # startup: the session loads when the command runs
    from cockpit.core.log.entry import current_actor
    from cockpit.core.refusal import ActionRefused
    from cockpit.core.session import ReleaseSession

    with acting_log(runbook) as log:
        session = await ReleaseSession.attach(runbook, log, env, current_actor(args.actor), release_id=args.release_id)
        warn_log_status(session)
        if not session.opened:
            raise CliError(f"{env} has no release to act on", EXIT_FAILED)
        report: dict[str, Any] = {"release_id": session.release_id, "environment": env, "stage": args.stage,
                                  "action": args.stage_action, "steps": []}
        try:
            if args.stage_action == "start":
                code = await _start(session, args, report)
            elif args.stage_action == "stable":
                await session.mark_stable(args.stage, args.note, override=args.override)
                _say(args, f"{session.release_id}: stage {args.stage} marked stable")
                code = EXIT_OK
            else:
                problems = await session.abort_stage(args.stage, args.reason)
                _say(args, f"{session.release_id}: stage {args.stage} aborted" + "".join(f"\n  ! {p}" for p in problems))
                code = EXIT_FAILED if problems else EXIT_OK
        except ActionRefused as e:
            report["refused"] = str(e)
            if not args.json:
                print(f"cockpit: refused: {printable(str(e))}", file=sys.stderr)
            code = EXIT_FAILED
        finally:
            session.close()
            warn_log_status(session)
    report["exit_code"] = code
    if args.json:
        print_json(report)
    return code


def _say(args: argparse.Namespace, line: str) -> None:
    if not args.json:
        print(printable(line), flush=True)


async def _start(session: ReleaseSession, args: argparse.Namespace, report: dict[str, Any]) -> int:
    from cockpit.core.release import StageStatus  # startup: with the session

    stage = args.stage
    manual, skips = step_texts(args.manual, "--manual"), step_texts(args.skip, "--skip")
    if session.state.stage(stage).status is not StageStatus.STARTED:
        # The stage's gate is judged on evidence taken now, not on what an earlier check left in the log.
        deferred = session.deferred_checks(stage)
        fresh = [c.id for c in session.runbook.checks
                 if c.stage == stage and c.kind != "manual" and c.id not in deferred]
        if fresh and session.state.phase.holds_lock:
            await session.take_evidence(fresh)
        outcome = await session.start_stage(stage)
        _say(args, f"{session.release_id}: stage {stage} started by {session.actor.name}")
        for p in outcome.problems:
            _say(args, f"  ! {p}")
        if not session.procedure(stage):
            report["steps"] = []
            _say_windows(session, args, stage)
            return EXIT_FAILED if not outcome.ok else EXIT_OK
    else:
        _say(args, f"{session.release_id}: stage {stage} goes on from its next step")
    while (nxt := session.next_step(stage)) is not None:
        sid, step = nxt
        _say(args, f"→ {sid}: {session.describe_step(stage, sid)}")
        if sid in skips:
            out = await session.skip_step(stage, sid, skips[sid])
        elif step.kind == "manual" and sid not in manual:
            _say(args, f"  waiting for a person: confirm with --manual {sid}=NOTE")
            report["waiting"] = sid
            return EXIT_WAITING
        elif step.confirm and step.kind != "manual" and not args.yes:
            _say(args, "  this step asks for a confirmation: run again with --yes")
            report["waiting"] = sid
            return EXIT_WAITING
        else:
            out = await session.run_step(stage, sid, note=manual.get(sid, ""),
                                         on_line=None if args.json else (lambda line: _say(args, f"    {line}")))
        report["steps"].append({"step": out.step, "outcome": out.outcome, "detail": out.detail})
        _say(args, f"  {'✔' if out.ok else '✘'} {sid}: {out.outcome} — {out.detail}")
        if not out.ok:
            _say(args, f"  retry: run again · skip: --skip {sid}=REASON · abort: cockpit stage abort {stage} --reason …")
            return EXIT_FAILED
    _say(args, f"{session.release_id}: every step of stage {stage} is done")
    _say_windows(session, args, stage)
    return EXIT_OK


def _say_windows(session: ReleaseSession, args: argparse.Namespace, stage: str) -> None:
    """A flip opened the stage's guardrail windows: who watches them is said, not assumed."""
    for w in session.windows(stage):
        if w.is_open:
            _say(args, f"  guardrail {w.check} watches until {w.until:%Y-%m-%d %H:%M}Z ({w.limit_text}); it is sampled "
                       f"while a cockpit is open or `cockpit watch --config {args.config}` runs")
