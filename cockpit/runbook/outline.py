"""A runbook's outline: what the checklist shows, read from the TOML without validating it.

The cockpit paints its first screen from the outline and validates the runbook right after:
validation (pydantic's import and the runbook's models) costs about a third of the startup, and
drawing the checklist does not need it. The outline never stands in for the runbook — nothing is
taken, logged or flipped before the validated runbook is there — and the tests hold
`read_outline(text) == outline_of(parse_runbook(text))` for every runbook in config/.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook

KINDS = ("http", "smoke", "git", "command", "file", "manual", "prometheus")


@dataclass(frozen=True)
class CheckOutline:
    id: str
    kind: str
    title: str = ""
    blocking: bool = True
    stage: str | None = None
    prompt: str = ""

    @property
    def label(self) -> str:
        return self.title or self.id


@dataclass(frozen=True)
class StageOutline:
    id: str
    title: str = ""


@dataclass(frozen=True)
class RunbookOutline:
    name: str
    environments: tuple[str, ...]
    stages: tuple[StageOutline, ...] = ()
    checks: tuple[CheckOutline, ...] = ()

    @property
    def default_environment(self) -> str:
        return self.environments[0]


def outline_of(runbook: Runbook) -> RunbookOutline:
    """The outline of a validated runbook (what the screens are rebuilt from if they differ)."""
    return RunbookOutline(
        name=runbook.release.name,
        environments=tuple(runbook.environments),
        stages=tuple(StageOutline(s.id, s.title) for s in runbook.stages),
        checks=tuple(CheckOutline(c.id, c.kind, c.title, c.blocking, c.stage, getattr(c, "prompt", ""))
                     for c in runbook.checks),
    )


class _Unshaped(Exception):
    """The TOML is not shaped like a runbook; validation will say how."""


def read_outline(text: str) -> RunbookOutline | None:
    """The outline of a runbook's TOML, or None when it is not shaped like one (validation says why)."""
    try:
        data = tomllib.loads(text)
        environments = _get(data, "environments", dict, None)
        if not environments:
            raise _Unshaped
        return RunbookOutline(
            name=_get(_get(data, "release", dict, None), "name", str, None),
            environments=tuple(environments),
            stages=tuple(StageOutline(_get(s, "id", str, None), _get(s, "title", str, ""))
                         for s in _tables(data, "stages")),
            checks=tuple(_check(c) for c in _tables(data, "checks")),
        )
    except (tomllib.TOMLDecodeError, _Unshaped):
        return None


def _check(c: dict[str, Any]) -> CheckOutline:
    kind = _get(c, "kind", str, None)
    if kind not in KINDS:
        raise _Unshaped
    stage = c.get("stage")
    if stage is not None and not isinstance(stage, str):
        raise _Unshaped
    return CheckOutline(id=_get(c, "id", str, None), kind=kind, title=_get(c, "title", str, ""),
                        blocking=_get(c, "blocking", bool, True), stage=stage,
                        prompt=_get(c, "prompt", str, "") if kind == "manual" else "")


def _tables(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = _get(data, key, list, [])
    if not all(isinstance(i, dict) for i in items):
        raise _Unshaped
    return items


def _get(table: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    """table[key] if it has the expected type; the default when absent (None: required)."""
    if key not in table:
        if default is None:
            raise _Unshaped
        return default
    value = table[key]
    if not isinstance(value, kind):
        raise _Unshaped
    return value
