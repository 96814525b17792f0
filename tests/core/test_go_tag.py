"""At GO the cockpit tags the target (seed 000's `pre-…-layer-X`) and pushes the tag when a remote
is set, and snapshots every flag. GO is all or nothing: a push or a snapshot that fails refuses GO
with the reason, gives the lock back and flips nothing."""

from __future__ import annotations

import subprocess

import pytest

from cockpit.runbook.config import Runbook
from cockpit.core import cutover, kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.log.lock import lock_holder
from cockpit.core.refusal import ActionRefused
from cockpit.core.session import ReleaseSession
from tests.helpers.demo import Demo

ANN = Actor("Ann", "ann", "laptop")


def with_remote(runbook: Runbook, remote: str) -> Runbook:
    return runbook.model_copy(update={"release": runbook.release.model_copy(update={"remote": remote})})


async def ready(runbook: Runbook) -> ReleaseSession:
    session = await ReleaseSession.open(runbook, open_log(runbook), "production", ANN)
    await session.sign_off("Ann", "Bob", "v1.0.0")
    await session.tick("overlap-tested", "tested on staging")
    await session.take_evidence()
    return session


async def go(runbook: Runbook) -> tuple[ReleaseSession, cutover.Outcome]:
    session = await ready(runbook)
    return session, await session.go(session.target.short)


async def test_the_tag_is_created_and_pushed(demo: Demo) -> None:
    session, outcome = await go(with_remote(demo.runbook, "origin"))
    assert outcome.problems == []
    remote_tags = subprocess.run(["git", "ls-remote", "--tags", "origin"], cwd=demo.scratch.checkout,
                                 capture_output=True, text=True, check=True).stdout
    assert f"{session.target.sha}\trefs/tags/pre-marketplace-layer-0^{{}}" in remote_tags
    pushed = session.log.page(LogFilter(release_id=session.release_id, kind=kinds.TAG_PUSHED))
    assert [(e.payload["tag"], e.payload["ok"]) for e in pushed] == [("pre-marketplace-layer-0", True)]
    session.log.close()


async def test_a_failed_push_refuses_go_and_gives_the_lock_back(demo: Demo) -> None:
    session = await ready(with_remote(demo.runbook, "no-such-remote"))
    with pytest.raises(ActionRefused, match="GO refused, nothing was flipped: .*created but not pushed to no-such-remote"):
        await session.go(session.target.short)
    assert not session.state.is_go and session.state.phase == "preparing"
    assert lock_holder(session.log, "production") is None and not session.renewing
    entries = session.log.page(LogFilter(release_id=session.release_id))
    kinds_written = [e.kind for e in entries]
    assert kinds.DECISION_GO not in kinds_written and kinds.FLAG_FLIPPED not in kinds_written
    refused = [e for e in entries if e.kind == kinds.GO_REFUSED]
    assert len(refused) == 1 and "no-such-remote" in refused[0].payload["reasons"][0]
    tags = [(e.kind, e.payload["ok"]) for e in entries if e.kind.startswith("tag.")]
    assert tags == [(kinds.TAG_CREATED, True), (kinds.TAG_PUSHED, False)]
    # With the remote fixed, GO again goes through: the tag already there is reused.
    session.runbook = with_remote(demo.runbook, "origin")
    outcome = await session.go(session.target.short)
    assert outcome.problems == [] and session.state.is_go
    assert lock_holder(session.log, "production").release_id == session.release_id
    session.close()
    session.log.close()


async def test_a_snapshot_that_cannot_be_taken_is_a_no_go_not_a_warning(demo: Demo,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    session = await ready(demo.runbook)
    monkeypatch.delenv("COCKPIT_SECRET_DEMO_FLAGS")
    with pytest.raises(ActionRefused, match="GO refused, nothing was flipped: flag snapshot not taken: .*demo-flags"):
        await session.go(session.target.short)
    assert not session.state.is_go
    assert lock_holder(session.log, "production") is None
    assert session.log.page(LogFilter(release_id=session.release_id, kind=kinds.GO_REFUSED))
    session.log.close()
