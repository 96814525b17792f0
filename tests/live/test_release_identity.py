"""A release's identity is explicit: a check on another ref while a release is in flight is refused
and records nothing (the release, its lock and the rollback's choice stay as they were); commands
that name a release act on that one or refuse; the current release is the one in flight."""

from __future__ import annotations

import asyncio

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor, NewEntry
from cockpit.core.log.lock import lock_holder
from cockpit.core.log.open import open_log
from cockpit.core.session import ReleaseSession, find_current
from tests.helpers.demo import in_cutover
from tests.live.conftest import Demo, cockpit

ANN = Actor("Ann", "ann", "laptop-a", "ann@example.com")
FEATURE = "origin/feature/web-header-profile-menu"


def test_a_check_on_another_ref_leaves_the_release_in_flight_alone(demo: Demo, store: str) -> None:
    log = open_log(demo.runbook)
    live = asyncio.run(in_cutover(demo.runbook, log, ANN))
    before = log.count()
    held = lock_holder(log, "production")
    assert held is not None and held.release_id == live.release_id

    p = cockpit(demo, "check", "--ref", FEATURE, actor="Eve")
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"has release {live.release_id} in flight" in p.stderr and "nothing was recorded" in p.stderr
    assert "cockpit rollback" in p.stderr  # the way out
    assert log.count() == before  # not a single entry
    current = find_current(log, "production")
    assert current is not None and current.release_id == live.release_id and current.phase == "cutover"
    assert lock_holder(log, "production") == held

    # A check without a ref is a check of the release in flight; it does not touch the lock either.
    p = cockpit(demo, "check", "--json", actor="Eve")
    assert f'"release_id": "{live.release_id}"' in p.stdout, p.stderr
    assert lock_holder(log, "production") == held
    # The rollback picks the release in flight, and names it.
    p = cockpit(demo, "rollback", "--yes", "--release", "no-such-release")
    assert p.returncode == 1 and "no release no-such-release" in p.stderr
    p = cockpit(demo, "signoff", "--release-owner", "Eve", "--rollback-owner", "Eve", "--rollback-ref", "v1.0.0",
                "--release", "no-such-release", actor="Eve")
    assert p.returncode == 1 and "current release is not no-such-release" in p.stderr
    assert not list(log.entries(LogFilter(actor="Eve", kind=kinds.SIGNOFF_RECORDED)))
    log.close()


def test_the_release_in_flight_stays_current_whatever_was_opened_after_it(demo: Demo, store: str) -> None:
    log = open_log(demo.runbook)
    live = asyncio.run(in_cutover(demo.runbook, log, ANN))
    # An opening written after it (an older cockpit did that on `check --ref`) does not take over.
    log.append(NewEntry("demo-shop-production-feature", "production", kinds.SESSION_OPENED,
                        {"target": {"ref": FEATURE, "sha": demo.scratch.shas["feature"]}}, Actor("Eve", "eve", "ci")))
    assert find_current(log, "production").release_id == live.release_id
    attached = asyncio.run(ReleaseSession.attach(demo.runbook, log, "production", ANN))
    assert attached.release_id == live.release_id and attached.state.phase.in_flight
    log.close()
