"""Watched windows: a stage's guardrails after its flip, as the log tells them (no Textual, no I/O).

A window opens when the stage's flags go on (`guardrail.opened`, with the baseline sampled just
before the flip). Whoever holds the environment's watch lease samples it every `interval` (core/watch.py)
and writes only what changes: the state or the count of failed samples (`guardrail.changed`), an
hourly summary, the breach and its action, the close. Any cockpit folds the same entries into the
same WindowState, so a window sampled on another machine shows here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cockpit.core import kinds
from cockpit.core.checks.compare import show, show_number
from cockpit.core.evidence import Evidence, Status
from cockpit.core.log.entry import parse_at

if TYPE_CHECKING:
    from cockpit.core.log.entry import Entry
    from cockpit.runbook.guardrails import GuardrailConfig

SPARK_POINTS = 60
"""Samples kept for the sparkline (and carried by each change and summary entry)."""

PASSING, FAILING, INCONCLUSIVE, PENDING = "passing", "failing", "inconclusive", "pending"


def window_key(stage: str, check: str) -> str:
    return f"{stage}/{check}"


@dataclass
class Sample:
    """One look at a guarded check, judged."""

    at: datetime
    verdict: str
    """passing | failing | inconclusive"""
    value: float | None
    detail: str


@dataclass
class WindowState:
    stage: str
    check: str
    opened_at: datetime
    until: datetime
    interval: timedelta
    failure_limit: int
    consecutive: bool
    on_breach: str
    limit_inconclusive: int | None = None
    """Inconclusive samples in a row that count as one failure (None: they never do)."""
    baseline: float | None = None
    baseline_detail: str = ""
    state: str = PENDING
    failures: int = 0
    inconclusive_run: int = 0
    last_value: float | None = None
    last_detail: str = ""
    last_at: datetime | None = None
    """When the last sample written to the log (a change or a summary) was taken."""
    samples: list[float | None] = field(default_factory=list)
    sample_count: int = 0
    breached_at: datetime | None = None
    breach_detail: str = ""
    acted: bool = False
    """The breach's action (the stage's flags off, or the alert) was carried out."""
    closed: str | None = None
    """clean | breached | stopped | overridden, once the window is over."""
    summarized_at: datetime | None = None
    limit_text: str = ""

    @property
    def key(self) -> str:
        return window_key(self.stage, self.check)

    @property
    def is_open(self) -> bool:
        return self.closed is None and self.breached_at is None

    def left(self, now: datetime) -> timedelta:
        return max(self.until - now, timedelta(0))

    @property
    def clean(self) -> bool:
        return self.closed == "clean"

    def to_row(self, now: datetime) -> dict[str, Any]:
        """What a screen or `--json` shows of the window."""
        return {"stage": self.stage, "check": self.check, "state": self.state, "failures": self.failures,
                "failure_limit": self.failure_limit, "last_value": self.last_value, "baseline": self.baseline,
                "left_s": int(self.left(now).total_seconds()), "closed": self.closed,
                "breached": self.breached_at is not None, "samples": list(self.samples)}


# -- judging one sample ---------------------------------------------------------------------------

def judge(ev: Evidence, rail: GuardrailConfig, baseline: float | None) -> Sample:
    """A sample's verdict: the check's own expectation, then the baseline conditions.

    A prometheus query that could not be asked (Prometheus away, bad PromQL) is inconclusive here, not
    a failure: the guardrail acts on what the metric says, and `inconclusive_limit` decides how long no
    answer may last. Other kinds fail as their evidence does."""
    value = _value(ev)
    if ev.status is Status.INCONCLUSIVE or ev.status is Status.ERROR or (
            ev.kind == "prometheus" and ev.status is Status.FAIL and value is None):
        return Sample(ev.taken_at, INCONCLUSIVE, value, ev.detail)
    if ev.status is not Status.PASS:
        return Sample(ev.taken_at, FAILING, value, ev.detail)
    if rail.relative and value is not None and baseline is not None:
        over = baseline_breach(value, baseline, rail)
        if over:
            return Sample(ev.taken_at, FAILING, value, over)
    return Sample(ev.taken_at, PASSING, value, ev.detail)


def baseline_breach(value: float, baseline: float, rail: GuardrailConfig) -> str | None:
    """Why `value` is too far above the baseline, or None. Any limit set that is passed fails it."""
    if rail.max_increase is not None and value - baseline > rail.max_increase:
        return f"{_n(value)} is {_n(value - baseline)} above the baseline {_n(baseline)} (at most +{_n(rail.max_increase)})"
    if rail.max_ratio is not None and baseline > 0 and value / baseline > rail.max_ratio:
        return f"{_n(value)} is {value / baseline:.2f}× the baseline {_n(baseline)} (at most {rail.max_ratio:g}×)"
    return None


def limits(rail: GuardrailConfig, expect: Any) -> str:
    """The guardrail's limits in words, for the screen and the breach entry."""
    parts = [show(expect)] if expect not in ({}, None) else []
    if rail.max_increase is not None:
        parts.append(f"≤ baseline + {_n(rail.max_increase)}")
    if rail.max_ratio is not None:
        parts.append(f"≤ {rail.max_ratio:g}× baseline")
    return " and ".join(parts) or "the check passes"


def sample_value(ev: Evidence) -> float | None:
    """The number a sample carries (a prometheus check's value), or None."""
    return _value(ev)


def _value(ev: Evidence) -> float | None:
    v = ev.data.get("value") if isinstance(ev.data, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _n(v: float) -> str:
    return show_number(v)


@dataclass(frozen=True)
class Step:
    """What one sample does to a window: the entry to write (None: nothing changed) and whether it breaches."""

    payload: dict[str, Any] | None
    breached: bool


def advance(w: WindowState, s: Sample) -> Step:
    """Fold a sample into the window's counters (in place) and say what must be written."""
    before = (w.state, w.failures)
    w.samples = (w.samples + [s.value])[-SPARK_POINTS:]
    w.sample_count += 1
    w.last_value, w.last_detail = s.value, s.detail
    if s.verdict == FAILING:
        w.failures += 1
        w.inconclusive_run = 0
    elif s.verdict == INCONCLUSIVE:
        w.inconclusive_run += 1
        if w.limit_inconclusive and w.inconclusive_run >= w.limit_inconclusive:
            w.failures += 1
            w.inconclusive_run = 0
    else:
        w.inconclusive_run = 0
        if w.consecutive:
            w.failures = 0
    w.state = s.verdict
    breached = w.failures >= w.failure_limit
    if (w.state, w.failures) == before and not breached:
        return Step(None, False)
    return Step(change_payload(w, s), breached)


def change_payload(w: WindowState, s: Sample) -> dict[str, Any]:
    return {"stage": w.stage, "check": w.check, "state": w.state, "failures": w.failures, "value": s.value,
            "detail": s.detail, "sampled_at": s.at.isoformat(), "samples": list(w.samples)}


# -- the fold -------------------------------------------------------------------------------------

def windows_of(state: Any) -> dict[str, WindowState]:
    ws = getattr(state, "windows", None)
    if ws is None:
        ws = {}
        state.windows = ws
    return ws


def _opened(s: Any, e: Entry) -> None:
    p = e.payload
    w = WindowState(
        stage=p.get("stage", ""), check=p.get("check", ""), opened_at=e.at,
        until=parse_at(p["until"]) if p.get("until") else e.at,
        interval=timedelta(seconds=float(p.get("interval_s", 30))), failure_limit=int(p.get("failure_limit", 3)),
        consecutive=bool(p.get("consecutive", True)), on_breach=str(p.get("on_breach", "alert")),
        baseline=p.get("baseline"), baseline_detail=str(p.get("baseline_detail", "")),
        limit_text=str(p.get("limits", "")), limit_inconclusive=p.get("inconclusive_limit"))
    windows_of(s)[w.key] = w


def _window(s: Any, e: Entry) -> WindowState | None:
    return windows_of(s).get(window_key(e.payload.get("stage", ""), e.payload.get("check", "")))


def _changed(s: Any, e: Entry) -> None:
    w = _window(s, e)
    if w is None:
        return
    p = e.payload
    w.state, w.failures = str(p.get("state", w.state)), int(p.get("failures", w.failures))
    w.last_value, w.last_detail = p.get("value"), str(p.get("detail", ""))
    w.samples = list(p.get("samples") or w.samples)[-SPARK_POINTS:]
    w.last_at = _at(p.get("sampled_at")) or e.at


def _summary(s: Any, e: Entry) -> None:
    w = _window(s, e)
    if w is None:
        return
    p = e.payload
    w.summarized_at = e.at
    w.samples = list(p.get("samples") or w.samples)[-SPARK_POINTS:]
    if "last" in p:
        w.last_value = p.get("last")
    w.last_at = _at(p.get("sampled_at")) or e.at


def _breached(s: Any, e: Entry) -> None:
    w = _window(s, e)
    if w is None:
        return
    w.breached_at, w.breach_detail = e.at, str(e.payload.get("detail", ""))
    w.state, w.failures = FAILING, int(e.payload.get("failures", w.failures))
    w.samples = list(e.payload.get("samples") or w.samples)[-SPARK_POINTS:]


def _acted(s: Any, e: Entry) -> None:
    w = _window(s, e)
    if w is not None:
        w.acted = True


def _closed(s: Any, e: Entry) -> None:
    w = _window(s, e)
    if w is not None:
        w.closed = str(e.payload.get("outcome", "clean"))


def _stage_over(s: Any, e: Entry) -> None:
    """A stage killed, aborted or marked stable stops its open windows (their verdict no longer matters)."""
    stage = e.payload.get("stage", "")
    for w in windows_of(s).values():
        if w.stage == stage and w.is_open:
            w.closed = "overridden" if e.kind == kinds.STAGE_STABLE else "stopped"


def _rolled_back(s: Any, e: Entry) -> None:
    """A rollback stops the windows it covers (release.py calls this once it has folded the start)."""
    for w in windows_of(s).values():
        if w.is_open and s.rollback.covers(w.stage):
            w.closed = "stopped"


def _at(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


REDUCERS = {
    kinds.GUARDRAIL_OPENED: _opened,
    kinds.GUARDRAIL_CHANGED: _changed,
    kinds.GUARDRAIL_SUMMARY: _summary,
    kinds.GUARDRAIL_BREACHED: _breached,
    kinds.GUARDRAIL_ACTED: _acted,
    kinds.GUARDRAIL_CLOSED: _closed,
}
"""Folded by core/release.py; stage.killed / stage.aborted / stage.stable and rollback.started also
stop a stage's windows (release.py calls `stage_over` / `rolled_back`)."""
stage_over = _stage_over
rolled_back = _rolled_back
