"""A stage's procedure: the ordered steps the cockpit runs, shows and logs (seed 000's tag, backup and
smoke before each layer; seed 002's deploy, migrate, restart; seed 004's backup and load test).

A step is one of a few kinds; each says what it will do before it runs, is confirmed unless
`confirm = false`, and is logged when it starts and when it ends. Commands are argv lists: each
element is one argument, placeholders are substituted inside it, and no shell reads the result.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cockpit.runbook.fields import Identifier, Timeout
from cockpit.runbook.placeholders import PlaceholderError, check_names

PLANNED_AT_REGEX = r"^(([01]\d|2[0-3]):[0-5]\d|\+\d+(\.\d+)?(ms|s|m|h|d))$"

STEP_PLACEHOLDERS = {"ref", "sha", "short_sha", "stage", "target", "target_sha", "env.name", "env.url", "env.*",
                     "release.name", "rollback_ref"}
"""What a command step's arguments may name: {ref} is the target ref being released, {sha} its SHA."""


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    id: Identifier | None = None
    """Unique within its stage; default: the kind and its position (`command-2`)."""
    title: str = ""
    """What the step does, for people (defaults to what it will run)."""
    confirm: bool = True
    """Ask before it runs (the TUI asks; headless needs --yes)."""
    at: Annotated[str, Field(pattern=PLANNED_AT_REGEX)] | None = None
    """When it is planned (seed 004's release day: 00:00 backup, 01:00 deploy, 02:00 smoke): "HH:MM"
    (UTC, on the day of GO or after it) or "+90m" after GO. The cutover shows planned against actual."""


class CommandStep(_Step):
    kind: Literal["command"]
    run: list[str] = Field(min_length=1)
    """argv: the program, then its arguments; placeholders like {sha} are substituted per argument."""
    timeout: Timeout = "10m"  # type: ignore[assignment]  (validated into a timedelta)
    """How long the command may run before its process group is killed (the step fails)."""
    cwd: str | None = None
    """Working directory, relative to the runbook's repo (default: the repo)."""
    expect_exit: int = 0
    """The exit code that means success."""
    produces: str | None = None
    """A file the command writes (a smoke/JUnit/k6 report), relative to cwd: its digest is logged
    with the step, so the checks that read it later are tied to this run."""

    @field_validator("run")
    @classmethod
    def _placeholders(cls, argv: list[str]) -> list[str]:
        for arg in argv:
            try:
                check_names(arg, STEP_PLACEHOLDERS)
            except PlaceholderError as e:
                raise ValueError(str(e)) from None
        if not argv[0].strip():
            raise ValueError("the program (first element) is empty")
        return argv


class TagStep(_Step):
    kind: Literal["tag"]
    name: str | None = None
    """The tag; default `[release] tag_prefix` + the stage id (seed 000's pre-marketplace-layer-X).
    Created on the SHA being released and pushed when `[release] remote` is set."""


class FlagsStep(_Step):
    kind: Literal["flags"]
    flags: list[str] | None = None
    """Which flags (default: the stage's `flags`)."""
    on: bool = True
    """Switch them on (the rollout) or off."""


class ChecksStep(_Step):
    kind: Literal["checks"]
    checks: list[str] = Field(min_length=1)
    """Checks re-taken now, which must pass for the procedure to go on (seed 000's smoke before every
    layer). A stage's own checks named here are judged here, not at the stage's start."""


class ManualStep(_Step):
    kind: Literal["manual"]
    instruction: str = Field(min_length=1)
    """What a person does outside the cockpit (Netlify "Rollback to this deploy", a staging UAT);
    they confirm it with a note."""
    who: str | None = None
    """Who does it (a role or a name), for people."""


class WaitStep(_Step):
    kind: Literal["wait"]
    duration: Timeout
    """A minimum soak before the next step, shown with the time left."""


Step = Annotated[CommandStep | TagStep | FlagsStep | ChecksStep | ManualStep | WaitStep, Field(discriminator="kind")]
