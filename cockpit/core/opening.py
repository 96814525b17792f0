"""What the cockpit opens, in two steps: the runbook's outline at once, then the validated runbook and its log.

The TUI paints the checklist from the outline and calls `load()` (blocking; in a thread) right after
the first paint. This module imports neither pydantic nor a log store until `load()` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.runbook.outline import RunbookOutline, outline_of, read_outline

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook
    from cockpit.core.log.base import ReleaseLog


class OpeningError(Exception):
    """The runbook or its log cannot be opened; the message says why, for people (exit 2)."""


@dataclass
class Opening:
    outline: RunbookOutline
    load: Callable[[], tuple[Runbook, ReleaseLog]]
    """Validates the runbook and opens its log; raises OpeningError. Blocking."""
    loaded: tuple[Runbook, ReleaseLog] | None = None
    """Set when both were there from the start (tests, `cockpit demo`): nothing left to load."""
    owns_log: bool = False
    """The log was opened by `load()`, so whoever ran the cockpit closes it."""

    @classmethod
    def ready(cls, runbook: Runbook, log: ReleaseLog) -> Opening:
        return cls(outline_of(runbook), lambda: (runbook, log), loaded=(runbook, log))

    @classmethod
    def from_file(cls, path: str | Path) -> Opening:
        """The outline now; validation and the log on `load()`. A file whose TOML is not shaped like a
        runbook is validated at once, so its errors (key and line) come before any screen."""
        path = Path(path)
        try:  # worded as cockpit.runbook.config's loader words them, without importing it (pydantic) yet
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise OpeningError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise OpeningError(f"{path}: cannot read: {e}") from None
        outline = read_outline(text)
        validated = None
        if outline is None:
            validated = _validated(text, path)  # raises with the problems; a pass means the outline reader is too strict
            outline = outline_of(validated)

        def load() -> tuple[Runbook, ReleaseLog]:
            runbook = validated or _validated(text, path)
            return runbook, open_runbook_log(runbook)

        return cls(outline, load, owns_log=True)


def _validated(text: str, path: Path) -> Runbook:
    from cockpit.runbook.config import ConfigError, parse_runbook  # startup: pydantic loads after the first paint

    try:
        return parse_runbook(text, path)
    except ConfigError as e:
        raise OpeningError(str(e)) from None


def open_runbook_log(runbook: Runbook) -> ReleaseLog:
    """The runbook's release log (spooled); a missing secret or a bad store is an OpeningError."""
    from cockpit.core.log.open import open_log  # psycopg is loaded only by commands that log
    from cockpit.core.secrets import MissingSecret

    try:
        return open_log(runbook)
    except MissingSecret as e:
        raise OpeningError(str(e)) from None
    except (OSError, ValueError) as e:  # ValueError: a DSN libpq cannot parse
        raise OpeningError(f"cannot open the release log: {e}") from None
