"""The target of a release: a small value every layer of the core passes around (kept apart from the
checks package, whose import the flag commands need not pay for)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """The ref being released and the SHA it resolved to when the release was opened."""

    ref: str
    sha: str

    @property
    def short(self) -> str:
        return self.sha[:7]
