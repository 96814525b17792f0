"""What a check needs to know about the release it is taking evidence for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cockpit.core.evidence import Tick
from cockpit.core.target import Target

if TYPE_CHECKING:  # httpx is imported lazily by the http/smoke checks
    import httpx

    from cockpit.core.checks.admission import Admission
    from cockpit.runbook.config import Runbook


@dataclass
class CheckContext:
    runbook: Runbook
    environment: str
    target: Target
    rollback_ref: str | None = None
    ticks: Mapping[str, Tick] = field(default_factory=dict)
    """Manual items ticked in this release, by check id (from the release fold)."""
    stage: str | None = None
    http: httpx.AsyncClient | None = None
    """A shared client (connection reuse); checks create their own when None."""
    admission: Admission | None = None
    """Who may run now (per origin and overall); take_all makes one when None, take alone waits for none."""

    def placeholders(self) -> dict[str, str | None]:
        env = self.runbook.environments[self.environment]
        values: dict[str, str | None] = {
            "env.name": self.environment,
            "env.url": env.url,
            "release.name": self.runbook.release.name,
            "target": self.target.ref,
            "target_sha": self.target.sha,
            "rollback_ref": self.rollback_ref,
            "stage": self.stage,
        }
        values.update({f"env.{k}": v for k, v in env.vars.items()})
        return values
