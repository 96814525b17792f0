"""The rollback runner on the demo target, a real git checkout and a real SQLite log (and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.lock import lock_holder
from cockpit.core.release import Phase, StageStatus
from cockpit.core.rollback import PlanRefused, RollbackRunner, plan_for
from cockpit.core.rollback.headless import run_headless
from cockpit.core.rollback.locking import LockRefused
from cockpit.core.session import ReleaseSession
from tests.rollback.conftest import Demo
from tests.helpers.locks import take_lock
from tests.rollback.release import ALICE, BOB, LAYER_FLAGS, go_release

AVAIL, REQ = LAYER_FLAGS["layer-1"], LAYER_FLAGS["layer-2"]


def attached(demo: Demo, log=None) -> ReleaseSession:  # type: ignore[no-untyped-def]
    return asyncio.run(ReleaseSession.attach(demo.runbook, log or demo.log, "production", BOB))


def load_plan(demo: Demo, *, stage: str | None = None):  # type: ignore[no-untyped-def]
    session = attached(demo)
    return session.state, plan_for(session, stage=stage)


def runner_for(demo: Demo, *, stage: str | None = None, log=None, **kw) -> RollbackRunner:  # type: ignore[no-untyped-def]
    session = attached(demo, log)
    return RollbackRunner(session, plan_for(session, stage=stage), flag_backoff=0.01, **kw)


def rollback_kinds(log, release_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    started = False
    out = []
    for e in log.entries(LogFilter(release_id=release_id)):
        started = started or e.kind == kinds.ROLLBACK_STARTED
        if started and not e.kind.startswith("lock."):
            out.append(e.kind + (f":{e.payload['step']}:{e.payload['outcome']}" if e.kind == kinds.ROLLBACK_STEP else ""))
    return out



def deployed_sha(demo: Demo) -> str | None:
    p = demo.checkout / ".deploy" / "deployed-sha"
    return p.read_text().strip() if p.exists() else None


def test_plan_reads_the_release_from_the_log(demo: Demo, released: ReleaseSession) -> None:
    state, plan = load_plan(demo)
    assert plan.release_id == released.release_id
    assert plan.target is not None and plan.target.sha == demo.scratch.shas["head"]
    assert (plan.rollback_ref, plan.rollback_sha, plan.rollback_owner) == ("v1.0.0", demo.scratch.shas["known_good"], "bob")
    assert plan.snapshot == {AVAIL: False, REQ: False}
    assert [(f.flag, f.to, f.flipped) for f in plan.flags] == [(AVAIL, False, True), (REQ, False, True)]
    assert plan.deploy_command == "bash ./scripts/deploy-prod-from-ref.sh v1.0.0 ."
    assert plan.steps == ("flags", "deploy", "verify") and plan.pending == ["flags", "deploy", "verify"]
    assert not plan.problems and not plan.resumed
    assert "MARKETPLACE_AVAILABILITY_ENABLED → OFF" in "\n".join(plan.describe("flags"))


def test_full_rollback(demo: Demo, released: ReleaseSession) -> None:
    assert demo.target.flags.get(AVAIL) and demo.target.flags.get(REQ)
    out: list[str] = []
    result = asyncio.run(run_headless(runner_for(demo), out=out.append))
    assert result.outcome == "done" and result.exit_code == 0
    assert not demo.target.flags.get(AVAIL) and not demo.target.flags.get(REQ)
    assert deployed_sha(demo) == demo.scratch.shas["known_good"]
    assert any("| ==> deployed " + demo.scratch.shas["known_good"] in line for line in out)
    assert rollback_kinds(demo.log, released.release_id) == [
        "rollback.started", "flag.flipped", "flag.flipped", "rollback.step:flags:done",
        "deploy.started", "deploy.finished", "rollback.step:deploy:done",
        "evidence.taken", "rollback.step:verify:done", "rollback.finished"]
    fin = list(demo.log.entries(LogFilter(release_id=released.release_id, kind=kinds.ROLLBACK_FINISHED)))[-1]
    assert fin.payload["outcome"] == "done" and fin.actor.name == "bob"
    assert 0 < fin.payload["elapsed_s"] == result.elapsed_s
    state, _ = load_plan(demo)
    assert str(state.phase) == "rolled back"
    assert lock_holder(demo.log, "production") is None  # taken for the rollback, released at the end


def test_full_rollback_on_postgres(demo: Demo, pg_dsn: str) -> None:
    from cockpit.core.log.postgres import PostgresLog

    log = PostgresLog(pg_dsn)
    try:
        s = asyncio.run(go_release(demo.runbook, log))
        result = asyncio.run(run_headless(runner_for(demo, log=log), out=lambda _: None))
        assert result.outcome == "done"
        assert [k for k in rollback_kinds(log, s.release_id) if k.startswith("rollback.")] == [
            "rollback.started", "rollback.step:flags:done", "rollback.step:deploy:done",
            "rollback.step:verify:done", "rollback.finished"]
        assert log.verify().ok
        assert not demo.target.flags.get(AVAIL) and deployed_sha(demo) == demo.scratch.shas["known_good"]
    finally:
        log.close()


def test_failing_deploy_then_retry(demo: Demo, released: ReleaseSession, monkeypatch: pytest.MonkeyPatch) -> None:
    r = runner_for(demo)
    lines: list[str] = []

    async def go() -> None:
        await r.begin()
        assert (await r.run_step("flags")).outcome == "done"
        monkeypatch.setenv("DEMO_DEPLOY_FAIL", "1")
        first = await r.run_step("deploy", on_line=lines.append)
        assert first.outcome == "failed" and first.data["exit_code"] == 1 and first.attempt == 1
        assert "rollout failed" in "\n".join(lines)  # stderr is streamed too
        assert r.pending == ["deploy", "verify"]      # a failed step is not finished
        monkeypatch.delenv("DEMO_DEPLOY_FAIL")
        second = await r.run_step("deploy")
        assert second.outcome == "done" and second.attempt == 2
        assert (await r.run_step("verify")).outcome == "done"
        await r.finish("done", "deploy retried once")

    asyncio.run(go())
    assert deployed_sha(demo) == demo.scratch.shas["known_good"]
    assert rollback_kinds(demo.log, released.release_id)[4:] == [
        "deploy.started", "deploy.finished", "rollback.step:deploy:failed",
        "deploy.started", "deploy.finished", "rollback.step:deploy:done",
        "evidence.taken", "rollback.step:verify:done", "rollback.finished"]
    finished = [e.payload for e in demo.log.entries(LogFilter(release_id=released.release_id, kind="deploy.finished"))]
    assert [(p["exit_code"], p["ok"]) for p in finished] == [(1, False), (0, True)]


def test_flag_api_down_during_kill_switch_then_retry(demo: Demo, released: ReleaseSession) -> None:
    r = runner_for(demo)
    seen: list[str] = []

    async def go() -> None:
        await r.begin()
        demo.target.stop()  # the flag service is down: connections are refused
        down = await r.run_step("flags", on_flag=lambda o: seen.append(o.flag))  # one outcome per flag
        assert down.outcome == "failed"
        assert sorted(seen) == sorted([AVAIL, REQ])  # an outcome per flag, as each lands
        per_flag = {f["flag"]: f for f in down.data["flags"]}
        assert set(per_flag) == {AVAIL, REQ}
        assert all(not f["ok"] and f["after"] is None and f["error"] for f in per_flag.values())
        assert "2 of 2 flags FAILED" in down.detail
        demo.restart_target()  # back, on the same port, flags still ON
        assert demo.target.flags.get(AVAIL) is True
        again = await r.run_step("flags")
        assert again.outcome == "done" and again.attempt == 2
        assert all(f["ok"] and f["changed"] for f in again.data["flags"])

    asyncio.run(go())
    assert not demo.target.flags.get(AVAIL) and not demo.target.flags.get(REQ)
    flips = [e.payload for e in demo.log.entries(LogFilter(release_id=released.release_id, kind="flag.flipped"))
             if e.actor.name == "bob"]
    assert [p["ok"] for p in flips] == [False, False, True, True]  # every attempt logged, failed ones too


def test_one_flag_failing_is_named(demo: Demo, released: ReleaseSession) -> None:
    demo.target.fail_next(10, status=503, flag=REQ)  # only REQ's PUTs fail
    r = runner_for(demo)

    async def go():  # type: ignore[no-untyped-def]
        await r.begin()
        return await r.run_step("flags")

    res = asyncio.run(go())
    assert res.outcome == "failed" and f"1 of 2 flags FAILED: {REQ}" == res.detail
    by = {f["flag"]: f for f in res.data["flags"]}
    assert by[AVAIL]["ok"] and not by[AVAIL]["after"]
    assert not by[REQ]["ok"] and by[REQ]["after"] is True  # still ON, and the outcome says so
    assert demo.target.flags.get(REQ) is True


def test_no_rollback_ref_refuses_redeploy_but_allows_flags(demo: Demo) -> None:
    s = asyncio.run(go_release(demo.runbook, demo.log, rollback_ref=None))
    r = runner_for(demo)
    assert "no rollback ref was recorded" in r.plan.problems["deploy"]
    assert "Cannot redeploy" in r.plan.describe("deploy")[0]

    async def go() -> None:
        await r.begin()
        assert (await r.run_step("flags")).outcome == "done"
        refused = await r.run_step("deploy")
        assert refused.outcome == "failed" and "no rollback ref" in refused.detail
        with pytest.raises(ValueError):
            await r.skip("deploy", "  ")  # a skip needs a reason
        skipped = await r.skip("deploy", "nothing known-good to deploy; flags off is enough")
        assert skipped.outcome == "skipped"
        assert (await r.run_step("verify")).outcome == "done"
        await r.finish("done", "flags only")

    asyncio.run(go())
    assert not demo.target.flags.get(AVAIL) and deployed_sha(demo) is None
    steps = [e.payload for e in demo.log.entries(LogFilter(release_id=s.release_id, kind=kinds.ROLLBACK_STEP))]
    assert [(p["step"], p["outcome"]) for p in steps] == [
        ("flags", "done"), ("deploy", "failed"), ("deploy", "skipped"), ("verify", "done")]
    assert steps[2]["reason"] == "nothing known-good to deploy; flags off is enough"


def test_partial_rollback_of_one_stage(demo: Demo, released: ReleaseSession) -> None:
    r = runner_for(demo, stage="layer-2")
    assert r.plan.steps == ("flags", "verify") and [f.flag for f in r.plan.flags] == [REQ]
    result = asyncio.run(run_headless(r, out=lambda _: None))
    assert result.outcome == "done"
    assert demo.target.flags.get(REQ) is False and demo.target.flags.get(AVAIL) is True  # layer-1 stays
    assert deployed_sha(demo) is None
    started = list(demo.log.entries(LogFilter(release_id=released.release_id, kind=kinds.ROLLBACK_STARTED)))
    assert started[-1].payload["scope"] == "stage:layer-2"
    # The release goes on without layer-2: still in its cutover, layer-1 live; a whole rollback later is
    # not "a new attempt" of this one.
    state, whole = load_plan(demo)
    assert state.phase is Phase.CUTOVER and state.release_id == released.release_id
    assert (state.stage("layer-2").status, state.stage("layer-1").status) == (StageStatus.ROLLED_BACK,
                                                                              StageStatus.STARTED)
    assert not whole.resumed and not [w for w in whole.warnings if "new attempt" in w]
    with pytest.raises(PlanRefused, match="unknown stage"):
        load_plan(demo, stage="layer-9")


def test_resume_does_not_redo_finished_steps(demo: Demo, released: ReleaseSession) -> None:
    first = runner_for(demo)

    async def die_after_flags() -> None:
        await first.begin()
        await first.run_step("flags")   # ... and the cockpit dies here

    asyncio.run(die_after_flags())
    puts_before = len(demo.target.flags.puts())
    again = runner_for(demo)
    assert again.plan.resumed and again.plan.pending == ["deploy", "verify"]
    result = asyncio.run(run_headless(again, out=lambda _: None))
    assert result.outcome == "done" and len(demo.target.flags.puts()) == puts_before
    assert [s.get("resumed", False) for s in result.steps] == [True, False, False]
    kinds_ = rollback_kinds(demo.log, released.release_id)
    assert kinds_.count("rollback.step:flags:done") == 1 and kinds_.count("rollback.started") == 2
    assert kinds_[-1] == "rollback.finished"


def test_another_scope_in_progress_is_refused(demo: Demo, released: ReleaseSession) -> None:
    asyncio.run(runner_for(demo).begin())
    with pytest.raises(PlanRefused, match="in progress"):
        load_plan(demo, stage="layer-1")


def test_nothing_to_roll_back(demo: Demo) -> None:
    with pytest.raises(PlanRefused, match="nothing to roll back"):
        load_plan(demo)


def test_release_owner_lock_is_taken_over_and_logged(demo: Demo, released: ReleaseSession) -> None:
    take_lock(demo.log, "production", released.release_id, ALICE, demo.runbook.release.lock_lease)
    r = runner_for(demo)
    asyncio.run(r.begin())
    assert "taken over from alice" in r.lock_note
    held = lock_holder(demo.log, "production")
    assert held is not None and held.holder.name == "bob"
    forced = [e for e in demo.log.entries(LogFilter(kind="lock.released")) if e.payload.get("forced")]
    assert forced and forced[0].payload["previous_holder"]["name"] == "alice"
    started = list(demo.log.entries(LogFilter(kind=kinds.ROLLBACK_STARTED)))[-1]
    assert "taken over from alice" in started.payload["lock"]


def test_another_releases_lock_needs_force(demo: Demo, released: ReleaseSession) -> None:
    take_lock(demo.log, "production", "other-release", ALICE, demo.runbook.release.lock_lease)
    with pytest.raises(LockRefused, match="--force"):
        asyncio.run(runner_for(demo).begin())
    forced = runner_for(demo, lock_force=True)
    asyncio.run(forced.begin())
    assert "over release other-release" in forced.lock_note
