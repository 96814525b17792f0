"""Drill fixtures: the embedded demo target with its scratch checkout (shared with the UI tests)."""

from tests.helpers.demo import Demo, demo

__all__ = ["Demo", "demo"]
