"""One bounded HTTP request, shared by the http and smoke checks.

Everything that can go wrong on the wire (DNS, refused connections, TLS, timeouts, a server
that never finishes, a body that never ends) comes back as FetchFailed with a one-line reason,
never as an httpx exception. httpx is imported lazily: importing the core stays cheap.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import ssl
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.core.checks.admission import Admission
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.result import redact_url
from cockpit.runbook.textsafe import one_line

if TYPE_CHECKING:
    import httpx


class FetchFailed(Exception):
    """The request did not produce a complete answer; str() is the one-line reason."""

    def __init__(self, detail: str, data: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.data = data or {}


@dataclass
class Fetched:
    status_code: int
    reason: str
    headers: dict[str, str]
    body: bytes
    latency_ms: float
    url: str
    oversize: bool = False
    """The body went past max_bytes; `body` holds only its head."""


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    # Loading the CA bundle costs 50-250 ms; do it once per process, not once per client.
    if verify:
        import httpx  # startup: httpx loads with the first client

        return httpx.create_ssl_context()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def new_client(verify: bool = True, admission: Admission | None = None) -> httpx.AsyncClient:
    """A client for checks: no implicit redirects, one connection per admitted slot of an origin."""
    import httpx  # startup: httpx loads with the first client

    from cockpit.core.checks.pool import PoolPerOrigin  # startup: the pool imports httpx

    _quiet_urls()
    return httpx.AsyncClient(
        transport=PoolPerOrigin(verify, tls_context, admission),
        verify=verify,  # used only for proxies from the environment (HTTPS_PROXY...)
        follow_redirects=False,
        timeout=httpx.Timeout(10.0),
        headers={"User-Agent": "release-cockpit"},
    )


class _RedactUrls(logging.Filter):
    """httpx logs each request's URL (every hop of a redirect) at INFO: mask its credentials first."""

    def filter(self, record: logging.LogRecord) -> bool:
        import httpx  # startup: loaded already, since httpx is what logs

        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


@functools.cache
def _quiet_urls() -> None:
    logging.getLogger("httpx").addFilter(_RedactUrls())


@asynccontextmanager
async def client_for(ctx: CheckContext, verify: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client when it fits; else (none shared, or TLS verification off) a private one."""
    if verify and ctx.http is not None:
        yield ctx.http
        return
    client = new_client(verify=verify, admission=ctx.admission)
    try:
        yield client
    finally:
        await client.aclose()


def origin_of(url: str) -> Hashable | None:
    """The origin a request to `url` is admitted for (as the transport keys it); None if it has none."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    # Parsed once per scheme://host:port (thousands of checks share a handful of origins);
    # user:password@ is left out so no credential stays in the cache.
    authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return _origin_of(f"{scheme}://{authority}")


@functools.lru_cache(maxsize=1024)
def _origin_of(url: str) -> Hashable | None:
    import httpx  # startup: httpx loads with the first client

    from cockpit.core.checks.pool import origin_key  # startup: the pool imports httpx

    try:
        parsed = httpx.URL(url)
    except Exception:  # noqa: BLE001 - a bad URL fails in the check itself, with its reason
        return None
    return origin_key(parsed) if parsed.scheme in ("http", "https") and parsed.host else None


def _cause_chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen and len(seen) < 10:
        seen.append(node)
        node = node.__cause__ or node.__context__
    return seen


def describe_error(exc: BaseException, url: str, timeout_s: float) -> str:
    """A one-line reason a release owner understands for a failed request."""
    import httpx  # startup: httpx loads with the first client

    try:
        parsed = httpx.URL(url)
        where = f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
        host = parsed.host
    except Exception:  # noqa: BLE001 - the URL itself may be the problem
        where = host = url
    chain = _cause_chain(exc)
    text = " ".join(str(e) for e in chain)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS certificate of {where} not accepted: {one_line(e.verify_message or e)}"
        if isinstance(e, ssl.SSLError):
            return f"TLS handshake with {where} failed: {one_line(e.reason or e)}"
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting for a complete answer")
        return f"timed out after {timeout_s:g}s {phase} ({where})"
    for e in chain:
        if isinstance(e, socket.gaierror):
            return f"DNS lookup failed for {host}: {one_line(e.strerror or e)}"
        if isinstance(e, ConnectionRefusedError):
            return f"connection refused by {where} (nothing listening?)"
    lowered = text.lower()
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        return f"DNS lookup failed for {host}"
    if "connection refused" in lowered or "errno 111" in lowered:
        return f"connection refused by {where} (nothing listening?)"
    if "certificate" in lowered or "ssl" in lowered:
        return f"TLS error with {where}: {one_line(text)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} broke the HTTP protocol: {one_line(exc)}"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return f"cannot request {redact_url(url)!r}: {one_line(exc)}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {where}: {one_line(text) or type(exc).__name__}"
    return f"request to {where} failed: {type(exc).__name__}: {one_line(exc)}"


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
    max_bytes: int = 1_000_000,
    follow_redirects: bool = False,
) -> Fetched:
    """Request `url`, reading at most max_bytes of body, all within timeout_s; raise FetchFailed."""
    import httpx  # startup: httpx loads with the first client

    data = {"url": redact_url(url)}
    start = time.perf_counter()
    try:
        # asyncio.timeout bounds the whole exchange: a server that trickles a byte a
        # second never trips httpx's per-read timeout but must still fail the check.
        async with asyncio.timeout(timeout_s):
            request = client.build_request(method, url, headers=headers, timeout=httpx.Timeout(timeout_s))
            response = await client.send(request, stream=True, follow_redirects=follow_redirects)
            try:
                declared = response.headers.get("content-length", "")
                chunks: list[bytes] = []
                size = 0
                # HEAD announces the size of a body it does not send.
                oversize = method != "HEAD" and declared.isdigit() and int(declared) > max_bytes
                if not oversize and method != "HEAD":
                    async for chunk in response.aiter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > max_bytes:  # stop reading: the rest may never end
                            oversize = True
                            break
            finally:
                await response.aclose()
    except (httpx.HTTPError, OSError, TimeoutError, ssl.SSLError) as e:
        # httpx's messages may quote a redirect's URL, credentials and all.
        raise FetchFailed(redact_url(describe_error(e, url, timeout_s)), data) from None
    latency_ms = (time.perf_counter() - start) * 1000
    return Fetched(
        status_code=response.status_code,
        reason=response.reason_phrase,
        headers=dict(response.headers),
        body=b"".join(chunks),
        latency_ms=latency_ms,
        url=redact_url(str(response.url)),
        oversize=oversize,
    )
