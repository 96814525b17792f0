"""What a kind module hands back; `take` turns it into Evidence (id, kind, timing, blocking)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cockpit.core.evidence import Status

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True)
class Found:
    status: Status
    detail: str
    excerpt: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    taken_at: datetime | None = None
    """Set when the evidence dates from earlier than now (a manual tick)."""


def redact_url(url: str) -> str:
    """Drop user:password@ from URLs so credentials never reach the log or the screen."""
    return _USERINFO.sub(r"\1***@", url)
