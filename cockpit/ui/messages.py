"""Messages the cockpit's screens post up to the App (attributes down, messages up)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class RunCore(Message):
    """Run one core coroutine in a worker; its errors go to the one worker-error handler."""

    work: Callable[[], Awaitable[Any]]
    success: str | None = None


@dataclass
class TakeEvidence(Message):
    """Take (some of) the release's evidence now, with progress."""

    check_ids: list[str] | None = None
