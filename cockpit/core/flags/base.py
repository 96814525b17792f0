"""The FlagBackend protocol and its errors (ARCHITECTURE §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


def on_off(enabled: bool | None, unknown: str = "unknown") -> str:
    """A flag's state as operators read it: ON, OFF, or `unknown` when it could not be read."""
    return unknown if enabled is None else ("ON" if enabled else "OFF")


@dataclass(frozen=True)
class FlagState:
    name: str
    enabled: bool


class FlagError(Exception):
    """A flag operation that did not happen; `str()` says what to do, never a secret."""

    def __init__(self, flag: str | None, message: str, *, status: int | None = None, retryable: bool = False):
        self.flag = flag
        self.status = status
        self.retryable = retryable
        super().__init__(message)


class FlagAuthError(FlagError):
    """401/403: the token is missing, wrong, or lacks the permission."""


class FlagNotFound(FlagError):
    """404: the flag does not exist in the flag service."""


class FlagProtected(FlagError):
    """The environment requires a change request / approval; the flip must go through that process."""


class FlagUnavailable(FlagError):
    """Timeouts, connection errors, 5xx: retryable."""


class FlagBackend(Protocol):
    name: str
    # Optional attribute `bulk_reads: bool`: list() is cheap (one request/command), so batches of flips
    # read every flag's state with it (cockpit.core.flags.flip.flip_many).

    async def list(self) -> list[FlagState]: ...

    async def get(self, flag: str) -> FlagState: ...

    async def set(self, flag: str, enabled: bool, *, reason: str, actor: str,
                  idempotency_key: str | None = None) -> FlagState:
        """Set the flag; `idempotency_key` is the same on every retry of one flip (backends that can, send it)."""
        ...

    async def aclose(self) -> None: ...
