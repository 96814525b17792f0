"""`cockpit rollback --yes [--json]` as a real subprocess: exit codes, JSON, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.session import ReleaseSession
from tests.rollback.conftest import Demo
from tests.rollback.release import LAYER_FLAGS
from tests.helpers.procs import alive
from tests.rollback.test_runner import deployed_sha

AVAIL = LAYER_FLAGS["layer-1"]


def cockpit(demo: Demo, *args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "cockpit", "rollback", "--config", str(demo.scratch.runbook_path),
                           "--as", "bob", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **kw.pop("env", {})}, **kw)


def test_headless_done_exit_0_and_json(demo: Demo, released: ReleaseSession) -> None:
    p = cockpit(demo, "--yes", "--json", "--note", "smoke failed after deploy")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["outcome"] == "done" and out["release_id"] == released.release_id
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [("flags", "done"), ("deploy", "done"),
                                                                   ("verify", "done")]
    assert {f["flag"]: f["after"] for f in out["steps"][0]["flags"]} == {AVAIL: False, LAYER_FLAGS["layer-2"]: False}
    assert out["steps"][1]["exit_code"] == 0 and out["elapsed_s"] > 0
    fin = list(demo.log.entries(LogFilter(kind=kinds.ROLLBACK_FINISHED)))[-1]
    assert fin.payload["note"] == "smoke failed after deploy" and fin.actor.name == "bob"


def test_headless_failure_exit_1_and_progress_lines(demo: Demo, released: ReleaseSession) -> None:
    p = cockpit(demo, "--yes", env={"DEMO_DEPLOY_FAIL": "1"})
    assert p.returncode == 1
    assert "<== flags: DONE" in p.stdout and "<== deploy: FAILED" in p.stdout
    assert "    | deploy: rollout failed (DEMO_DEPLOY_FAIL=1)" in p.stdout  # the command's output, streamed
    assert "verify" not in p.stdout.split("<== deploy: FAILED")[1].split("rollback FAILED")[0]  # never continues
    steps = [(e.payload["step"], e.payload["outcome"]) for e in demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STEP))]
    assert steps == [("flags", "done"), ("deploy", "failed")]
    fin = list(demo.log.entries(LogFilter(kind=kinds.ROLLBACK_FINISHED)))[-1].payload
    assert fin["outcome"] == "failed" and "deploy failed" in fin["note"]


def test_headless_json_failure(demo: Demo, released: ReleaseSession) -> None:
    p = cockpit(demo, "--yes", "--json", env={"DEMO_DEPLOY_FAIL": "1"})
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["outcome"] == "failed"
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [("flags", "done"), ("deploy", "failed"),
                                                                   ("verify", "not run")]


def test_nothing_to_roll_back_and_usage(demo: Demo) -> None:
    p = cockpit(demo, "--yes")
    assert p.returncode == 1 and "nothing to roll back" in p.stderr and "Traceback" not in p.stderr
    p = cockpit(demo, "--json")
    assert p.returncode == 2 and "--yes" in p.stderr
    p = cockpit(demo, stdin=subprocess.DEVNULL)  # no terminal: the wizard cannot run, say what to do
    assert p.returncode == 2 and "needs a terminal" in p.stderr
    p = cockpit(demo, "--yes", "--env", "nope")
    assert p.returncode == 2 and "unknown environment" in p.stderr


def test_kill_9_in_the_middle_then_resume(demo: Demo, released: ReleaseSession) -> None:
    """The cockpit dies (kill -9) while the redeploy runs; `cockpit rollback --yes` finishes the job."""
    block, pidfile = demo.checkout / ".deploy" / "block", demo.checkout / ".deploy" / "deploy.pid"
    block.write_text("hold the deploy\n")
    # The deploy blocks while the block file exists (it stands for a hung rollout); it says when it is blocked.
    deploy = ('if [ -f .deploy/block ]; then echo $$ > .deploy/deploy.pid; echo "rollout hanging"; exec sleep 600; fi; '
              'bash ./scripts/deploy-prod-from-ref.sh {ref} .')
    text = demo.scratch.runbook_path.read_text()
    demo.scratch.runbook_path.write_text(text.replace('deploy = "bash ./scripts/deploy-prod-from-ref.sh {ref} ."',
                                                      f"deploy = '{deploy}'"))
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "rollback", "--config", str(demo.scratch.runbook_path),
                             "--as", "bob", "--yes"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # wait for the event: the deploy says it is hanging
            seen.append(line)
            if line.strip() == "| rollout hanging":  # the deploy's own output, not the plan quoting it
                break
        assert seen and seen[-1].strip() == "| rollout hanging", "".join(seen)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    deploy_pid = int(pidfile.read_text())
    os.kill(deploy_pid, signal.SIGKILL)  # kill -9 leaves the deploy's group orphaned: clean it up
    puts = len(demo.target.flags.puts())
    assert not demo.target.flags.get(AVAIL)  # the flags step had finished before the kill
    block.unlink()

    p = cockpit(demo, "--yes", "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["resumed"] is True
    assert [(s["step"], s["outcome"], s.get("resumed", False)) for s in out["steps"]] == [
        ("flags", "done", True), ("deploy", "done", False), ("verify", "done", False)]
    assert len(demo.target.flags.puts()) == puts  # the flags were not flipped again
    assert deployed_sha(demo) == demo.scratch.shas["known_good"]
    assert not alive(deploy_pid)
    seq = [e.kind + (f":{e.payload['step']}" if e.kind == kinds.ROLLBACK_STEP else "")
           for e in demo.log.entries(LogFilter(release_id=released.release_id))
           if e.kind.startswith(("rollback.", "deploy."))]
    assert seq == ["rollback.started", "rollback.step:flags", "deploy.started",   # killed here
                   "rollback.started", "deploy.started", "deploy.finished", "rollback.step:deploy",
                   "rollback.step:verify", "rollback.finished"]
    assert demo.log.verify().ok
