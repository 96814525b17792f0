"""Promotion tied to the SHA: production's GO needs the same target closed, stable, not rolled back, in
staging within the window. Real releases on the demo target, real git, the shared log on SQLite and on
PostgreSQL; the gate, `check` and GO refuse the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cockpit.core.evidence import utcnow
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.promotion import Passage, Promotion, read_promotion
from cockpit.core.refusal import ActionRefused
from cockpit.core.release import Phase
from cockpit.core.rollback import RollbackRunner, plan_for
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import ConfigError, Runbook, load_runbook, parse_runbook
from tests.helpers.demo import Demo, demo

__all__ = ["demo"]

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
STAGING_QA = Actor("Quinn", "quinn", "qa-box")


class Clock:
    """The sessions' clock, moved on by hand: monitor windows pass and the window runs out without sleeping."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "postgres":
        monkeypatch.setenv("COCKPIT_LOG_DSN", request.getfixturevalue("pg_dsn"))
    yield request.param


def promoting(demo: Demo, rule: str = 'promote_from = "staging"\npromote_within = "7d"\n') -> Runbook:
    """The demo runbook with production promoted from staging (written beside it, validated as any runbook)."""
    text = demo.scratch.runbook_path.read_text(encoding="utf-8")
    assert text.count("[environments.production]\n") == 1
    path = demo.scratch.checkout / "promoting.toml"
    path.write_text(text.replace("[environments.production]\n", f"[environments.production]\n{rule}"),
                    encoding="utf-8")
    return load_runbook(path)


async def signed_off(runbook: Runbook, log: Any, env: str, clock: Clock, ref: str | None = None,
                     rollback_ref: str = "v1.0.0", actor: Actor = ANN) -> ReleaseSession:
    session = await ReleaseSession.open(runbook, log, env, actor, ref, clock=clock)
    await session.sign_off("Ann", "Bob", rollback_ref)
    for c in runbook.checks:
        if c.kind == "manual":
            await session.tick(c.id, "checked by hand")
    await session.take_evidence()
    return session


async def through_staging(runbook: Runbook, log: Any, clock: Clock, *, close: bool = True,
                          ref: str | None = None, rollback_ref: str = "v1.0.0") -> ReleaseSession:
    """A staging release: GO, every stage started, watched through its monitor window, marked stable; closed."""
    s = await signed_off(runbook, log, "staging", clock, ref, rollback_ref, STAGING_QA)
    await s.go(s.target.short)
    for stage in runbook.stages:
        await s.start_stage(stage.id)
        clock.ahead += stage.monitor or timedelta(0)
        await s.take_evidence()
        # Staging's guardrail windows are not sampled here (no watcher runs): overridden, with the reason.
        await s.mark_stable(stage.id, "watched, green",
                            override="staging: watched by the team" if stage.guardrails else "")
    if close:
        await s.finish("staging passed")
    s.close()
    return s


def promotion_reasons(session: ReleaseSession) -> list[str]:
    return [r for r in session.verdict(require_signoff=True).reasons if "staging" in r]


def test_production_goes_only_after_the_same_sha_passed_staging(demo: Demo, store: str) -> None:
    runbook, clock = promoting(demo), Clock()
    log = open_log(runbook)

    async def run() -> None:
        prod = await signed_off(runbook, log, "production", clock)
        short = prod.target.short
        assert promotion_reasons(prod) == [
            f"target {short} has not passed staging: no closed, stable release of it there in the last 7d; "
            "staging has had no release yet"]
        with pytest.raises(ActionRefused, match=f"target {short} has not passed staging"):
            await prod.go(short)

        staging = await through_staging(runbook, log, clock)
        assert staging.target.sha == prod.target.sha and staging.state.phase is Phase.DONE
        await prod.note("staging closed")  # the release moved on: the evidence is read again
        assert promotion_reasons(prod) == []
        await prod.take_evidence()
        outcome = await prod.go(short)
        assert outcome.ok and prod.state.is_go
        prod.close()

    asyncio.run(run())
    log.close()


def test_a_release_still_in_cutover_or_rolled_back_in_staging_does_not_count(demo: Demo, store: str) -> None:
    runbook, clock = promoting(demo), Clock()
    log = open_log(runbook)

    async def run() -> None:
        staging = await through_staging(runbook, log, clock, close=False)
        prod = await signed_off(runbook, log, "production", clock)
        assert promotion_reasons(prod) == [
            f"target {prod.target.short} has not passed staging: no closed, stable release of it there in the last "
            f"7d; its last there is {staging.release_id}, in cutover, not yet closed"]

        incident = await ReleaseSession.attach(runbook, log, "staging", STAGING_QA)
        runner = RollbackRunner(incident, plan_for(incident), flag_backoff=0.01)
        await runner.begin()
        for step in runner.plan.steps:
            await runner.run_step(step)
        await runner.finish("done", "bookings broke on staging")
        incident.close()

        await prod.note("staging rolled back")
        assert promotion_reasons(prod) == [
            f"target {prod.target.short} has not passed staging: no closed, stable release of it there in the last "
            f"7d; its last there is {staging.release_id}, rolled back"]

    asyncio.run(run())
    log.close()


def test_another_sha_passing_staging_does_not_promote_this_one(demo: Demo, store: str) -> None:
    """Staging's last release is of the previous commit and rolled back: the refusal names it."""
    runbook, clock = promoting(demo), Clock()
    log = open_log(runbook)
    shas = demo.scratch.shas

    async def run() -> None:
        await through_staging(runbook, log, clock, ref=shas["layer0"])
        older = await ReleaseSession.attach(runbook, log, "staging", STAGING_QA)
        runner = RollbackRunner(older, plan_for(older), flag_backoff=0.01)
        await runner.begin()
        for step in runner.plan.steps:
            await runner.run_step(step)
        await runner.finish("done", "rolled back after closing")
        older.close()

        prod = await signed_off(runbook, log, "production", clock)
        assert prod.target.sha == shas["head"] != shas["layer0"]
        assert promotion_reasons(prod) == [
            f"target {shas['head'][:7]} has not passed staging: no closed, stable release of it there in the last "
            f"7d; staging's last is {older.release_id}, rolled back"]
        assert shas["layer0"][:7] in older.release_id

    asyncio.run(run())
    log.close()


def test_the_window_is_judged_at_the_verdicts_now(demo: Demo) -> None:
    runbook, clock = promoting(demo), Clock()
    log = open_log(runbook)

    async def run() -> None:
        staging = await through_staging(runbook, log, clock)
        prod = await signed_off(runbook, log, "production", clock)
        assert promotion_reasons(prod) == []
        clock.ahead += timedelta(days=8)
        assert promotion_reasons(prod) == [
            f"target {prod.target.short} has not passed staging: no closed, stable release of it there in the last "
            f"7d; its last there is {staging.release_id}, closed 8d 0h ago"]

    asyncio.run(run())
    log.close()


def test_without_a_window_any_closed_stable_release_counts(demo: Demo) -> None:
    runbook, clock = promoting(demo, 'promote_from = "staging"\n'), Clock()
    log = open_log(runbook)

    async def run() -> None:
        await through_staging(runbook, log, clock)
        clock.ahead += timedelta(days=300)
        prod = await signed_off(runbook, log, "production", clock)
        assert promotion_reasons(prod) == []

    asyncio.run(run())
    log.close()


class CountingLog:
    """The real log, counting the reads that go to it."""

    def __init__(self, log: Any) -> None:
        self._log, self.reads = log, 0

    def page(self, *a: Any, **kw: Any) -> Any:
        self.reads += 1
        return self._log.page(*a, **kw)

    def entries(self, *a: Any, **kw: Any) -> Any:
        self.reads += 1
        return self._log.entries(*a, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


def test_a_redraw_reads_nothing_until_the_release_moves_or_the_reading_ages(demo: Demo) -> None:
    runbook, clock = promoting(demo), Clock()
    real = open_log(runbook)
    log = CountingLog(real)

    async def run() -> None:
        prod = await signed_off(runbook, log, "production", clock)
        prod.verdict()
        log.reads = 0
        for _ in range(100):  # redraws
            assert promotion_reasons(prod)
        assert log.reads == 0

        await through_staging(runbook, real, clock)  # another terminal closes staging
        clock.ahead += timedelta(seconds=31)  # no entry of this release meanwhile: the reading ages out
        assert promotion_reasons(prod) == []
        assert 0 < log.reads <= 6

    asyncio.run(run())
    real.close()


def test_after_go_the_rule_is_no_longer_judged(demo: Demo) -> None:
    """A release in flight passed its promotion at GO: a window running out during a long cutover, or a new
    staging release, does not turn its banner NO-GO."""
    runbook, clock = promoting(demo), Clock()
    log = open_log(runbook)

    async def run() -> None:
        await through_staging(runbook, log, clock)
        prod = await signed_off(runbook, log, "production", clock)
        await prod.go(prod.target.short)
        clock.ahead += timedelta(days=30)
        assert "staging" not in " ".join(prod.verdict().reasons)
        prod.close()

    asyncio.run(run())
    log.close()


def test_read_promotion_on_an_empty_log_and_a_store_away(demo: Demo) -> None:
    runbook = promoting(demo)
    log = open_log(runbook)
    p = read_promotion(log, "staging", timedelta(days=7), "a" * 40)
    assert p.passages == () and p.last is None and p.unreadable == ""
    log.close()

    away = parse_runbook(demo.scratch.runbook_path.read_text(encoding="utf-8").replace(
        'path = ".deploy/release-log.sqlite"', 'dsn = "postgresql://nobody@127.0.0.1:1/none"'), demo.scratch.runbook_path)
    log = open_log(away, retry_interval=0)
    p = read_promotion(log, "staging", None, "b" * 40)
    assert p.unreadable
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert p.problem(now).startswith("cannot tell whether target bbbbbbb has passed staging: the release log could "
                                     "not be read (")
    log.close()


def test_the_judgement_itself() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    done = Passage("shop-staging-abc1234", "abc1234" + "0" * 33, Phase.DONE, True, now - timedelta(days=2))
    p = Promotion("staging", done.target_sha, timedelta(days=7), (done,))
    assert p.problem(now) is None and p.passed(now) == done
    assert p.problem(now + timedelta(days=6)) == (
        "target abc1234 has not passed staging: no closed, stable release of it there in the last 7d; its last "
        "there is shop-staging-abc1234, closed 8d 0h ago")
    unstable = Passage("shop-staging-abc1234.2", done.target_sha, Phase.DONE, True, now, ("layer-2",))
    assert not unstable.passed
    assert Promotion("staging", done.target_sha, None, (unstable,)).problem(now).endswith(
        "its last there is shop-staging-abc1234.2, closed with layer-2 not marked stable")
    nogo = Passage("shop-staging-def5678", "def5678" + "0" * 33, Phase.NO_GO, False)
    assert Promotion("staging", done.target_sha, None, (), last=nogo).problem(now) == (
        "target abc1234 has not passed staging: no closed, stable release of it there; staging's last is "
        "shop-staging-def5678, NO-GO")


@pytest.mark.parametrize("rule, message", [
    ('promote_from = "stagin"', "[environments.production] promote_from names unknown environment 'stagin'"),
    ('promote_within = "7d"', "[environments.production] promote_within needs promote_from"),
    ('promote_from = "staging"\npromote_within = "0s"', "promote_within must be longer than 0s"),
    ('promote_from = "production"', "promote_from comes back to production: production <- production"),
])
def test_the_runbook_refuses_a_rule_that_cannot_hold(demo: Demo, rule: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        promoting(demo, rule + "\n")
    assert message in str(e.value) and "environments" in str(e.value)


def test_a_cycle_of_environments_is_refused_once() -> None:
    with pytest.raises(ConfigError) as e:
        parse_runbook('[release]\nname = "s"\n[log]\npath = "x"\n[environments.prod]\npromote_from = "staging"\n'
                      '[environments.staging]\npromote_from = "prod"\n')
    assert str(e.value).count("comes back") == 1 and "prod <- staging <- prod" in str(e.value)


def test_entries_read_are_keyset_pages_by_environment_and_kind(demo: Demo) -> None:
    """What the evidence is read from: the GO entries of staging, then the candidates' own entries."""
    runbook, clock = promoting(demo), Clock()
    log = open_log(runbook)
    asked: list[LogFilter] = []

    class Watching(CountingLog):
        def page(self, flt: LogFilter = LogFilter(), *a: Any, **kw: Any) -> Any:
            asked.append(flt)
            return super().page(flt, *a, **kw)

        def entries(self, flt: LogFilter = LogFilter()) -> Any:
            asked.append(flt)
            return super().entries(flt)

    async def run() -> None:
        staging = await through_staging(runbook, log, clock)
        p = read_promotion(Watching(log), "staging", timedelta(days=7), staging.target.sha)
        assert p.passed(clock()) is not None
        assert asked[0].environment == "staging" and asked[0].kind == "decision.go"
        assert asked[1:] == [LogFilter(release_id=staging.release_id)]

    asyncio.run(run())
    log.close()
