"""What the browser screen is given: a read-only reader of the log, where it is, the spool's count, and
a way to follow the log as other processes append.

The store itself is opened read-only at the source by the core (cockpit/core/log/readonly.py);
the auditor needs no flag token and takes no lock. Entries waiting in the local spool are
counted (a file read), never replayed from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cockpit.core.log.follow import Follower, follower_for
from cockpit.core.log.open import local_spool, store_factory
from cockpit.core.log.readonly import Reader, open_read_only

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook


@dataclass
class Source:
    """Everything the browser screen is given: the reader, where it is, and the spool count."""

    reader: Reader
    description: str
    spool_waiting: Callable[[], int] = lambda: 0
    """How many entries wait in the local spool (not yet in the chain); read each time it is shown."""
    close: Callable[[], None] = lambda: None
    counter: Reader | None = None
    """A second read-only connection for count(filter) (None: counts share `reader`)."""
    follow: Callable[[], Follower] | None = None
    """Makes a follower that wakes when any process appends (None: the list is not followed live)."""


def open_source(runbook: Runbook) -> Source:
    """The runbook's log, read-only, with the count of its spool. Raises LogUnreadable, MissingSecret."""
    factory = store_factory(runbook)
    log = open_read_only(factory)
    counter = open_read_only(factory)
    spool = local_spool(runbook, factory)

    def close() -> None:
        log.close()
        counter.close()

    return Source(reader=log, description=log.describe(), spool_waiting=spool.count, close=close, counter=counter,
                  follow=lambda: follower_for(log))
