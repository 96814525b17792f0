"""Verify's costliest check, a batch at a time: do the payload columns say what the hashed text says?

Each entry's payload column (PostgreSQL gives jsonb's text) must be, as canonical JSON, the payload inside
its hashed text. One JSON decode and one encode per batch, not per entry, halves that cost. (Handing the
batches to a second process was tried: on 2 cores beside the database it gained under 5%, its pickling
eating most of what it took off this one.)
"""

from __future__ import annotations

import json

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads

BATCH = 2000
"""Payloads compared per JSON call."""


# Numbers decoded as their spelling, ints as tuples and floats as lists of characters: then no two values
# of different JSON types compare equal in Python (True == 1 == 1.0 otherwise), and equal values mean
# the same JSON, whatever the key order and spacing (jsonb's text orders keys its own way).
_strict = json.JSONDecoder(parse_int=tuple, parse_float=list).decode


def same(middles: list[str], payloads: list[str]) -> bool:
    """Whether every payload column means, as JSON, exactly its hashed middle (one batch at a time)."""
    if middles == payloads:  # SQLite keeps the payload as canonical JSON already
        return True
    joined_payloads = "[" + ",".join(payloads) + "]"
    joined_middles = "[" + ",".join(middles) + "]"
    try:
        # Both decoded strictly and compared: half the cost of re-encoding. Equal counts of quotes rule
        # out a key given twice in one (JSON keeps its last value); a number spelled two ways (1e-05,
        # 0.00001) differs here and is settled by the canonical comparison below.
        if joined_payloads.count('"') == joined_middles.count('"') and _strict(joined_payloads) == _strict(joined_middles):
            return True
        # Canonical JSON values joined by commas split back into the same values only: equal joins mean
        # equal items (each middle is a hashed, hence canonical, payload).
        return _dumps(_loads(joined_payloads)) == joined_middles
    except ValueError:
        return False


def first_mismatch(middles: list[str], payloads: list[str]) -> int | None:
    """Index of the first payload column whose canonical JSON is not the payload in the hashed text."""
    if same(middles, payloads):
        return None
    for i, (middle, payload) in enumerate(zip(middles, payloads)):
        try:
            if _dumps(_loads(payload)) != middle:
                return i
        except ValueError:
            return i
    return None
