"""Following the log: a follower wakes within a second when another connection (another process's
store) appends, and stays asleep while nothing is appended."""

from __future__ import annotations

import threading
import time

from cockpit.core.log.follow import follower_for
from cockpit.core.log.readonly import open_store
from tests.log.conftest import Stores, new


def _appends_later(stores: Stores, delay: float) -> threading.Thread:
    writer = stores.open()  # its own connection, as another cockpit's would be
    t = threading.Thread(target=lambda: (time.sleep(delay), writer.append(new())))
    t.start()
    return t


def test_a_follower_wakes_when_another_connection_appends(stores: Stores) -> None:
    log = stores.open()
    follower = follower_for(log)
    try:
        follower.wait(0.2)  # the first call settles (PostgreSQL: LISTEN; SQLite: the first probe)
        assert follower.wait(0.3) is False  # nothing appended: it sleeps the whole timeout
        t = _appends_later(stores, 0.3)
        started = time.monotonic()
        assert follower.wait(5.0) is True
        waited = time.monotonic() - started
        t.join()
        assert 0.25 <= waited < 1.0  # woken by the append, not by the timeout
        assert follower.wait(0.2) is False  # one append, one wake-up
    finally:
        follower.close()


def test_a_read_only_reader_follows_too(stores: Stores) -> None:
    stores.open().append(new())  # the log exists
    reader = (open_store(sqlite_path=__import__("pathlib").Path(stores.target)) if stores.kind == "sqlite"
              else open_store(dsn=stores.target))
    follower = follower_for(reader)
    try:
        follower.wait(0.2)
        t = _appends_later(stores, 0.2)
        assert follower.wait(5.0) is True
        t.join()
        assert reader.count() == 2
    finally:
        follower.close()
        reader.close()
