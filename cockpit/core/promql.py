"""Asking Prometheus: one instant query, its answer made into one number (or why there is none).

The HTTP API's answer is untrusted text: an error message Prometheus sends back (bad PromQL, a query
timeout) is shown as it said it, made safe (one line, capped, secrets masked) — never as markup.
An empty result or NaN has no number: that is `inconclusive`, never a pass. The warnings a successful
answer carries (a partial answer from remote storage, say) are said with its value, made safe too:
the value is judged, and whoever reads the evidence sees what Prometheus said about it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from cockpit.core.checks.compare import show_number
from cockpit.core.checks.fetch import FetchFailed, fetch
from cockpit.runbook.textsafe import one_line

MAX_BYTES = 2_000_000  # a guardrail's answer is a few series; a runaway query is cut off, not read whole

AGGREGATES = {
    "max": max,
    "min": min,
    "sum": sum,
    "avg": lambda xs: sum(xs) / len(xs),
}


@dataclass(frozen=True)
class Answer:
    """What one query gave: a value, or none with the reason (`failed` when Prometheus could not answer)."""

    value: float | None
    detail: str
    failed: bool = False
    """True: the query itself failed (HTTP error, bad PromQL, timeout); False with no value: inconclusive."""
    data: dict[str, Any] = field(default_factory=dict)


def query_url(base: str, query: str) -> str:
    return f"{base.rstrip('/')}/api/v1/query?{urlencode({'query': query})}"


async def instant(client: Any, base: str, query: str, *, token: str | None = None, timeout_s: float = 10.0,
                  select: dict[str, str] | None = None, aggregate: str = "one") -> Answer:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        got = await fetch(client, query_url(base, query), headers=headers, timeout_s=timeout_s, max_bytes=MAX_BYTES)
    except FetchFailed as e:
        return Answer(None, f"Prometheus did not answer: {e.detail}", failed=True)
    if got.oversize:
        return Answer(None, f"Prometheus' answer is larger than {MAX_BYTES} bytes; narrow the query", failed=True)
    try:
        doc = json.loads(got.body)
    except (ValueError, UnicodeDecodeError):
        return Answer(None, f"Prometheus answered HTTP {got.status_code} without JSON "
                            f"({one_line(got.headers.get('content-type', 'no content-type'), 60)})", failed=True)
    if not isinstance(doc, dict) or doc.get("status") != "success":
        said = doc.get("error") if isinstance(doc, dict) else None
        kind = doc.get("errorType") if isinstance(doc, dict) else None
        words = one_line(str(said), 300) if said else "no error text"
        return Answer(None, f"Prometheus refused the query (HTTP {got.status_code}"
                            f"{', ' + one_line(str(kind), 40) if kind else ''}): {words}", failed=True)
    answer = judge_result(doc.get("data"), select or {}, aggregate)
    warned = _warnings(doc.get("warnings"))
    if not warned:
        return answer
    return replace(answer, detail=f"{answer.detail}; Prometheus warns: {'; '.join(warned)}",
                   data={**answer.data, "warnings": warned})


def _warnings(said: Any, most: int = 3) -> list[str]:
    """A success answer's `warnings`, each one safe line; the first few (a flood is cut, and says so)."""
    if not isinstance(said, list):
        return []
    lines = [one_line(str(w), 200) for w in said if str(w).strip()]
    return lines[:most] + ([f"and {len(lines) - most} more"] if len(lines) > most else [])


def judge_result(data: Any, select: dict[str, str], aggregate: str) -> Answer:
    """The `data` of a successful answer as one number (scalar, or a vector's series picked/aggregated)."""
    if not isinstance(data, dict):
        return Answer(None, "Prometheus' answer has no data", failed=True)
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return _number(_sample_value(result), "scalar", {"series": 1})
    if kind != "vector":
        return Answer(None, f"the query gives a {one_line(str(kind), 20)}; a guardrail needs a scalar or an "
                            "instant vector", failed=True)
    if not isinstance(result, list):
        return Answer(None, "Prometheus' vector is not a list", failed=True)
    series = [s for s in result if isinstance(s, dict) and _labels_match(s.get("metric"), select)]
    facts: dict[str, Any] = {"series": len(series)}
    if not series:
        chosen = f" matching {', '.join(f'{k}={v}' for k, v in select.items())}" if select else ""
        return Answer(None, f"no series{chosen}: Prometheus has no data for the query (yet)", data=facts)
    values = [_sample_value(s.get("value")) for s in series]
    numbers = [v for v in values if v is not None and not math.isnan(v)]
    if len(series) > 1 and aggregate == "one":
        return Answer(None, f"the query gives {len(series)} series; set aggregate (max, min, sum, avg) or "
                            "select one by its labels", failed=True, data=facts)
    if not numbers:
        return Answer(None, "the query's value is NaN (no traffic to divide by?)", data=facts)
    value = numbers[0] if aggregate == "one" else float(AGGREGATES[aggregate](numbers))
    how = "" if len(series) == 1 else f" ({aggregate} of {len(series)} series)"
    return _number(value, f"value{how}", facts)


def _number(value: float | None, what: str, facts: dict[str, Any]) -> Answer:
    if value is None:
        return Answer(None, "Prometheus' sample is not a number", failed=True, data=facts)
    if math.isnan(value):
        return Answer(None, "the query's value is NaN (no traffic to divide by?)", data=facts)
    return Answer(value, f"{what} {show_number(value)}", data={**facts, "value": value if math.isfinite(value)
                                                                else str(value)})


def _sample_value(sample: Any) -> float | None:
    if not (isinstance(sample, list) and len(sample) == 2 and isinstance(sample[1], str)):
        return None
    try:
        return float(sample[1])
    except ValueError:
        return None


def _labels_match(metric: Any, select: dict[str, str]) -> bool:
    return isinstance(metric, dict) and all(metric.get(k) == v for k, v in select.items())
