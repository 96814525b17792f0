"""`{env.url}`-style placeholders in runbook strings.

Only names listed here are expanded; anything else is a config error, found when the
runbook is loaded rather than in the middle of a cutover. Literal braces are written `{{`/`}}`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

# Names a runbook may use, with what they mean (shown in `cockpit config schema`).
KNOWN = {
    "env.name": "the environment's name (e.g. prod)",
    "env.url": "the environment's url",
    "env.<var>": "any key of the environment's [environments.<name>.vars] table",
    "release.name": "[release] name",
    "target": "the target ref as given (e.g. origin/main)",
    "target_sha": "the full SHA the target ref resolves to",
    "rollback_ref": "the rollback ref recorded at sign-off",
    "ref": "in [rollback] deploy: the ref to deploy (the recorded rollback ref)",
    "flag": "in [flags] command templates: the flag's name",
    "value": "in [flags] command templates: on/off rendered by the backend",
    "stage": "the id of the stage being worked on",
}


class PlaceholderError(ValueError):
    """A placeholder that is unknown or has no value here."""


def names_in(template: str) -> list[str]:
    return [m.group(1) for m in _FIELD.finditer(template) if m.group(1) is not None]


def check_names(template: str, allowed: set[str] | None = None) -> None:
    """Raise PlaceholderError for names a runbook may not use in this field."""
    for name in names_in(template):
        ok = name in KNOWN or (name.startswith("env.") and len(name) > 4)
        if allowed is not None:
            ok = ok and (name in allowed or (name.startswith("env.") and "env.*" in allowed))
        if not ok:
            raise PlaceholderError(f"unknown placeholder {{{name}}}; known: {', '.join(sorted(KNOWN))}")


def expand(template: str, values: Mapping[str, str | None], *, quote: bool = False) -> str:
    """Substitute placeholders; `quote=True` shell-quotes each value (command templates)."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        name = m.group(1)
        value = values.get(name)
        if value is None:
            raise PlaceholderError(f"placeholder {{{name}}} has no value here")
        return shlex.quote(value) if quote else value

    return _FIELD.sub(sub, template)
