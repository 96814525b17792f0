"""What a runbook answers beyond its fields, written once for the validated model (config.Runbook) and for
its copy read back from the validation cache (cockpit.runbook.validated), which has no pydantic.

Both carry the same fields; these methods only read them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


# No annotations of the fields here: pydantic would take them for fields of the models these are mixed into.
class RunbookMethods:
    @property
    def default_environment(self) -> str:
        return next(iter(self.environments))

    def check(self, check_id: str) -> Any:
        for c in self.checks:
            if c.id == check_id:
                return c
        raise KeyError(check_id)

    def stage(self, stage_id: str) -> Any:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def resolve_path(self, p: str) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def repo_path(self) -> Path:
        return self.resolve_path(self.release.repo)

    def stage_of(self, flag: str) -> str | None:
        """The first stage that flips this flag (None: the runbook's stages do not name it)."""
        return next((s.id for s in self.stages if flag in s.flags), None)

    @property
    def all_flags(self) -> list[str]:
        seen: dict[str, None] = {}
        for s in self.stages:
            for f in s.flags:
                seen.setdefault(f, None)
        return list(seen)


class CheckMethods:
    @property
    def label(self) -> str:
        return self.title or self.id


class SigningMethods:
    """[signing]'s answers (runbook/signing.py), for the model and its cached copy alike."""

    def allowed_signers_path(self, base_dir: Path) -> Path:
        return (base_dir / Path(self.allowed_signers).expanduser()).resolve()

    def requires(self, environment: str) -> bool:
        return environment in self.required
