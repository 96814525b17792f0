"""The filter bar's language: `key:value` words and free text, to and from a LogFilter.

    release:shop-1.4 env:prod actor:alice kind:flag. since:2024-05-01 until:2024-05-31 timeout

Keys: release (r), env (environment, e), actor (a), kind (k; a value ending in "." is a prefix),
since, until (UTC dates `2024-05-01`, times `2024-05-01T14:00`, or a duration back from now:
`since:2h`, `since:7d`). A date-only `until` includes that whole day. Other words are free text
(quote to keep spaces: `"disk full"`). Textual-free, so it is tested on its own.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cockpit.core.log.base import LogFilter

KEYS = {"release": "release_id", "r": "release_id", "env": "environment", "environment": "environment",
        "e": "environment", "actor": "actor", "a": "actor", "kind": "kind", "k": "kind",
        "since": "since", "until": "until"}


class FilterSyntaxError(ValueError):
    pass


def _time(value: str, key: str, now: datetime) -> datetime:
    v = value.strip()
    if v and v[-1] in "smhdw" and v[:-1].isdigit():
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[v[-1]]
        return now - timedelta(**{unit: int(v[:-1])})
    try:
        at = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise FilterSyntaxError(f"{key}:{value} is not a date (2024-05-01), a time (2024-05-01T14:00) "
                                "or a duration (2h, 7d)") from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if key == "until" and len(v) == 10:  # a date: the whole day
        at += timedelta(days=1)
    return at


def parse_filter(text: str, *, now: datetime | None = None) -> LogFilter:
    """LogFilter from the bar's text; raises FilterSyntaxError with a message for the user."""
    now = now or datetime.now(UTC)
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise FilterSyntaxError(f"cannot read the filter: {e}") from None
    flt = LogFilter()
    free: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        field = KEYS.get(key.lower()) if sep else None
        if field is None:
            free.append(word)
            continue
        if not value:
            raise FilterSyntaxError(f"{key}: needs a value")
        if field in ("since", "until"):
            flt = replace(flt, **{field: _time(value, field, now)})
        else:
            flt = replace(flt, **{field: value})
    if free:
        flt = replace(flt, text=" ".join(free))
    if flt.since and flt.until and flt.since >= flt.until:
        raise FilterSyntaxError("since must be before until")
    return flt


def _quote(v: str) -> str:
    return shlex.quote(v) if any(c.isspace() or c in "'\"" for c in v) else v


def format_filter(flt: LogFilter) -> str:
    """The bar's text for a filter (parse_filter(format_filter(f)) == f, times to the second)."""
    parts = []
    for key, field in (("release", "release_id"), ("env", "environment"), ("actor", "actor"), ("kind", "kind")):
        v = getattr(flt, field)
        if v is not None:
            parts.append(f"{key}:{_quote(v)}")
    for key in ("since", "until"):
        v = getattr(flt, key)
        if v is not None:
            parts.append(f"{key}:{v.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')}")
    if flt.text:
        parts.append(flt.text if not any(c in flt.text for c in "'\"") else _quote(flt.text))
    return " ".join(parts)


def describe_filter(flt: LogFilter) -> str:
    return format_filter(flt) or "all entries"
