"""The generic flag API of ARCHITECTURE §5 (a contract; the demo target serves it).

GET  {url}/flags           200 {"flags": [{"name", "enabled"}]}
GET  {url}/flags/{name}    200 {"name", "enabled"} | 404
PUT  {url}/flags/{name}    {"enabled", "reason", "actor"}; Authorization: Bearer; Idempotency-Key
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from cockpit.core.flags.base import FlagAuthError, FlagError, FlagNotFound, FlagState
from cockpit.core.flags.transport import MAX_BODY, Answer, HttpBackendBase, expect_bool, send



class HttpFlagBackend(HttpBackendBase):
    name = "http"
    bulk_reads = True
    """list() is one request: batch flips read all states with it (see flip.flip_many)."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 10.0, max_bytes: int = MAX_BODY):
        super().__init__(url, token, timeout)
        self.max_bytes = max_bytes

    def __repr__(self) -> str:  # never the token
        return f"HttpFlagBackend({self.url!r})"

    def _flag_url(self, flag: str) -> str:
        if not flag:
            raise FlagError(flag, "a flag name cannot be empty")
        return f"{self.url}/flags/{quote(flag, safe='')}"

    async def list(self) -> list[FlagState]:
        what = "listing flags"
        a = await send(self.client, "GET", f"{self.url}/flags", flag=None, what=what, headers=self._headers(),
                       max_bytes=self.max_bytes)
        _raise_for(a, None, what)
        body = a.json(None, what)
        items = body.get("flags") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise FlagError(None, f"{what}: the flag API's answer has no 'flags' list")
        out = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise FlagError(None, f"{what}: an entry of 'flags' has no 'name'")
            out.append(FlagState(item["name"], expect_bool(item.get("enabled"), item["name"], what)))
        return out

    async def get(self, flag: str) -> FlagState:
        what = f"reading flag {flag!r}"
        a = await send(self.client, "GET", self._flag_url(flag), flag=flag, what=what, headers=self._headers(),
                       max_bytes=self.max_bytes)
        _raise_for(a, flag, what)
        return _state(a, flag, what)

    async def set(self, flag: str, enabled: bool, *, reason: str, actor: str,
                  idempotency_key: str | None = None) -> FlagState:
        what = f"turning flag {flag!r} {'on' if enabled else 'off'}"
        headers = {**self._headers(), "Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        a = await send(self.client, "PUT", self._flag_url(flag), flag=flag, what=what, headers=headers,
                       body={"enabled": enabled, "reason": reason, "actor": actor}, max_bytes=self.max_bytes)
        _raise_for(a, flag, what)
        return _state(a, flag, what)


def _state(a: Answer, flag: str, what: str) -> FlagState:
    body = a.json(flag, what)
    if not isinstance(body, dict):
        raise FlagError(flag, f"{what}: the flag API's answer is not a JSON object")
    return FlagState(flag, expect_bool(body.get("enabled"), flag, what))


def _raise_for(a: Answer, flag: str | None, what: str) -> None:
    """Map the §5 status codes to errors that say what to do (5xx were mapped by `send`)."""
    if a.status == 200:
        return
    said = a.message()
    said = f" (the server said: {said})" if said else ""
    if a.status == 401:
        raise FlagAuthError(flag, f"{what}: the flag API refused the token (HTTP 401){said}; check the "
                                  "[flags] token_secret entry (`cockpit secrets set NAME`)", status=401)
    if a.status == 403:
        raise FlagAuthError(flag, f"{what}: the token may not do this (HTTP 403){said}; use a token with "
                                  "write permission on flags", status=403)
    if a.status == 404:
        raise FlagNotFound(flag, f"{what}: the flag API has no flag {flag!r} (HTTP 404); check the name "
                                 "in the runbook" if flag else f"{what}: HTTP 404 — is [flags] url right?",
                           status=404)
    if a.status == 409:
        raise FlagError(flag, f"{what}: the flag API refused it as a conflict (HTTP 409){said}", status=409)
    raise FlagError(flag, f"{what}: unexpected HTTP {a.status} from the flag API{said}", status=a.status)
