"""Field types shared by the runbook's models (config.py, steps.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from cockpit.runbook.durations import DURATION_REGEX, format_duration, parse_duration, parse_positive_duration

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_REGEX, "examples": ["30s", "15m", "2h"]}),
]
"""A duration field: written "30s", "15m", a number of seconds; read as a timedelta."""

Timeout = Annotated[
    timedelta,
    BeforeValidator(parse_positive_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_REGEX, "examples": ["500ms", "30s", "15m"]}),
]
"""A duration something waits for (a timeout, a lease): positive."""

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$", max_length=100)]
