"""A seed runbook (config/00X-*.toml) copied into the shop's checkout and pointed at the harness:
every environment's url at the shop, its vars as the test gives them, the log at a local SQLite file
(or the PostgreSQL store a test names). Only those keys change; the rest of the text — comments,
order, steps — stays as written, so a line number in a config error still reads true."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]\s][^\]]*?)\s*\]\]?\s*(#.*)?$")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"no TOML for {type(v).__name__}")


def toml_key(k: str) -> str:
    return k if _BARE.fullmatch(k) else json.dumps(k)


def _table_span(lines: list[str], table: str) -> tuple[int, int] | None:
    """(header line, end) of `[table]` (not an array of tables), end exclusive."""
    start = None
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if not m:
            continue
        if start is not None:
            return start, i
        name = ".".join(p.strip().strip('"') for p in m.group(2).split("."))
        if m.group(1) == "[" and name == table:
            start = i
    return (start, len(lines)) if start is not None else None


def _extent(lines: list[str], i: int) -> int:
    """How many lines the key/value starting at line i spans (a multi-line array or string)."""
    for j in range(i, len(lines)):
        try:
            tomllib.loads("\n".join(lines[i:j + 1]))
            return j - i + 1
        except tomllib.TOMLDecodeError:
            continue
    raise ValueError(f"line {i + 1}: cannot find the end of {lines[i]!r}")


def set_table(text: str, table: str, values: dict[str, Any], *, replace: bool = False) -> str:
    """`text` with `[table]`'s keys in `values` set (all its other keys dropped when `replace`)."""
    lines = text.splitlines()
    span = _table_span(lines, table)
    new = [f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items()]
    if span is None:
        return text.rstrip("\n") + f"\n\n[{table}]\n" + "\n".join(new) + "\n"
    start, end = span
    body, i = [], start + 1
    while i < end:
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            body.append(line)
            i += 1
            continue
        key = stripped.split("=", 1)[0].strip().strip('"')
        n = _extent(lines, i)
        if not replace and key not in values:
            body.extend(lines[i:i + n])
        i += n
    return "\n".join(lines[:start + 1] + new + body + lines[end:]) + "\n"


def point_at(text: str, url: str, *, vars: dict[str, str] | None = None, log: dict[str, str] | None = None) -> str:
    """The runbook's environments at `url` with `vars` (merged over their own; `{url}` in a value is
    the shop's url) and its [log] replaced by `log` (default: a SQLite file in .deploy/)."""
    data = tomllib.loads(text)
    given = {k: v.replace("{url}", url) for k, v in (vars or {}).items()}
    for env, spec in data.get("environments", {}).items():
        merged = {**spec.get("vars", {}), **given}
        sub = f"environments.{env}.vars"
        if _table_span(text.splitlines(), sub) is not None:
            text = set_table(text, f"environments.{env}", {"url": url})
            text = set_table(text, sub, merged)
        else:
            text = set_table(text, f"environments.{env}", {"url": url, **({"vars": merged} if merged else {})})
    return set_table(text, "log", log or {"path": ".deploy/release-log.sqlite"}, replace=True)


def secrets_named(text: str) -> dict[str, str]:
    """The secrets the runbook names, by what they are for: {"flags": NAME, "notify:N": NAME}."""
    data = tomllib.loads(text)
    out = {}
    if data.get("flags", {}).get("token_secret"):
        out["flags"] = data["flags"]["token_secret"]
    for i, n in enumerate(data.get("notify", [])):
        if n.get("url_secret"):
            out[f"notify:{i}"] = n["url_secret"]
    return out
