"""Taking evidence: one module per kind (http, smoke, git, command, file, manual).

`take` never raises: whatever goes wrong becomes Evidence with a clear detail, so a cutover
screen never shows a traceback. `take_all` takes every check at once, as far as admission
(admission.py) lets them run: a bounded number per origin and overall, the rest waiting their
turn. A check's clock starts when it is admitted, so its timeout is never spent in that queue.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
import traceback
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from cockpit.core.checks.admission import Admission, Limits
from cockpit.core.checks.context import CheckContext, Target
from cockpit.core.checks.fetch import new_client
from cockpit.core.checks.result import Found, redact_url
from cockpit.runbook.placeholders import PlaceholderError
from cockpit.runbook.textsafe import one_line
from cockpit.core.evidence import Evidence, Status, cap_excerpt, utcnow
from cockpit.core.secrets import MissingSecret

if TYPE_CHECKING:
    import httpx

    from cockpit.runbook.config import CheckConfig

__all__ = ["Admission", "CheckContext", "Limits", "Target", "take", "take_all"]

log = logging.getLogger(__name__)

# Kinds that enforce check.timeout themselves (to report what they saw and clean up) get a
# little grace before the backstop below cuts them off.
_SELF_TIMED = {"http", "smoke", "command", "prometheus"}
_GRACE_S = 1.0


def _runner(kind: str) -> Callable[..., object]:
    # Imported on first use: keeps `import cockpit.core.checks` cheap and free of cycles.
    return importlib.import_module(f"cockpit.core.checks.{kind}").run  # type: ignore[no-any-return]


def _origin(check: CheckConfig, ctx: CheckContext) -> Hashable | None:
    """The origin a kind says the check will ask (http, smoke from a URL); None for the rest."""
    origin = getattr(importlib.import_module(f"cockpit.core.checks.{check.kind}"), "origin", None)
    if origin is None:
        return None
    try:
        return origin(check, ctx)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - e.g. a placeholder without a value: run() reports it
        return None


async def take(check: CheckConfig, ctx: CheckContext) -> Evidence:
    """Take one check's evidence. Never raises (cancellation apart): failures are evidence too.

    With an admission in `ctx`, waits for its turn first; the check's time starts after that."""
    if ctx.admission is None:
        return await _take(check, ctx)
    async with ctx.admission.admit(_origin(check, ctx)):
        return await _take(check, ctx)


async def _take(check: CheckConfig, ctx: CheckContext) -> Evidence:
    start = time.perf_counter()
    timeout_s = check.timeout.total_seconds()
    try:
        async with asyncio.timeout(timeout_s + (_GRACE_S if check.kind in _SELF_TIMED else 0)):
            found = await _runner(check.kind)(check, ctx)  # type: ignore[misc]
        assert isinstance(found, Found)
    except TimeoutError:
        found = Found(Status.FAIL, f"timed out after {timeout_s:g}s")
    except Exception as e:  # noqa: BLE001 - the point of take(): no exception escapes
        found = Found(Status.ERROR, _explain(e))
        if not _expected(e):  # the traceback may quote the check's URL: masked like the detail
            log.warning("check %s raised: %s", check.id, redact_url("".join(traceback.format_exception(e))))
    duration_ms = (time.perf_counter() - start) * 1000
    return Evidence(
        check_id=check.id,
        kind=check.kind,
        status=found.status,
        detail=found.detail,
        excerpt=cap_excerpt(found.excerpt),
        duration_ms=duration_ms,
        taken_at=found.taken_at or utcnow(),
        blocking=check.blocking,
        data=found.data,
    )


async def take_all(
    checks: Iterable[CheckConfig],
    ctx: CheckContext,
    on_result: Callable[[Evidence], None] | None = None,
) -> list[Evidence]:
    """Take all checks concurrently; `on_result` sees each as it lands; results in `checks` order."""
    checks = list(checks)
    admission = ctx.admission or Admission()
    # The kinds' modules (httpx, gitpython...) and the HTTP client (its TLS context) are made in a
    # thread: the first take would otherwise hold a screen's event loop for ~0.1-0.2 s.
    owned = await asyncio.to_thread(_prepare, checks, ctx.http is None, admission)
    ctx = replace(ctx, admission=admission, http=owned or ctx.http)

    async def one(check: CheckConfig) -> Evidence:
        evidence = await take(check, ctx)
        if on_result is not None:
            try:
                on_result(evidence)
            except Exception:  # noqa: BLE001 - a broken progress line must not lose evidence
                log.warning("on_result callback failed for %s", check.id, exc_info=True)
        return evidence

    try:
        return list(await asyncio.gather(*(one(c) for c in checks)))
    finally:
        if owned is not None:
            await owned.aclose()


def _prepare(checks: list[CheckConfig], need_client: bool, admission: Admission) -> httpx.AsyncClient | None:
    """Import each kind's runner; a shared HTTP client when a check may need one."""
    for kind in {c.kind for c in checks}:
        _runner(kind)
    if need_client and any(_uses_http(c) for c in checks):
        return new_client(admission=admission)
    return None


def _uses_http(check: CheckConfig) -> bool:
    # A smoke source may be a URL only after placeholders are filled in; a client is cheap.
    return check.kind in ("http", "smoke", "prometheus")


def _expected(e: Exception) -> bool:
    return isinstance(e, (PlaceholderError, MissingSecret))


def _explain(e: Exception) -> str:
    if isinstance(e, PlaceholderError):
        return f"cannot fill in the check: {one_line(e)}"
    if isinstance(e, MissingSecret):
        return one_line(e)
    return f"the check could not run: {type(e).__name__}: {one_line(redact_url(str(e)))}"
