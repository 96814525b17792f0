"""`http` evidence: status, latency budget and JSON expectations of one endpoint."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from cockpit.runbook.config import HttpCheck
from cockpit.core.checks.compare import dotted, matches, show
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.fetch import FetchFailed, client_for, fetch, origin_of
from cockpit.core.checks.result import Found, redact_url
from cockpit.runbook.textsafe import one_line
from cockpit.core.evidence import Status, cap_excerpt
from cockpit.runbook.placeholders import expand


_IDEMPOTENT = ("GET", "HEAD", "OPTIONS")


def origin(check: HttpCheck, ctx: CheckContext) -> Hashable | None:
    """The origin this check is admitted for (take waits for a slot of it before the clock starts)."""
    return origin_of(expand(check.url, ctx.placeholders()))


async def run(check: HttpCheck, ctx: CheckContext) -> Found:
    values = ctx.placeholders()
    url = expand(check.url, values)
    headers = {k: expand(v, values) for k, v in check.headers.items()}
    timeout_s = check.timeout.total_seconds()
    expected = check.expect_status if isinstance(check.expect_status, list) else [check.expect_status]
    first_ms: float | None = None
    async with client_for(ctx, verify=check.verify_tls) as client:
        async def once() -> Any:
            return await fetch(client, url, method=check.method, headers=headers, timeout_s=timeout_s,
                               max_bytes=check.max_bytes, follow_redirects=check.follow_redirects)

        try:
            got = await once()
        except FetchFailed as e:
            return Found(Status.FAIL, e.detail, data={"status_code": None, "latency_ms": None, **e.data})
        if (check.max_latency_ms is not None and got.latency_ms > check.max_latency_ms
                and got.status_code in expected and check.method.upper() in _IDEMPOTENT):
            # One sample over the budget may be a stall of this machine or a cold connection, not the
            # service: an idempotent request is measured once more, and both times are said.
            try:
                first_ms, got = got.latency_ms, await once()
            except FetchFailed:
                pass  # the first answer stands, and its time is judged

    data = {"status_code": got.status_code, "latency_ms": round(got.latency_ms, 1), "url": got.url}
    if first_ms is not None:
        data["first_latency_ms"] = round(first_ms, 1)
    excerpt = redact_url(cap_excerpt(got.body))  # a redirect's page often repeats its Location, token and all
    fail = lambda detail: Found(Status.FAIL, detail, excerpt, data)  # noqa: E731
    answered = f"HTTP {got.status_code} in {got.latency_ms:.0f} ms" + (
        f" (measured again: the first try took {first_ms:.0f} ms)" if first_ms is not None else "")

    if got.status_code not in expected:
        want = " or ".join(str(s) for s in expected)
        if 300 <= got.status_code < 400 and "location" in got.headers:
            where = one_line(redact_url(got.headers["location"]))
            hint = "" if check.follow_redirects else "; set follow_redirects = true to follow it"
            return fail(f"HTTP {got.status_code} redirect to {where} (expected {want}){hint}")
        reason = f" {one_line(got.reason, 60)}" if got.reason else ""
        kind = "server error " if got.status_code >= 500 else ""
        return fail(f"{kind}HTTP {got.status_code}{reason} (expected {want})")
    if got.oversize:
        return fail(f"{answered}: body larger than max_bytes ({check.max_bytes} bytes); not read further")
    if check.max_latency_ms is not None and got.latency_ms > check.max_latency_ms:
        return fail(f"{answered}: slower than the {check.max_latency_ms} ms budget")
    if check.json_expect:
        try:
            doc = json.loads(got.body)
        except (ValueError, UnicodeDecodeError):
            ctype = one_line(got.headers.get("content-type", "no content-type"), 60)
            return fail(f"{answered}, but the body is not JSON ({ctype}); JSON expectations cannot be checked")
        problems = []
        for path, want_value in check.json_expect.items():
            try:
                found = dotted(doc, path)
            except KeyError:
                problems.append(f"{path} missing")
                continue
            if not matches(found, want_value):
                problems.append(f"{path} is {one_line(show(found), 60)}, expected {show(want_value)}")
        if problems:
            return fail(f"{answered}: " + "; ".join(problems))
        return Found(Status.PASS, f"{answered}; JSON as expected ({', '.join(check.json_expect)})", excerpt, data)
    return Found(Status.PASS, answered, excerpt, data)
