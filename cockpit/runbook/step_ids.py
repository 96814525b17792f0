"""How a step gets its id (pydantic-free: the flag commands load the core without the runbook's models)."""

from __future__ import annotations

from typing import Any


def step_id(step: Any, position: int) -> str:
    """A step's id: its own, or its kind and its position in its list, from 1 (`command-2`)."""
    return step.id or f"{step.kind}-{position}"
