"""Witnesses: a head (seq, hash) written down outside the store, checked against it later.

The chain proves that no entry was altered, inserted or deleted *before* the head; removing
the newest entries leaves a shorter chain that is still valid. A head kept elsewhere — printed
by `cockpit log verify`, carried by every webhook notification, pasted into a ticket — closes
that gap: the entry it names must still be there, with that hash.
"""

from __future__ import annotations

import re

from cockpit.core.log.base import LogFilter, ReleaseLog

_WITNESS = re.compile(r"^\s*(\d+)\s*:\s*([0-9a-fA-F]{64})\s*$")


def parse_witness(text: str) -> tuple[int, str]:
    m = _WITNESS.match(text)
    if not m:
        raise ValueError(f"a witness is SEQ:HASH (the 64 hex digits of that entry's hash), not {text!r}")
    return int(m.group(1)), m.group(2).lower()


def check_witness(log: ReleaseLog, seq: int, hash_: str) -> str | None:
    """None when the log still holds entry `seq` with `hash_`; else what is wrong, in words."""
    found = log.page(LogFilter(), after_seq=seq - 1, limit=1)
    if not found or found[0].seq != seq:
        head = log.head()
        return (f"entry {seq} is gone: the log ends at seq {head.seq if head else 0}, "
                f"so entries were removed after {seq}:{hash_[:12]}… was witnessed")
    if found[0].hash != hash_:
        return f"entry {seq} has hash {found[0].hash[:12]}…, not the witnessed {hash_[:12]}…: it was rewritten"
    return None
