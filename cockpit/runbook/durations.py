"""Human durations in runbooks: "500ms", "30s", "15m", "2h", "1d", or a bare number of seconds.

Plain functions, free of pydantic: the screens use them before the runbook is validated. The
pydantic field type built on them (`Duration`) lives in cockpit/runbook/config.py."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

MAX_DURATION = timedelta(days=365)
"""Longer than any release step waits; beyond it a number is a typo (and timedelta overflows)."""
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
DURATION_REGEX = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"


def parse_duration(value: Any) -> timedelta:
    """Parse a duration; raise ValueError with an example of what is accepted."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):  # bool is an int: refuse it explicitly
        raise ValueError("a duration is a string like '15m', not a boolean")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{_shown(value)} is not a finite duration; write e.g. '30s' or '15m'")
        seconds = value
    elif isinstance(value, int):  # TOML integers are unbounded; float() of a huge one would overflow
        seconds = float(value) if abs(value) <= 10**15 else math.copysign(math.inf, value)
    elif isinstance(value, str) and (m := _PATTERN.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]  # a long digit string is inf, caught below
    else:
        raise ValueError(f"{_shown(value)} is not a duration; write e.g. '500ms', '30s', '15m', '2h' or '1d'")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{_shown(value)} is longer than any step waits; a duration is at most 365d")
    return timedelta(seconds=seconds)


def parse_positive_duration(value: Any) -> timedelta:
    """A duration that something waits for (a timeout, a lease): zero would never let it start."""
    td = parse_duration(value)
    if td <= timedelta(0):
        raise ValueError(f"{_shown(value)}: a timeout must be positive; write e.g. '500ms' or '30s'")
    return td


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def format_duration(td: timedelta) -> str:
    """The shortest exact spelling, so a round trip through TOML/JSON is stable."""
    seconds = td.total_seconds()
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(round(seconds * 1000))}ms"


def humanize(td: timedelta) -> str:
    """Approximate age for people: '42s', '3m', '2h 5m'."""
    s = int(td.total_seconds())
    if s < 0:
        return "0s"
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"



def countdown(left: timedelta) -> str:
    """Time left, read at a glance: 42s, 4m 12s, 25m, 2h 05m, 2d 03h (the seconds while they matter)."""
    s = max(0, int(left.total_seconds()))
    if s < 60:
        return f"{s}s"
    if s < 600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"
