"""What a kind module hands back; `take` turns it into Evidence (id, kind, timing, blocking)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.core.evidence import Status

# The scheme's length is bounded so that remote text (`a.a.a.a...`) cannot make this quadratic.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,31}://)[^/@\s]+@")
# Query or fragment parameters that carry credentials: a signed redirect (?token=, X-Amz-Signature=,
# sig=, #access_token=) would otherwise put a working credential on the screen and in the log.
# Names are matched in Python, not in the pattern: remote text reaches this, and a pattern with
# alternatives between two open-ended runs backtracks quadratically on `?token?token...`.
_PARAM = re.compile(r"([?&#;])([^=&#;?\s]{1,64})=([^?&#;\s'\"]+)")
_CREDENTIAL_WORDS = ("token", "secret", "passw", "pwd", "signature", "credential", "apikey", "api_key",
                     "api-key", "access_key", "accesskey", "private_key", "session", "auth")
_CREDENTIAL_NAMES = {"key", "sig", "code", "jwt", "sid", "pass"}


def _mask_param(m: re.Match[str]) -> str:
    name = m.group(2).lower()
    if name in _CREDENTIAL_NAMES or any(w in name for w in _CREDENTIAL_WORDS):
        return f"{m.group(1)}{m.group(2)}=***"
    return m.group(0)


@dataclass(frozen=True)
class Found:
    status: Status
    detail: str
    excerpt: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    taken_at: datetime | None = None
    """Set when the evidence dates from earlier than now (a manual tick)."""


def redact_url(url: str) -> str:
    """Mask user:password@ and credential parameters (?token=***) so they never reach the log or the screen."""
    return _PARAM.sub(_mask_param, _USERINFO.sub(r"\1***@", url))
