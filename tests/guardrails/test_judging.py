"""A guardrail's arithmetic: one sample judged (expectation, baseline), a window's count, a breach.

Pure functions on Evidence as the prometheus kind makes it; the sampling itself runs against a real
Prometheus in test_watch.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.core import guardrail
from cockpit.core.evidence import Evidence, Status
from cockpit.runbook.guardrails import GuardrailConfig

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def ev(status: Status, value: float | None, detail: str = "") -> Evidence:
    data = {"query": "q"} | ({"value": value} if value is not None else {})
    return Evidence("err", "prometheus", status, detail or f"value {value}", data=data, taken_at=T0)


def window(rail: GuardrailConfig, baseline: float | None = None) -> guardrail.WindowState:
    return guardrail.WindowState(stage="s", check="err", opened_at=T0, until=T0 + rail.window, interval=rail.interval,
                                 failure_limit=rail.failure_limit, consecutive=rail.consecutive,
                                 on_breach=rail.on_breach, baseline=baseline,
                                 limit_inconclusive=rail.inconclusive_limit)


def test_a_value_already_high_before_the_flip_does_not_fail_a_relative_guardrail() -> None:
    rail = GuardrailConfig(check="err", max_increase=0.02)
    assert guardrail.judge(ev(Status.PASS, 0.31), rail, baseline=0.30).verdict == guardrail.PASSING
    rose = guardrail.judge(ev(Status.PASS, 0.35), rail, baseline=0.30)
    assert rose.verdict == guardrail.FAILING
    assert "above the baseline 0.3" in rose.detail


def test_max_ratio_compares_with_the_baseline_and_a_zero_baseline_uses_the_increase_only() -> None:
    rail = GuardrailConfig(check="lat", max_ratio=1.5)
    assert guardrail.judge(ev(Status.PASS, 0.29), rail, baseline=0.2).verdict == guardrail.PASSING
    assert guardrail.judge(ev(Status.PASS, 0.31), rail, baseline=0.2).verdict == guardrail.FAILING
    assert guardrail.judge(ev(Status.PASS, 5.0), rail, baseline=0.0).verdict == guardrail.PASSING


def test_no_data_and_an_unreachable_prometheus_are_inconclusive_not_failures() -> None:
    rail = GuardrailConfig(check="err")
    assert guardrail.judge(ev(Status.INCONCLUSIVE, None), rail, None).verdict == guardrail.INCONCLUSIVE
    assert guardrail.judge(ev(Status.FAIL, None, "Prometheus did not answer"), rail, None).verdict == guardrail.INCONCLUSIVE
    assert guardrail.judge(ev(Status.FAIL, 0.9, "value 0.9, expected < 0.05"), rail, None).verdict == guardrail.FAILING


def test_consecutive_failures_breach_at_the_limit_and_a_pass_starts_the_count_again() -> None:
    rail = GuardrailConfig(check="err", failure_limit=3, consecutive=True)
    w = window(rail)
    fail, ok = guardrail.Sample(T0, guardrail.FAILING, 0.5, "bad"), guardrail.Sample(T0, guardrail.PASSING, 0.0, "ok")
    steps = [guardrail.advance(w, s) for s in (fail, fail, ok, fail, fail)]
    assert [s.breached for s in steps] == [False] * 5
    assert w.failures == 2
    assert guardrail.advance(w, ok).payload is not None  # failing -> passing is a change: written
    assert guardrail.advance(w, ok).payload is None      # passing -> passing: nothing to write
    for _ in range(2):
        assert not guardrail.advance(w, fail).breached
    last = guardrail.advance(w, fail)
    assert last.breached and w.failures == 3


def test_counted_failures_need_not_follow_each_other_when_not_consecutive() -> None:
    rail = GuardrailConfig(check="err", failure_limit=2, consecutive=False)
    w = window(rail)
    fail, ok = guardrail.Sample(T0, guardrail.FAILING, 0.5, "bad"), guardrail.Sample(T0, guardrail.PASSING, 0.0, "ok")
    assert not guardrail.advance(w, fail).breached
    assert not guardrail.advance(w, ok).breached
    assert guardrail.advance(w, fail).breached


def test_inconclusive_runs_count_as_failures_only_with_a_limit() -> None:
    nodata = guardrail.Sample(T0, guardrail.INCONCLUSIVE, None, "no series")
    plain = window(GuardrailConfig(check="err", failure_limit=1))
    assert not any(guardrail.advance(plain, nodata).breached for _ in range(10))
    limited = window(GuardrailConfig(check="err", failure_limit=1, inconclusive_limit=3))
    assert [guardrail.advance(limited, nodata).breached for _ in range(3)] == [False, False, True]


def test_the_sparkline_keeps_the_last_points_only() -> None:
    w = window(GuardrailConfig(check="err"))
    for i in range(guardrail.SPARK_POINTS + 15):
        guardrail.advance(w, guardrail.Sample(T0, guardrail.PASSING, float(i), "ok"))
    assert len(w.samples) == guardrail.SPARK_POINTS and w.samples[-1] == guardrail.SPARK_POINTS + 14


def test_a_window_shorter_than_its_interval_is_refused() -> None:
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError, match="at least one interval"):
        GuardrailConfig(check="err", interval="1m", window="30s")
    assert GuardrailConfig(check="err", window="3d").window == timedelta(days=3)
