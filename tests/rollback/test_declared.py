"""A rollback declared in the runbook (seed 002's previous image + restart + health + Netlify manual
step; seed 001's partial rollback of one stage): after the flags, the runbook's own steps run in
order, each a rollback.step; a manual step needs a person's note; without a declaration the plan
stays flags → deploy → verify."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.lock import lock_holder
from cockpit.core.release import Phase
from cockpit.core.rollback import plan_for
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import load_runbook
from tests.rollback.conftest import Demo
from tests.rollback.release import BOB, go_release
from tests.rollback.test_runner import deployed_sha

DECLARED = '''
[[rollback.steps]]
id = "previous-image"
kind = "command"
run = ["bash", "./scripts/deploy-prod-from-ref.sh", "{ref}", "."]
timeout = "1m"

[[rollback.steps]]
id = "restart"
kind = "command"
run = ["bash", "-c", "echo restarted $0 at $1 | tee -a .deploy/restarts.log", "web", "{short_sha}"]

[[rollback.steps]]
id = "netlify"
kind = "manual"
instruction = "Netlify: Deploys → the previous deploy → Rollback to this deploy"
who = "Rollback Owner"
'''

PARTIAL = '''
[[stages.rollback]]
id = "drain"
kind = "command"
run = ["bash", "-c", "echo draining $0", "{stage}"]
'''


def declare(demo: Demo) -> None:
    path = demo.scratch.runbook_path
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition('id = "layer-2"')
    block, nxt, tail = rest.partition("[[")
    path.write_text(head + sep + block + PARTIAL + "\n" + nxt + tail + DECLARED, encoding="utf-8")


def rollback(demo: Demo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", "rollback", "--config", str(demo.scratch.runbook_path),
                           "--as", "bob", "--yes", "--json", *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_the_declared_rollback_runs_after_the_flags_and_waits_for_its_manual_step(demo: Demo) -> None:
    declare(demo)
    runbook = load_runbook(demo.scratch.runbook_path)
    session = asyncio.run(go_release(runbook, demo.log))
    plan = plan_for(session)
    assert plan.steps == ("flags", "previous-image", "restart", "netlify", "verify")
    assert plan.describe("previous-image") == [f"run bash ./scripts/deploy-prod-from-ref.sh v1.0.0 . in "
                                               f"{demo.scratch.checkout} (timeout 1m, success = exit 0)"]

    p = rollback(demo)  # nobody to confirm the Netlify step: the headless rollback waits there, open
    assert p.returncode == 3, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert (out["outcome"], out["waiting"]) == ("waiting", "netlify")
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [
        ("flags", "done"), ("previous-image", "done"), ("restart", "done"), ("netlify", "waiting"),
        ("verify", "not run")]
    assert "--manual netlify=NOTE" in out["steps"][3]["detail"]
    assert deployed_sha(demo) == demo.scratch.shas["known_good"]  # the previous image is out
    restart = out["steps"][2]
    assert restart["excerpt"] == [f"restarted web at {demo.scratch.shas['known_good'][:7]}"]
    assert not list(demo.log.entries(LogFilter(kind=kinds.ROLLBACK_FINISHED)))  # still open
    session = asyncio.run(ReleaseSession.attach(runbook, demo.log, "production", BOB))
    assert session.state.phase is Phase.ROLLING_BACK
    assert lock_holder(demo.log, "production") is None  # its lock given back: the wizard or a re-run goes on

    p = rollback(demo, "--manual", "netlify=rolled back to deploy 41 in the Netlify UI")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["resumed"] is True
    assert [(s["step"], s["outcome"], s.get("resumed", False)) for s in out["steps"]] == [
        ("flags", "done", True), ("previous-image", "done", True), ("restart", "done", True),
        ("netlify", "done", False), ("verify", "done", False)]
    # The note resumed the open rollback: what was done is not done again.
    assert (demo.scratch.checkout / ".deploy" / "restarts.log").read_text().count("restarted web") == 1
    netlify = [e for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP)) if e.payload["step"] == "netlify"]
    assert [(e.payload["outcome"], e.payload["attempt"]) for e in netlify] == [("waiting", 1), ("done", 1)]
    assert netlify[-1].payload["note"] == "rolled back to deploy 41 in the Netlify UI"
    assert netlify[-1].actor.name == "bob" and demo.log.verify().ok
    assert [e.payload["outcome"] for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_FINISHED))] == ["done"]


def test_a_stage_rollback_runs_the_stages_own_steps_and_never_redeploys(demo: Demo) -> None:
    declare(demo)
    runbook = load_runbook(demo.scratch.runbook_path)
    session = asyncio.run(go_release(runbook, demo.log))
    before = deployed_sha(demo)
    p = rollback(demo, "--stage", "layer-2")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [("flags", "done"), ("drain", "done"),
                                                                  ("verify", "done")]
    assert out["steps"][1]["excerpt"] == ["draining layer-2"]
    assert deployed_sha(demo) == before
    assert session.release_id == out["release_id"]


def test_without_a_declaration_the_plan_is_flags_deploy_verify(demo: Demo, released: ReleaseSession) -> None:
    assert plan_for(released).steps == ("flags", "deploy", "verify")
    attached = asyncio.run(ReleaseSession.attach(demo.runbook, demo.log, "production", BOB))
    assert plan_for(attached, stage="layer-1").steps == ("flags", "verify")
