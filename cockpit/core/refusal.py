"""The one exception the core raises for an action the release's state does not allow.

Its own module so the TUI can catch it without importing the session (and what the session
imports) before its first paint.
"""

from __future__ import annotations


class ActionRefused(Exception):
    """An action the state of the release does not allow; the message says why and what to do."""
