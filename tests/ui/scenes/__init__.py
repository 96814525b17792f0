"""Scenes: one real screen each, set up deterministically (fixed clock, ids, size).

The same scenes feed the snapshot tests (tests/ui/test_snapshots.py) and the screenshots in
screenshots/ (screenshots/generate.py), so README shows exactly what the tests check.
Each module in this package defines `SCENES: list[Scene]`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot


@dataclass(frozen=True)
class Scene:
    name: str
    """File name of the screenshot (screenshots/<name>.svg) and id of the snapshot test."""
    make_app: Callable[[Path], App[Any]]
    """Builds the app in a scratch folder (its own log, repo, demo target...)."""
    run_before: Callable[[Pilot], Awaitable[None]] | None = None
    size: tuple[int, int] = (120, 40)


WIDE, SMALL = (120, 40), (80, 24)


def at_both_sizes(name: str, make_app: Callable[[Path], App[Any]],
                  run_before: Callable[[Pilot], Awaitable[None]] | None = None, *,
                  small_name: str | None = None) -> list[Scene]:
    """The scene at 120x40 (`name`) and at 80x24 (`name-80x24`): every screen must work in a small terminal."""
    return [Scene(name, make_app, run_before, WIDE), Scene(small_name or f"{name}-80x24", make_app, run_before, SMALL)]


def all_scenes() -> list[Scene]:
    scenes: list[Scene] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        scenes.extend(getattr(module, "SCENES", []))
    return scenes
