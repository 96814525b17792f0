"""The kill -9 drill: `cockpit rollback --yes` killed at random points, twenty times, each followed by a
resume. The redeploy never runs twice at once (the deploy itself detects an overlap), every resume
ends done, and the chain verifies. Real processes throughout; the deploy is the demo's real script
behind a guard that a second concurrent copy would trip."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.session import ReleaseSession
from tests.rollback.conftest import Demo
from tests.rollback.test_cli import cockpit

ROUNDS = 20
# mkdir is atomic: a second copy running while the first holds the directory records an overlap
# ({{ }} are literal braces in a runbook template).
GUARDED = ("mkdir .deploy/deploying 2>/dev/null || {{ echo overlap >> .deploy/overlaps; exit 9; }}; "
           "echo deploying; sleep 0.8; bash ./scripts/deploy-prod-from-ref.sh {ref} .; code=$?; "
           "rmdir .deploy/deploying; exit $code")


def test_rollback_killed_at_random_points_resumes_without_a_second_deploy(demo: Demo, released: ReleaseSession) -> None:
    text = demo.scratch.runbook_path.read_text()
    demo.scratch.runbook_path.write_text(text.replace('deploy = "bash ./scripts/deploy-prod-from-ref.sh {ref} ."',
                                                      f"deploy = '{GUARDED}'"))
    rng = random.Random(20261203)
    argv = [sys.executable, "-m", "cockpit", "rollback", "--config", str(demo.scratch.runbook_path), "--as", "bob",
            "--yes"]
    for i in range(ROUNDS):
        victim = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i % 2:  # anywhere: opening, the flags, the redeploy, verify, after
            time.sleep(rng.uniform(0.05, 1.5))
        else:  # inside the redeploy, where a second copy would do harm
            deadline = time.monotonic() + 15
            while not (demo.checkout / ".deploy" / "deploying").exists() and victim.poll() is None:
                assert time.monotonic() < deadline, "the redeploy never started"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.6))
        victim.kill()
        victim.wait(timeout=10)
        resumed = cockpit(demo, "--yes", "--json")
        assert resumed.returncode == 0, f"round {i}: {resumed.stdout}{resumed.stderr}"
        assert json.loads(resumed.stdout)["outcome"] == "done"
        assert not (demo.checkout / ".deploy" / "overlaps").exists(), f"round {i}: two deploys ran at once"
    assert not (demo.checkout / ".deploy" / "deploying").exists()  # no deploy left running or half-done
    finished = list(demo.log.entries(LogFilter(release_id=released.release_id, kind=kinds.ROLLBACK_FINISHED)))
    assert len(finished) >= ROUNDS and finished[-1].payload["outcome"] == "done"
    assert demo.log.verify().ok
