"""A transport with one connection per admitted slot of each origin (imported lazily, with httpx).

httpcore's connection pool rescans every queued request against every connection on each
request and each close: 500 checks on one origin spent 71% of their time there, and 1,000 all
timed out while queued. Here nothing queues inside httpcore: a check is admitted to a numbered
slot of its origin before it starts (admission.py), and the slot's own connection serves it,
found by number. Requests sent without a slot of their origin (a followed redirect to another
origin) take one from that origin's lane here, given back when the answer is closed.
TLS settings are loaded only for https origins.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import httpcore
import httpx

from cockpit.core.checks.admission import Admission, current_ticket
from cockpit.core.checks.netbackend import AsyncioBackend

OriginKey = tuple[bytes, bytes, int | None]
_BACKEND = AsyncioBackend()
KEEPALIVE_S = 5.0


def origin_key(url: httpx.URL) -> OriginKey:
    """What admission and the transport both call an origin (httpx drops default ports)."""
    return (url.raw_scheme, url.raw_host, url.port)


class PoolPerOrigin(httpx.AsyncBaseTransport):
    def __init__(self, verify: bool, tls_context: Callable[[bool], ssl.SSLContext],
                 admission: Admission | None = None):
        self._verify = verify
        self._tls_context = tls_context
        self._admission = admission or Admission()
        self._pools: dict[OriginKey, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = origin_key(request.url)
        pool = self._pools.get(key)
        if pool is None:
            # Plain http never uses TLS: skip loading the CA bundle for it.
            tls = self._tls_context(self._verify if request.url.scheme == "https" else False)
            pool = self._pools[key] = _transport(_OriginSlots(key, self._admission, tls), tls)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _transport(slots: _OriginSlots, tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's transport (it maps httpcore's errors and streams), sending through the slots."""
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=httpx.Limits(max_connections=1))
    transport._pool = slots  # type: ignore[assignment]  # noqa: SLF001 - httpx offers no other way in
    return transport


class _OriginSlots:
    """httpcore's pool interface for one origin: a request goes to its slot's own connection.

    A slot serves one check at a time, so its connection is idle whenever a request comes: no
    queue, no scan, and none of a pool's bookkeeping (a third of the client's CPU per request)."""

    def __init__(self, key: OriginKey, admission: Admission, tls: ssl.SSLContext):
        self._key, self._admission, self._tls = key, admission, tls
        self._origin = admission.origin(key)
        self._origin.on_quiet.append(self.aclose)
        self._connections: dict[int, httpcore.AsyncHTTPConnection] = {}

    async def _send(self, slot: int, request: httpcore.Request) -> httpcore.Response:
        connection = self._connections.get(slot)
        if connection is not None and (connection.is_closed() or connection.has_expired()):
            await connection.aclose()  # the server hung up, a request was cut off, or keep-alive ran out
            connection = None
        if connection is None:
            connection = self._connections[slot] = self._connect(request)
        try:
            return await connection.handle_async_request(request)
        except httpcore.ConnectionNotAvailable:  # closed between the look above and its use: once more, fresh
            await connection.aclose()
            connection = self._connections[slot] = self._connect(request)
            return await connection.handle_async_request(request)

    def _connect(self, request: httpcore.Request) -> httpcore.AsyncHTTPConnection:
        return httpcore.AsyncHTTPConnection(origin=request.url.origin, ssl_context=self._tls,
                                            keepalive_expiry=KEEPALIVE_S, network_backend=_BACKEND)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        ticket = current_ticket()
        if ticket is not None and ticket.admission is self._admission and ticket.origin == self._key:
            return await self._send(ticket.slot, request)
        await self._origin.lane.acquire()
        slot = self._origin.take_slot()

        async def release() -> None:
            await self._origin.leave(slot)

        try:
            response = await self._send(slot, request)
        except BaseException:
            await release()
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_ReleaseOnClose(response.stream, release), extensions=response.extensions)

    async def aclose(self) -> None:
        """Close the connections (when the client closes, or when the origin has no check left)."""
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            await connection.aclose()

    async def __aenter__(self) -> _OriginSlots:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _ReleaseOnClose:
    """A response body that gives its slot back once closed (httpx always closes it)."""

    def __init__(self, stream: object, release: Callable[[], Awaitable[None]]):
        self._stream, self._release = stream, release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # type: ignore[attr-defined, no-any-return]

    async def aclose(self) -> None:
        release, self._release = self._release, None  # type: ignore[assignment]
        try:
            if hasattr(self._stream, "aclose"):
                await self._stream.aclose()
        finally:
            if release is not None:
                await release()
