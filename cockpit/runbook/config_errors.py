"""Pydantic's validation errors in a runbook author's words: line, TOML key path, what to do.

    line 9: checks[0].kind: unknown kind 'htp'; one of: 'http', 'smoke', ...
"""

from __future__ import annotations

from collections.abc import Collection
from difflib import get_close_matches
from typing import Any

from pydantic import ValidationError

from cockpit.runbook.tomllines import locate_key_line


def describe_errors(error: ValidationError, data: dict[str, Any], text: str,
                    tagged_keys: Collection[str] = ()) -> list[str]:
    """Each error as `line N: key.path: message`. tagged_keys: every key some kind of check accepts, so a
    table whose `kind` is missing also has its unknown keys named (pydantic stops at the missing tag)."""
    errors = error.errors()
    missing: dict[tuple[Any, ...], list[str]] = {}
    for err in errors:
        if err["type"] == "missing":
            kp = _key_path(err["loc"], data)
            missing.setdefault(tuple(kp[:-1]), []).append(str(kp[-1]))
    problems = []
    for err in errors:
        kp = _key_path(err["loc"], data)
        if err["type"] == "union_tag_not_found":
            problems += _unknown_in_untagged(kp, data, text, tagged_keys)
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            kp = [*kp, "kind"]
        message = _message(err)
        if err["type"] == "extra_forbidden":
            message = _unknown(str(kp[-1]), missing.get(tuple(kp[:-1]), []))
        line = locate_key_line(text, kp)
        where = f"line {line}: " if line else ""
        problems.append(f"{where}{_format_path(kp)}: {message}")
    return problems


def _unknown(key: str, candidates: Collection[str]) -> str:
    """An unknown key, with the key it was probably meant to be (a misspelt key is also a missing one)."""
    close = get_close_matches(key, list(candidates), n=1, cutoff=0.75)
    return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close
                                     else " (not part of the runbook format; see `cockpit config schema`)")


def _unknown_in_untagged(kp: list[str | int], data: dict[str, Any], text: str,
                         tagged_keys: Collection[str]) -> list[str]:
    """A table without `kind` often has it misspelt: name its keys that no kind accepts (without the
    list of those, the keys close to `kind`), not only the missing one."""
    node: Any = data
    for part in kp:
        node = node.get(part) if isinstance(node, dict) else node[part] if isinstance(node, list) else None
    if not isinstance(node, dict):
        return []
    known = sorted({*tagged_keys, "kind"})
    return [located(text, [*kp, key], _unknown(key, known)) for key in node
            if isinstance(key, str) and key not in known
            and (tagged_keys or get_close_matches(key, ["kind"], n=1, cutoff=0.75))]


def located(text: str, path: list[str | int], message: str, line: int | None = None) -> str:
    """One problem found outside pydantic, worded like the others: `line N: key.path: message`."""
    line = line if line is not None else locate_key_line(text, path)
    return f"{f'line {line}: ' if line else ''}{_format_path(path)}: {message}"


def _message(err: Any) -> str:
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "union_tag_invalid":
        return f"unknown kind {err['ctx']['tag']!r}; one of: {err['ctx']['expected_tags']}"
    if err["type"] == "union_tag_not_found":
        return "required key is missing (one of: http, smoke, git, command, file, manual)"
    return str(err["msg"]).removeprefix("Value error, ")


def _key_path(loc: tuple[Any, ...], data: dict[str, Any]) -> list[str | int]:
    """Drop pydantic's union tags (e.g. 'http' in checks.0.http.url) so the path matches the TOML."""
    out: list[str | int] = []
    node: Any = data
    for part in loc:
        if isinstance(node, dict) and part not in node and isinstance(part, str) and part in (
            "http", "smoke", "git", "command", "file", "manual", "function-after", "function-before"
        ):
            continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return out


def _format_path(path: list[str | int]) -> str:
    s = ""
    for part in path:
        s += f"[{part}]" if isinstance(part, int) else (("." if s else "") + str(part))
    return s or "(top level)"
