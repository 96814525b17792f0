"""Comparing a found value with an expected one, as people write them in runbooks.

Strings compare case-insensitively ("PASS" == "pass"), booleans match their spellings
("true", "yes", "1" / "false", "no", "0"), numbers compare numerically ("200" == 200).
A boolean never equals a number (Python's True == 1 is not what a runbook means).
A table of operators compares: `{ lt = 500 }` (p95 under 500 ms), `{ ge = 100 }` (at least
100 RPS), `{ ge = 0, le = 0.001 }` (a range); eq/ne compare as above.
"""

from __future__ import annotations

import json
import math
from typing import Any

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    return None


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


OPERATORS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥", "eq": "=", "ne": "≠"}


def is_comparison(expected: Any) -> bool:
    """A table whose keys are all operators (lt, le, gt, ge, eq, ne)."""
    return isinstance(expected, dict) and bool(expected) and all(k in OPERATORS for k in expected)


def _compare(actual: Any, op: str, bound: Any) -> bool:
    if op == "eq":
        return matches(actual, bound)
    if op == "ne":
        return not matches(actual, bound)
    a, b = _as_number(actual), _as_number(bound)
    if a is None or b is None:
        return False  # "fast" is not below 500: a non-number never satisfies an ordering
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]


def matches(actual: Any, expected: Any) -> bool:
    if is_comparison(expected):
        return all(_compare(actual, op, bound) for op, bound in expected.items())
    if isinstance(expected, bool) or isinstance(actual, bool):
        a, e = _as_bool(actual), _as_bool(expected)
        return a is not None and a == e
    if isinstance(expected, (int, float)) or isinstance(actual, (int, float)):
        a, e = _as_number(actual), _as_number(expected)
        return a is not None and a == e
    if isinstance(expected, str) and isinstance(actual, str):
        return actual.strip().casefold() == expected.strip().casefold()
    return actual == expected  # lists, objects, null: exact


def show(v: Any) -> str:
    """A value as it would be written in JSON (so "true" and true look different); a comparison
    table as people say it ("< 500 and ≥ 0")."""
    if is_comparison(v):
        return " and ".join(f"{OPERATORS[op]} {show(bound)}" for op, bound in v.items())
    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(v)


_MISSING = object()


def dotted(doc: Any, path: str) -> Any:
    """Follow a dotted path ("db.ok", "checks.0.status") into parsed JSON; raise KeyError(path)."""
    node = doc
    if path in ("", "."):
        return node
    if isinstance(node, dict) and path in node:  # a key that itself holds dots ("db.ok": true)
        return node[path]
    for part in path.split("."):
        if isinstance(node, dict):
            nxt = node.get(part, _MISSING)
        elif isinstance(node, list) and part.lstrip("-").isdigit():
            i = int(part)
            nxt = node[i] if -len(node) <= i < len(node) else _MISSING
        else:
            nxt = _MISSING
        if nxt is _MISSING:
            raise KeyError(path)
        node = nxt
    return node


def show_number(v: float) -> str:
    """A sampled number as people read it: 0.0123, 412.5, 1.2e-05, +Inf."""
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.4g}"
