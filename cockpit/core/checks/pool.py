"""A transport with one connection pool per origin (imported lazily, with httpx).

httpcore scans every connection of a pool on each request and response; one pool holding
the connections of 50 services costs O(n^2) CPU (measured: a third of a take_all's time).
Per-origin pools keep that scan short. TLS settings are loaded only for https origins.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx


class PoolPerOrigin(httpx.AsyncBaseTransport):
    def __init__(self, verify: bool, tls_context: Callable[[bool], ssl.SSLContext]):
        self._verify = verify
        self._tls_context = tls_context
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is None:
            # Plain http never uses TLS: skip loading the CA bundle for it.
            tls = self._tls_context(self._verify if url.scheme == "https" else False)
            pool = self._pools[key] = _transport(tls)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _transport(tls: ssl.SSLContext | bool) -> httpx.AsyncHTTPTransport:
    """httpx's transport, its connection pool on plain asyncio (cockpit/core/checks/netbackend.py)."""
    import httpcore  # startup: httpcore loads with the first connection pool

    from cockpit.core.checks.netbackend import AsyncioBackend  # startup: it imports httpcore

    transport = httpx.AsyncHTTPTransport(verify=tls, limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    ssl_context = tls if isinstance(tls, ssl.SSLContext) else httpx.create_ssl_context(verify=tls)
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001 - httpx offers no other way to pick the backend
        ssl_context=ssl_context, max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0,
        network_backend=AsyncioBackend(),
    )
    return transport
