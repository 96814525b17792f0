"""Evidence: what one check found, as data (ARCHITECTURE §2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from cockpit.core.secrets import redact_obj
from cockpit.runbook.textsafe import representable

EXCERPT_LIMIT = 4096  # bytes of raw output kept with the evidence; enough to read, small in the log


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"      # the check could not be carried out (bad config value, missing secret...)
    STALE = "stale"      # passed once, but older than max_age
    PENDING = "pending"  # not taken yet (manual items until ticked)
    INCONCLUSIVE = "inconclusive"  # asked, but there was nothing to judge (a query without data): never a pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def cap_excerpt(text: str | bytes, limit: int = EXCERPT_LIMIT) -> str:
    """Keep the head of raw output, decoded leniently, with a marker when cut."""
    if isinstance(text, bytes):
        cut = len(text) > limit
        text = text[:limit].decode("utf-8", errors="replace")
    else:
        encoded = representable(text).encode("utf-8")
        cut = len(encoded) > limit
        text = encoded[:limit].decode("utf-8", errors="ignore")
    return text + ("\n… (cut)" if cut else "")


@dataclass(frozen=True)
class Evidence:
    check_id: str
    kind: str
    status: Status
    detail: str
    """One line a release owner understands: what was found."""
    excerpt: str = ""
    """Raw output (body, stdout, file lines), capped at EXCERPT_LIMIT. Untrusted text: render as text."""
    duration_ms: float = 0.0
    taken_at: datetime = field(default_factory=utcnow)
    blocking: bool = True
    data: dict[str, Any] = field(default_factory=dict)
    """Structured facts (status code, latency, sha...) for the log and the auditor."""

    def __post_init__(self) -> None:
        # Evidence is printed, shown and logged as it is, so what a remote end sent is made safe here,
        # once, for every reader: a secret it echoed (in any encoding) is masked, and text no UTF-8 can
        # hold (a JSON "\ud800") becomes its escape rather than failing whichever writer meets it first.
        for name in ("detail", "excerpt", "data"):
            value = getattr(self, name)
            clean = representable(redact_obj(value))
            if clean != value:
                object.__setattr__(self, name, clean)

    @property
    def ok(self) -> bool:
        return self.status is Status.PASS

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utcnow()) - self.taken_at

    def freshness(self, max_age: timedelta | None, now: datetime | None = None) -> Evidence:
        """This evidence as it stands at `now`: a pass older than max_age turns stale."""
        if max_age is not None and self.status is Status.PASS and self.age(now) > max_age:
            return replace(self, status=Status.STALE, detail=f"{self.detail} (older than {max_age})")
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.check_id,
            "kind": self.kind,
            "status": self.status.value,
            "blocking": self.blocking,
            "detail": self.detail,
            "excerpt": self.excerpt,
            "duration_ms": round(self.duration_ms, 1),
            "taken_at": self.taken_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Evidence:
        return cls(
            check_id=d["id"],
            kind=d["kind"],
            status=Status(d["status"]),
            detail=d.get("detail", ""),
            excerpt=d.get("excerpt", ""),
            duration_ms=float(d.get("duration_ms", 0.0)),
            taken_at=datetime.fromisoformat(d["taken_at"].replace("Z", "+00:00")),
            blocking=bool(d.get("blocking", True)),
            data=dict(d.get("data", {})),
        )


@dataclass(frozen=True)
class Tick:
    """A person's confirmation of a manual item, as recorded in the log."""

    check_id: str
    by: str
    note: str
    at: datetime
