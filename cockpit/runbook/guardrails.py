"""The runbook's watched windows: where Prometheus is, and the guardrails a stage keeps after its flip.

A guardrail names a check (usually a `prometheus` one) that is sampled every `interval` for `window`
after the stage's flags go on. Each sample passes when the check passes and, for baseline conditions,
when its value has not risen too far above the value sampled just before the flip.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cockpit.runbook.fields import Duration, Identifier, Timeout


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PrometheusConfig(_Model):
    url: str
    """Base URL of the Prometheus server (its HTTP API is under /api/v1); placeholders like {env.*} allowed."""
    token_secret: str | None = None
    """Keyring entry of a bearer token (COCKPIT_SECRET_<NAME> in CI); unset: no Authorization header."""
    timeout: Timeout = "10s"
    """Per query."""


class GuardrailConfig(_Model):
    check: Identifier
    """The check sampled (its expectation judges each sample), e.g. a `prometheus` error-rate query."""
    interval: Duration = "30s"
    """Time between samples."""
    window: Duration = "10m"
    """How long after the stage's flip the guardrail is watched (minutes to days)."""
    failure_limit: int = Field(3, ge=1, le=1000)
    """Failed samples that make a breach."""
    consecutive: bool = True
    """The failed samples must follow each other (a pass in between starts the count again)."""
    inconclusive_limit: int | None = Field(None, ge=1, le=1000)
    """Inconclusive samples in a row (no data, Prometheus away) that count as one failure each time the
    limit is reached; unset: an inconclusive sample neither passes nor fails."""
    max_increase: float | None = Field(None, ge=0)
    """Baseline: a sample fails when its value is more than this above the value sampled just before the flip."""
    max_ratio: float | None = Field(None, gt=0)
    """Baseline: a sample fails when its value is more than this times the value sampled just before the flip
    (a baseline of 0 compares with max_increase only)."""
    on_breach: Literal["kill", "alert"] = "alert"
    """kill: the stage's flags go back off at once by themselves; alert: notify, show a banner and offer
    the rollback wizard."""

    @model_validator(mode="after")
    def _timing(self) -> GuardrailConfig:
        if self.interval < timedelta(seconds=1):
            raise ValueError("interval must be at least 1s")
        if self.window < self.interval:
            raise ValueError(f"window ({self.window}) must be at least one interval ({self.interval})")
        return self

    @property
    def relative(self) -> bool:
        """Has baseline conditions: compares with the value sampled before the flip."""
        return self.max_increase is not None or self.max_ratio is not None
