"""Every message of the log browser, in one place (workers post these; @on handlers update widgets)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from cockpit.core.log.base import VerifyResult
from cockpit.core.log.entry import Entry
from cockpit.core.story import Story
from cockpit.ui.browser.window import Extent, Fetch, Query


@dataclass
class PageFetched(Message):
    """A keyset page arrived for the window (stale ones are dropped by the window)."""

    fetch: Fetch
    rows: list[Entry]


@dataclass
class ExtentKnown(Message):
    """count(filter) and the result's ends, for the virtual height and far jumps."""

    query: Query
    extent: Extent
    grown: bool = False
    """Counted again because the log grew (the new entries join the list at its newest end)."""


@dataclass
class LogGrew(Message):
    """Another process may have appended to the log (its follower woke)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LogGrew)  # a burst of appends is one recount


@dataclass
class NewEntries(Message):
    """How many entries were appended out of the user's view since they last looked (0: none)."""

    count: int
    newest_first: bool


@dataclass
class EntryHighlighted(Message):
    """The cursor moved onto an entry (None while its page is loading)."""

    entry: Entry | None


@dataclass
class EntryChosen(Message):
    """Enter on an entry: show its detail."""

    entry: Entry


@dataclass
class FilterSubmitted(Message):
    """The filter bar's text was submitted (parsed by the screen)."""

    text: str


@dataclass
class VerifyProgress(Message):
    checked: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, VerifyProgress)  # coalesce a flood of progress ticks


@dataclass
class VerifyDone(Message):
    result: VerifyResult


@dataclass
class SeqFound(Message):
    """A seq to move the list to (first entry of a release, the break), or None if there is none."""

    seq: int | None
    what: str


@dataclass
class Exported(Message):
    path: str
    count: int
    fmt: str


@dataclass
class StoryLoaded(Message):
    story: Story


@dataclass
class SpoolCounted(Message):
    """How many entries wait in the local spool (not yet in the chain)."""

    waiting: int
