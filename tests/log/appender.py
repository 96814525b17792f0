"""A child process that appends to a release log and prints each acknowledgement (seq or 'pending', uid).

    python -m tests.log.appender sqlite PATH N [SPOOL_DIR]
    python -m tests.log.appender postgres DSN N [SPOOL_DIR]

N = 0 appends for ever (until killed). With SPOOL_DIR the store sits behind the spool (SpooledLog).
A line is printed (and flushed) only after append() returned: printed means acknowledged.
"""

from __future__ import annotations

import os
import sys

from cockpit.core.log.entry import NewEntry, current_actor
from cockpit.core.log.spool import SpooledLog


def main() -> None:
    kind, target, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spool = sys.argv[4] if len(sys.argv) > 4 else None

    def factory():  # type: ignore[no-untyped-def]
        if kind == "sqlite":
            from cockpit.core.log.sqlite import SqliteLog
            return SqliteLog(target)
        from cockpit.core.log.postgres import PostgresLog
        return PostgresLog(target, connect_timeout=2)

    log = SpooledLog(factory, spool, retry_interval=0) if spool else factory()
    actor = current_actor(f"appender-{os.getpid()}")
    i = 0
    print("ready", flush=True)
    while n == 0 or i < n:
        e = log.append(NewEntry("rel-kill", "prod", "note", {"i": i, "pid": os.getpid()}, actor))
        print(f"{e.seq or 'pending'} {e.uid}", flush=True)
        i += 1
    log.close()


if __name__ == "__main__":
    main()
