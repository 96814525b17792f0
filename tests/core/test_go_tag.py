"""At GO the cockpit tags the target (seed 000's `pre-…-layer-X`) and pushes the tag when a remote
is set; a push that fails is reported and logged, never hidden."""

from __future__ import annotations

import subprocess

from cockpit.runbook.config import Runbook
from cockpit.core import cutover, kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.session import ReleaseSession
from tests.helpers.demo import Demo

ANN = Actor("Ann", "ann", "laptop")


def with_remote(runbook: Runbook, remote: str) -> Runbook:
    return runbook.model_copy(update={"release": runbook.release.model_copy(update={"remote": remote})})


async def go(runbook: Runbook) -> tuple[ReleaseSession, cutover.Outcome]:
    session = await ReleaseSession.open(runbook, open_log(runbook), "production", ANN)
    await session.sign_off("Ann", "Bob", "v1.0.0")
    await session.take_evidence()
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


async def test_a_failed_push_is_shown_and_logged(demo: Demo) -> None:
    session, outcome = await go(with_remote(demo.runbook, "no-such-remote"))
    assert session.state.is_go  # GO stands; the missing push is a problem to see, not a silent pass
    assert len(outcome.problems) == 1 and "created but not pushed to no-such-remote" in outcome.problems[0]
    entries = session.log.page(LogFilter(release_id=session.release_id, kind="tag."))
    assert [(e.kind, e.payload["ok"]) for e in entries] == [(kinds.TAG_CREATED, True), (kinds.TAG_PUSHED, False)]
    assert entries[1].payload["error"]
    session.log.close()
