"""HTTP plumbing shared by the http and unleash backends: bounded reads, errors mapped to FlagError.

Remote text is untrusted: it is cut short, stripped of control characters (no terminal escape
sequences) and scrubbed of secrets before it can reach a message.
"""

from __future__ import annotations

import json
import ssl
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from cockpit.core.flags.base import FlagError, FlagUnavailable
from cockpit.core.secrets import redact
from cockpit.runbook.textsafe import one_line

if TYPE_CHECKING:
    import httpx

MAX_BODY = 1_000_000
"""A flag answer is a few hundred bytes; anything this large is not a flag API talking."""

def excerpt(text: str, limit: int = 200) -> str:
    """Remote text made safe to show (textsafe's one policy: escaped, one line, short), no secrets."""
    return one_line(redact(text), limit)


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    def json(self, flag: str | None, what: str) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            raise FlagError(flag, f"{what}: the flag API answered HTTP {self.status} with a body that is "
                                  f"not JSON: {excerpt(self.text)!r}", status=self.status) from None

    def message(self) -> str:
        """The server's own words, when it sent some: Unleash's {"message"}, the demo's {"error"}."""
        try:
            body = json.loads(self.text)
        except ValueError:
            return excerpt(self.text)
        if isinstance(body, dict):
            for key in ("message", "error", "detail"):
                if isinstance(body.get(key), str):
                    return excerpt(body[key])
            details = body.get("details")
            if isinstance(details, list) and details and isinstance(details[0], dict):
                return excerpt(str(details[0].get("message", "")))
        return excerpt(self.text)


# Optional imports httpx and httpcore attempt and carry on without: httpx's command-line tool (click, rich,
# pygments) and httpcore's trio support. A flag client on asyncio uses neither, and together they are
# about 40 ms of a kill switch's start when installed.
_UNUSED_BY_FLAG_CLIENTS = ("httpx._main", "trio")


def import_httpx() -> ModuleType:
    """httpx, loaded without the optional modules above when this process loads it first."""
    if "httpx" in sys.modules:
        return sys.modules["httpx"]
    kept_out = [m for m in _UNUSED_BY_FLAG_CLIENTS if m not in sys.modules]
    for m in kept_out:
        sys.modules[m] = None  # type: ignore[assignment]  # None makes `import m` raise ImportError
    try:
        # startup: httpx loads with the first client; httpcore with it (httpx itself would only at the client)
        import httpcore  # noqa: F401
        import httpx
    finally:
        for m in kept_out:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]  # later imports of them work as usual
    return httpx


def tls_for(url: str) -> ssl.SSLContext | bool:
    """httpx's `verify` for a client of `url`: the default CA bundle, except for plain http with no proxy.

    Loading the bundle costs 20-250 ms and such a client never uses it (redirects are not followed), so it
    gets a context that loads nothing and, should it ever be used, accepts no certificate."""
    from urllib.request import getproxies  # startup: loaded already by httpx, which reads proxies the same way

    if url[:7].lower() == "http://" and not getproxies():
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def make_client(timeout: float, url: str) -> httpx.AsyncClient:
    httpx = import_httpx()
    # Redirects are not followed: a flag API that redirects a PUT is misconfigured, and following
    # would resend the token to wherever it points.
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False, verify=tls_for(url))


async def send(client: httpx.AsyncClient, method: str, url: str, *, flag: str | None, what: str,
               headers: dict[str, str], body: Any = None, max_bytes: int = MAX_BODY) -> Answer:
    """One request; transport failures and 5xx become FlagUnavailable (retryable), huge bodies FlagError."""
    import httpx  # startup: httpx loads with the first client

    try:
        async with client.stream(method, url, headers=headers, json=body) as r:
            declared = r.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FlagError(flag, f"{what}: the flag API answered with {int(declared)} bytes "
                                      f"(more than {max_bytes}); not a flag answer", status=r.status_code)
            data = bytearray()
            async for chunk in r.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise FlagError(flag, f"{what}: the flag API's answer exceeds {max_bytes} bytes; "
                                          "not a flag answer", status=r.status_code)
            text = data.decode("utf-8", errors="replace")
            answer = Answer(r.status_code, text)
    except httpx.TimeoutException:
        raise FlagUnavailable(flag, f"{what}: the flag API did not answer in time", retryable=True) from None
    except httpx.TransportError as e:
        raise FlagUnavailable(flag, f"{what}: cannot reach the flag API ({type(e).__name__}: "
                                    f"{excerpt(str(e))})", retryable=True) from None
    if answer.status >= 500:
        raise FlagUnavailable(flag, f"{what}: the flag API failed with HTTP {answer.status}: {answer.message()}",
                              status=answer.status, retryable=True)
    return answer


def expect_bool(value: Any, flag: str | None, what: str) -> bool:
    if not isinstance(value, bool):
        raise FlagError(flag, f"{what}: the flag API's answer has no boolean 'enabled' (got {excerpt(repr(value))})")
    return value


class HttpBackendBase:
    """What the http and unleash backends share: a lazily made client, headers, closing."""

    def __init__(self, url: str, token: str | None, timeout: float):
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(self.timeout, self.url)
        return self._client

    def _authorization(self, token: str) -> str:
        return f"Bearer {token}"

    def _headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self._token:
            h["Authorization"] = self._authorization(self._token)
        return h

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
