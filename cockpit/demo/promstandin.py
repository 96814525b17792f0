"""A stand-in for Prometheus, for `cockpit demo` on a machine without the `prometheus` binary.

It is NOT Prometheus and says so: it answers `GET|POST {target}/_demo/prometheus/api/v1/query` for
the demo runbook's own queries only (the QUERIES table; a test holds it to cockpit/demo/demo.toml),
computed from the demo target's registry, with a warning in every answer. Any other query gets
Prometheus' error shape, 400 bad_data. Install prometheus for the real one (cockpit/demo/prometheus.py
starts it when it is on PATH).

Rates are taken over the target's own once-a-second points of its counters (RequestMetrics.history)
as (increase of errors) / (increase of requests) over the window: no extrapolation, no scrape jitter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from cockpit.demo.metrics import RequestMetrics

PREFIX = "/_demo/prometheus"
"""Where the demo target serves the stand-in; the demo runbook's [prometheus] url points here without
a real Prometheus."""

NOTE = ("stand-in for Prometheus (cockpit demo): it answers only the demo runbook's queries; "
        "install prometheus for the real one (apt-get install prometheus)")


def _error_ratio(window_s: float) -> Callable[[RequestMetrics], float | None]:
    def ratio(m: RequestMetrics) -> float | None:
        now = time.monotonic()
        total, errors = m.totals()
        history = list(m.history)
        # the newest point at least `window_s` old, or the oldest one (the counters' start, at 0)
        start = next((p for p in reversed(history) if p[0] <= now - window_s), history[0])
        seen = total - start[1]
        if not seen:   # just started: no data yet; later: no traffic to divide by, as Prometheus says NaN
            return None if now - start[0] < 1.0 else math.nan
        return (errors - start[2]) / seen
    return ratio


ERROR_RATIO = 'sum(rate(http_requests_total{code=~"5.."}[30s])) / sum(rate(http_requests_total[30s]))'
"""The demo runbook's error-rate check (layer-2's guardrail)."""

QUERIES: dict[str, Callable[[RequestMetrics], float | None]] = {
    ERROR_RATIO: _error_ratio(30.0),
}
"""The demo runbook's queries, exactly as cockpit/demo/demo.toml writes them."""


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": "error", "errorType": kind, "error": f"{message} ({NOTE})"}


def answer(metrics: RequestMetrics, path: str, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
    """The stand-in's answer to a request for `path` (under PREFIX) with its query/form parameters."""
    if path.rstrip("/") != "/api/v1/query":
        return _error(404, "not_found", f"the stand-in serves only {PREFIX}/api/v1/query")
    queries = params.get("query") or []
    if len(queries) != 1:
        return _error(400, "bad_data", "exactly one query parameter is required")
    query = queries[0]
    if "time" in params:
        try:
            at = float(params["time"][0])
        except ValueError:
            return _error(400, "bad_data", "time must be a Unix timestamp")
        if abs(at - time.time()) > 5:
            return _error(400, "bad_data", "the stand-in evaluates queries at the current time only")
    compute = QUERIES.get(query)
    if compute is None:
        return _error(400, "bad_data", f"the stand-in does not know the query {query[:200]!r}")
    value = compute(metrics)
    result = [] if value is None else [{"metric": {}, "value": [round(time.time(), 3), _text(value)]}]
    return 200, {"status": "success", "data": {"resultType": "vector", "result": result}, "warnings": [NOTE]}


def _text(v: float) -> str:
    """A sample value as Prometheus writes it (NaN, +Inf, or the shortest exact repr)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


__all__ = ["ERROR_RATIO", "NOTE", "PREFIX", "QUERIES", "answer"]
