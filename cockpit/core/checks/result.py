"""What a kind module hands back; `take` turns it into Evidence (id, kind, timing, blocking)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.core.evidence import Status

# C0/C1 control characters (ESC starts terminal escape sequences): remote text may hold them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True)
class Found:
    status: Status
    detail: str
    excerpt: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    taken_at: datetime | None = None
    """Set when the evidence dates from earlier than now (a manual tick)."""


def one_line(text: object, limit: int = 200) -> str:
    """Untrusted text made safe for a one-line detail: no escapes, no control characters, capped."""
    s = _ANSI.sub("", str(text))
    s = _CONTROL.sub(" ", s.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def redact_url(url: str) -> str:
    """Drop user:password@ from URLs so credentials never reach the log or the screen."""
    return _USERINFO.sub(r"\1***@", url)
