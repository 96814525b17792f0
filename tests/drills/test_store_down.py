"""The incident drill: the shared PostgreSQL log goes down in the middle of a cutover.

A cluster of the test's own is stopped for real. Then the kill switch from the command line, the
TUI's kill switch and the headless rollback must work, say that the log is away and how many entries
wait, and spool what they did; when PostgreSQL returns, every spooled entry lands once, in the order
it was spooled, and the chain verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import local_spool, open_log
from cockpit.demo import DEMO_TOKEN
from cockpit.ui.app import make_app
from tests.helpers.cluster import Cluster
from tests.helpers.demo import Demo, in_cutover
from tests.ui.fixtures import workers_done

ROOT = Path(__file__).resolve().parents[2]
ANN = Actor("Ann", "ann", "laptop")


@pytest.fixture
def cluster():  # noqa: ANN201
    c = Cluster()
    try:
        yield c.init()
    finally:
        c.remove()


def cockpit(demo: Demo, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCKPIT_LOG_DSN": dsn, "COCKPIT_SECRET_DEMO_FLAGS": DEMO_TOKEN,
           "COCKPIT_ACTOR": "ic", "DEMO_DEPLOY_STEP_SECONDS": "0"}
    return subprocess.run([sys.executable, "-m", "cockpit", *args, "--config", str(demo.scratch.runbook_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def spooled_uids(demo: Demo) -> list[str]:
    """The entries waiting in the runbook's spool for its store (COCKPIT_LOG_DSN), oldest first."""
    spool = local_spool(demo.runbook)
    with spool.locked():
        return [n.uid for n in spool.read()]


async def test_kill_switch_and_rollback_hold_while_the_shared_log_is_down(
        demo: Demo, cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = cluster.create_database("releases")
    monkeypatch.setenv("COCKPIT_LOG_DSN", dsn)
    monkeypatch.setenv("DEMO_DEPLOY_STEP_SECONDS", "0")
    log = open_log(demo.runbook)
    session = await in_cutover(demo.runbook, log, ANN, "layer-0")
    await session.mark_stable("layer-0", "green")
    await session.take_evidence()
    await session.start_stage("layer-1")
    flags = demo.runbook.stage("layer-1").flags
    assert flags and all(demo.target.flags.get(f) for f in flags)
    release_id = session.release_id
    log.close()

    cluster.stop()
    cluster.wait_down()

    # The kill switch from another terminal: the release comes from what this machine last saw.
    killed = cockpit(demo, dsn, "flags", "kill", "--stage", "layer-1", "--reason", "5xx spike, db down")
    assert killed.returncode == 0, killed.stderr
    assert "Traceback" not in killed.stderr
    assert "shared release log is away" in killed.stderr and "wait in the local spool" in killed.stderr
    assert not any(demo.target.flags.get(f) for f in flags)

    # The TUI opens on the cached release and its kill switch works, saying the log is away.
    for f in flags:
        demo.target.flags.add(f, True)  # back on, set in the demo state directly: setup, not the drill
    app = make_app(demo.runbook, open_log(demo.runbook), actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await workers_done(app)
        await pilot.pause()
        assert app.session is not None and app.session.release_id == release_id
        assert app.current_mode == "cutover"
        app.poll_log_status()
        await workers_done(app)
        assert "shared release log is away" in app.view.log_status
        app.screen.query_one("#stages").move_cursor(row=1)  # layer-1
        await pilot.press("k")
        await pilot.pause()
        await pilot.press(*"still failing", "enter")
        await workers_done(app)
        await pilot.pause()
        assert not any(demo.target.flags.get(f) for f in flags)
        assert app.session.state.stage("layer-1").status.value == "killed"

    # The headless rollback: flags as at GO, the redeploy, the verification; all spooled.
    rolled = cockpit(demo, dsn, "rollback", "--yes", "--note", "db down drill")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert "shared release log is away" in rolled.stderr
    waiting = spooled_uids(demo)
    assert len(waiting) >= 10 and len(set(waiting)) == len(waiting)

    cluster.start()
    tail = cockpit(demo, dsn, "log", "tail")  # the first command that reaches the store replays the spool
    assert tail.returncode == 0, tail.stderr
    assert spooled_uids(demo) == []
    verify = cockpit(demo, dsn, "log", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout + verify.stderr

    store = open_log(demo.runbook)
    try:
        stored = list(store.entries(LogFilter(release_id=release_id)))
    finally:
        store.close()
    landed = [e.uid for e in stored if e.uid in set(waiting)]
    assert landed == waiting  # each spooled entry once, in the order it was spooled
    kinds_after = [e.kind for e in stored if e.uid in set(waiting)]
    assert kinds.STAGE_KILLED in kinds_after and kinds.ROLLBACK_FINISHED in kinds_after
    rb = [e for e in stored if e.kind == kinds.ROLLBACK_FINISHED][-1]
    assert rb.payload["outcome"] == "done"


def test_check_and_signoff_with_the_shared_log_down(demo: Demo, cluster: Cluster,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Before GO, with the store away and nothing seen here: evidence and sign-off are taken and spooled;
    GO is refused with its reason (the lock lives in the shared log); nothing crashes."""
    dsn = cluster.create_database("releases")
    cluster.stop()
    cluster.wait_down()
    checked = cockpit(demo, dsn, "check", "--json")
    assert checked.returncode in (0, 1) and "Traceback" not in checked.stderr, checked.stderr
    verdict = json.loads(checked.stdout)
    assert verdict["release_id"].startswith("demo-shop-production-") and verdict["checks"]
    assert "shared release log is away" in checked.stderr
    signed = cockpit(demo, dsn, "signoff", "--release-owner", "Ann", "--rollback-owner", "Bob",
                     "--rollback-ref", "v1.0.0", "--decision", "go")
    assert signed.returncode == 1 and "Traceback" not in signed.stderr, signed.stderr
    assert "lock" in signed.stderr and "away" in signed.stderr
    monkeypatch.setenv("COCKPIT_LOG_DSN", dsn)
    assert len(spooled_uids(demo)) >= 4  # opened, evidence, sign-off (twice: check and signoff)

    cluster.start()
    assert cockpit(demo, dsn, "log", "tail").returncode == 0
    assert spooled_uids(demo) == []
    verify = cockpit(demo, dsn, "log", "verify")
    assert verify.returncode == 0 and "intact" in verify.stdout
