"""`prometheus` evidence: a PromQL instant query's value against the check's expectation.

An empty result (no series, NaN) is `inconclusive`: no data is never a pass. Prometheus' own
errors (bad PromQL, its timeouts, HTTP errors) fail the evidence with the text it sent, made safe.
"""

from __future__ import annotations

from collections.abc import Hashable

from cockpit.core import promql
from cockpit.core.checks.compare import matches, show
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.fetch import client_for, origin_of
from cockpit.core.checks.result import Found
from cockpit.core.evidence import Status
from cockpit.core.secrets import get_secret
from cockpit.runbook.config import PrometheusCheck
from cockpit.runbook.placeholders import expand


def _base(ctx: CheckContext) -> str:
    prom = ctx.runbook.prometheus
    assert prom is not None  # the runbook refuses prometheus checks without [prometheus]
    return expand(prom.url, ctx.placeholders())


def origin(check: PrometheusCheck, ctx: CheckContext) -> Hashable | None:
    return origin_of(_base(ctx))


async def run(check: PrometheusCheck, ctx: CheckContext) -> Found:
    prom = ctx.runbook.prometheus
    assert prom is not None
    token = get_secret(prom.token_secret) if prom.token_secret else None
    query = expand(check.query, ctx.placeholders(), promql=True)
    timeout_s = min(check.timeout, prom.timeout).total_seconds()
    async with client_for(ctx) as client:
        answer = await promql.instant(client, _base(ctx), query, token=token, timeout_s=timeout_s,
                                      select=check.select, aggregate=check.aggregate)
    data = {"query": query, **answer.data}
    if answer.failed:
        return Found(Status.FAIL, answer.detail, data=data)
    if answer.value is None:
        return Found(Status.INCONCLUSIVE, f"inconclusive: {answer.detail}", data=data)
    if check.expect == {} or matches(answer.value, check.expect):
        said = f" ({show(check.expect)})" if check.expect != {} else ""
        return Found(Status.PASS, f"{answer.detail}{said}", data=data)
    return Found(Status.FAIL, f"{answer.detail}, expected {show(check.expect)}", data=data)
