"""Unleash's Admin API (checked against unleash-server 8.2.0):

POST {url}/api/admin/projects/{p}/features/{f}/environments/{env}/on|off   200, empty body
GET  {url}/api/admin/projects/{p}/features/{f}      {"name", "environments": [{"name", "enabled"}, ...]}
GET  {url}/api/admin/projects/{p}/features          {"features": [{"name", "environments": [...]}]}
Header `Authorization: <admin token>` (no "Bearer"). Errors are {"name", "message", "details"};
a 403 whose permissions hold SKIP_CHANGE_REQUEST means change requests protect the environment.

Unleash has no idempotency key; on/off are idempotent by nature, so retries are safe.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from cockpit.core.flags.base import FlagAuthError, FlagError, FlagNotFound, FlagProtected, FlagState
from cockpit.core.flags.transport import MAX_BODY, Answer, HttpBackendBase, expect_bool, send


# A project's feature list can be long; 20 MB holds tens of thousands of flags.
_MAX_LIST = 20 * MAX_BODY


class UnleashFlagBackend(HttpBackendBase):
    name = "unleash"
    bulk_reads = True
    """list() is one request: batch flips read all states with it (see flip.flip_many)."""

    def __init__(self, url: str, token: str | None, *, project: str = "default", environment: str,
                 timeout: float = 10.0):
        super().__init__(url, token, timeout)
        self.project = project
        self.environment = environment

    def __repr__(self) -> str:  # never the token
        return f"UnleashFlagBackend({self.url!r}, project={self.project!r}, environment={self.environment!r})"

    def _authorization(self, token: str) -> str:
        return token  # Unleash's admin tokens go in as they are, without "Bearer"

    def _features(self) -> str:
        return f"{self.url}/api/admin/projects/{quote(self.project, safe='')}/features"

    def _feature(self, flag: str) -> str:
        if not flag:
            raise FlagError(flag, "a flag name cannot be empty")
        return f"{self._features()}/{quote(flag, safe='')}"

    async def list(self) -> list[FlagState]:
        what = f"listing flags of Unleash project {self.project!r}"
        a = await send(self.client, "GET", self._features(), flag=None, what=what, headers=self._headers(),
                       max_bytes=_MAX_LIST)
        self._raise_for(a, None, what)
        body = a.json(None, what)
        features = body.get("features") if isinstance(body, dict) else None
        if not isinstance(features, list):
            raise FlagError(None, f"{what}: Unleash's answer has no 'features' list")
        out = []
        for f in features:
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                enabled = self._env_enabled(f, f["name"], what)
                if enabled is not None:
                    out.append(FlagState(f["name"], enabled))
        return out

    async def get(self, flag: str) -> FlagState:
        what = f"reading flag {flag!r} in Unleash environment {self.environment!r}"
        a = await send(self.client, "GET", self._feature(flag), flag=flag, what=what, headers=self._headers())
        self._raise_for(a, flag, what)
        body = a.json(flag, what)
        enabled = self._env_enabled(body, flag, what)
        if enabled is None:
            raise FlagError(flag, f"{what}: the flag has no environment {self.environment!r} in project "
                                  f"{self.project!r}; check [flags] environment / flag_environment")
        return FlagState(flag, enabled)

    async def set(self, flag: str, enabled: bool, *, reason: str, actor: str,
                  idempotency_key: str | None = None) -> FlagState:
        # reason/actor: the Admin API has no field for them; the cockpit's own log records both.
        what = f"turning flag {flag!r} {'on' if enabled else 'off'} in Unleash environment {self.environment!r}"
        url = f"{self._feature(flag)}/environments/{quote(self.environment, safe='')}/{'on' if enabled else 'off'}"
        a = await send(self.client, "POST", url, flag=flag, what=what, headers=self._headers())
        self._raise_for(a, flag, what)
        return FlagState(flag, enabled)

    def _env_enabled(self, feature: Any, flag: str, what: str) -> bool | None:
        envs = feature.get("environments") if isinstance(feature, dict) else None
        if not isinstance(envs, list):
            raise FlagError(flag, f"{what}: Unleash's answer has no 'environments' list")
        for env in envs:
            if isinstance(env, dict) and env.get("name") == self.environment:
                return expect_bool(env.get("enabled"), flag, what)
        return None

    def _raise_for(self, a: Answer, flag: str | None, what: str) -> None:
        if 200 <= a.status < 300:
            return
        said = a.message()
        said = f" (Unleash said: {said})" if said else ""
        if a.status == 401:
            raise FlagAuthError(flag, f"{what}: Unleash refused the token (HTTP 401){said}; store a valid admin "
                                      "API token with `cockpit secrets set <[flags] token_secret>`", status=401)
        if a.status == 403:
            if _change_request_required(a):
                raise FlagProtected(
                    flag,
                    f"{what}: Unleash requires a change request in environment {self.environment!r} "
                    "(HTTP 403, SKIP_CHANGE_REQUEST permission missing). The cockpit cannot bypass it: open "
                    f"a change request for {flag!r} in Unleash and have it approved and applied, or flip it "
                    "in an environment without change requests. Nothing was changed.",
                    status=403)
            raise FlagAuthError(flag, f"{what}: the token may not do this (HTTP 403){said}; use an admin API "
                                      "token (client/backend tokens cannot flip flags)", status=403)
        if a.status == 404:
            if flag is None:
                raise FlagNotFound(None, f"{what}: HTTP 404{said}; check [flags] url and project", status=404)
            raise FlagNotFound(flag, f"{what}: HTTP 404{said}; check the flag name, [flags] project and "
                                     "environment", status=404)
        if a.status == 409:
            raise FlagError(flag, f"{what}: Unleash refused it as a conflict (HTTP 409){said}", status=409)
        raise FlagError(flag, f"{what}: unexpected HTTP {a.status} from Unleash{said}", status=a.status)


def _change_request_required(a: Answer) -> bool:
    try:
        body = json.loads(a.text)
    except ValueError:
        return "SKIP_CHANGE_REQUEST" in a.text
    if isinstance(body, dict):
        perms = body.get("permissions")
        if isinstance(perms, list) and "SKIP_CHANGE_REQUEST" in perms:
            return True
        msg = body.get("message")
        return isinstance(msg, str) and ("SKIP_CHANGE_REQUEST" in msg or "change request" in msg.lower())
    return False
