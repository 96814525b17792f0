"""GO's side effects and the cutover: flag snapshot, tags, stages flipped, watched, marked stable, killed.

Each function takes a ReleaseSession, refuses what the release's state does not allow
(ActionRefused, in words), and records every step in the log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cockpit.core import gitrepo, kinds
from cockpit.core.gate import Verdict
from cockpit.core.release import Phase, StageStatus
from cockpit.core.session import ActionRefused, ReleaseSession
from cockpit.runbook.durations import humanize


@dataclass
class Outcome:
    """What an action did beyond its entries: things the release owner must see (never hidden)."""

    problems: list[str]
    flips: Any = None  # cockpit.core.flags.flip.KillSwitchResult when flags were flipped

    @property
    def ok(self) -> bool:
        return not self.problems and (self.flips is None or self.flips.ok)


def _backend(session: ReleaseSession):  # noqa: ANN202 - FlagBackend, imported lazily (httpx)
    from cockpit.core.flags.factory import make_backend

    return make_backend(session.runbook, session.environment)


async def hold_lock(session: ReleaseSession) -> None:
    """Take (or renew) the environment's cutover lock for this release: one cutover per environment."""
    from cockpit.core.log.base import AppendRefused
    from cockpit.core.log.lock import take_lock

    try:
        await asyncio.to_thread(take_lock, session.log, session.environment, session.release_id, session.actor,
                                session.runbook.release.lock_lease, now=session.clock())
    except AppendRefused as e:
        raise ActionRefused(f"{e}. Wait for the lease to end, or force it: "
                            f"cockpit log unlock --config … --env {session.environment} --reason …") from None


async def _free_lock(session: ReleaseSession) -> None:
    from cockpit.core.log.base import AppendRefused
    from cockpit.core.log.lock import release_lock

    try:
        await asyncio.to_thread(release_lock, session.log, session.environment, session.release_id, session.actor,
                                now=session.clock())
    except AppendRefused:
        pass  # not ours (any more): nothing to give back


async def go(session: ReleaseSession, confirmation: str) -> Outcome:
    """Take the lock, record GO, then the flag snapshot and the tag; a failed snapshot or push is
    reported, not hidden."""
    session.decide_go_check(confirmation)
    await hold_lock(session)
    await session.decide_go(confirmation)
    problems: list[str] = []
    if session.runbook.flags is not None and session.runbook.all_flags:
        problems += await _snapshot(session)
    first = session.runbook.stages[0].id if session.runbook.stages else session.target.short
    problems += await _tag(session, first)
    return Outcome(problems=problems)


async def _snapshot(session: ReleaseSession) -> list[str]:
    from cockpit.core.flags.flip import snapshot, snapshot_payload

    try:
        backend = _backend(session)
    except Exception as e:  # missing secret, bad config: the snapshot is missing, say so
        await session.record(kinds.FLAGS_SNAPSHOT, {"flags": {}, "error": str(e)})
        return [f"flag snapshot not taken: {e}"]
    try:
        snap = await snapshot(backend, session.runbook.all_flags)
    finally:
        await backend.aclose()
    await session.record(kinds.FLAGS_SNAPSHOT, snapshot_payload(snap))
    unread = [f for f, v in snap.items() if v is None]
    return [f"flag snapshot could not read: {', '.join(unread)}"] if unread else []


async def _tag(session: ReleaseSession, suffix: str) -> list[str]:
    """Seed 000's `pre-<...>-layer-X`: an annotated tag on the target, pushed when a remote is set."""
    prefix = session.runbook.release.tag_prefix
    if not prefix:
        return []
    name = f"{prefix}{suffix}"
    repo = session.runbook.repo_path
    message = f"{session.release_id}: {session.actor.name} before {suffix}"
    try:
        await asyncio.to_thread(gitrepo.create_tag, repo, name, session.target.sha, message)
    except gitrepo.GitRefError as e:
        await session.record(kinds.TAG_CREATED, {"tag": name, "sha": session.target.sha, "ok": False, "error": str(e)})
        return [f"tag {name} not created: {e}"]
    await session.record(kinds.TAG_CREATED, {"tag": name, "sha": session.target.sha, "ok": True})
    remote = session.runbook.release.remote
    if not remote:
        return []
    try:
        await asyncio.to_thread(gitrepo.push_tag, repo, remote, name)
    except (gitrepo.GitPushError, gitrepo.GitRefError) as e:
        await session.record(kinds.TAG_PUSHED, {"tag": name, "remote": remote, "ok": False, "error": str(e)})
        return [f"tag {name} was created but not pushed to {remote}: {e}"]
    await session.record(kinds.TAG_PUSHED, {"tag": name, "remote": remote, "ok": True})
    return []


def stage_verdict(session: ReleaseSession, stage_id: str) -> Verdict:
    return session.verdict(stage=stage_id)


async def start_stage(session: ReleaseSession, stage_id: str) -> Outcome:
    """Flip the stage's flags on after its gate says GO; the stage's checks are then watched."""
    from cockpit.core.flags.flip import flip_many

    stage = session.runbook.stage(stage_id)
    if not session.state.is_go or session.state.phase not in (Phase.GO, Phase.CUTOVER):
        raise ActionRefused(f"stages start after GO; this release is '{session.state.phase}'")
    status = session.state.stage(stage_id).status
    if status in (StageStatus.STARTED, StageStatus.STABLE):
        raise ActionRefused(f"stage '{stage_id}' is already {status}")
    verdict = stage_verdict(session, stage_id)
    if not verdict.go:
        raise ActionRefused("; ".join(verdict.reasons))
    # The flag service first: a missing token refuses the stage before anything is recorded.
    backend = _backend(session) if stage.flags else None
    await hold_lock(session)
    problems = []
    if session.runbook.stages and stage_id != session.runbook.stages[0].id:
        problems += await _tag(session, stage_id)
    await session.record(kinds.STAGE_STARTED, {"stage": stage_id, "flags": stage.flags})
    flips = None
    if backend is not None:
        try:
            flips = await flip_many(backend, {f: True for f in stage.flags}, reason=f"stage {stage_id}: {stage.title}",
                                    actor=session.actor, log=session.log, release_id=session.release_id,
                                    environment=session.environment, stage=stage_id,
                                    retries=session.runbook.flags.retries if session.runbook.flags else 3)
        finally:
            await backend.aclose()
        await session.refresh()
    return Outcome(problems=problems, flips=flips)


def stable_after(session: ReleaseSession, stage_id: str) -> timedelta | None:
    """How long until the stage's monitor window is over (None when it is, or there is none)."""
    stage = session.runbook.stage(stage_id)
    started = session.state.stage(stage_id).started_at
    if stage.monitor is None or started is None:
        return None
    left = started + stage.monitor - session.clock()
    return left if left > timedelta(0) else None


async def mark_stable(session: ReleaseSession, stage_id: str, note: str) -> None:
    st = session.state.stage(stage_id)
    if st.status is not StageStatus.STARTED:
        raise ActionRefused(f"only a started stage can be marked stable; '{stage_id}' is {st.status}")
    left = stable_after(session, stage_id)
    if left is not None:
        raise ActionRefused(f"stage '{stage_id}' is in its monitor window for {humanize(left)} more")
    failing = [r for r in session.verdict(stage=stage_id).reasons if r.startswith("MUST")]
    if failing:
        raise ActionRefused("its checks do not pass: " + "; ".join(failing))
    await session.record(kinds.STAGE_STABLE, {"stage": stage_id, "note": note})


async def kill_stage(session: ReleaseSession, stage_id: str, reason: str) -> Outcome:
    """The stage's kill switch: all its flags off at once, the exact outcome per flag logged."""
    from cockpit.core.flags.flip import kill_switch

    stage = session.runbook.stage(stage_id)
    if not reason.strip():
        raise ActionRefused("the kill switch needs a reason")
    backend = _backend(session)
    try:
        result = await kill_switch(backend, stage.flags, reason=reason, actor=session.actor, log=session.log,
                                   release_id=session.release_id, environment=session.environment,
                                   stage=stage_id)
    finally:
        await backend.aclose()
    await session.record(kinds.STAGE_KILLED, {"stage": stage_id, "flags": stage.flags, "reason": reason,
                                              "ok": result.ok, "outcome": result.to_json()["flips"]})
    await session.refresh()
    return Outcome(problems=[r.summary() for r in result.failed], flips=result)


async def finish(session: ReleaseSession, note: str) -> None:
    pending = [s.id for s in session.runbook.stages if session.state.stage(s.id).status is not StageStatus.STABLE]
    if pending:
        raise ActionRefused(f"stages not yet stable: {', '.join(pending)}")
    if not session.state.is_go:
        raise ActionRefused("the release was never GO")
    await session.record(kinds.RELEASE_DONE, {"note": note})
    await _free_lock(session)
