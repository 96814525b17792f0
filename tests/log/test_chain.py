"""verify's fast path computes exactly Entry.expected_hash(), on awkward input too."""

from __future__ import annotations

import json
import random
import string

from cockpit.core.log.chain import walk
from cockpit.core.log.entry import GENESIS, Actor, NewEntry, format_at, seal

AWKWARD = string.printable + "üé\u2028\u0001\"\\✓"


def test_walk_agrees_with_entry_expected_hash_on_random_payloads() -> None:
    rng = random.Random(7)
    values = [1, 2.5, -3e-7, 10**20, "x\"\n\t\u0001ü", None, True, [1, {"b": 2, "a": []}], {"z": {"y": 1}}]
    rows, prev = [], GENESIS
    for seq in range(1, 400):
        payload = {"".join(rng.choices(AWKWARD, k=5)): rng.choice(values) for _ in range(4)}
        e = seal(NewEntry("r\"1\u2028", "prod\\", "k\x01ind", payload, Actor("nä\"me", "u", "h", "")), seq, prev)
        assert e.expected_hash() == e.hash
        # Stores hand JSON back in their own spelling (jsonb reorders keys and adds spaces).
        rows.append((e.seq, format_at(e.at), e.release_id, e.environment, json.dumps(e.actor.to_json(), indent=1),
                     e.kind, json.dumps(dict(reversed(list(e.payload.items())))), e.prev_hash, e.hash))
        prev = e.hash
    assert walk(rows, len(rows)).ok
    bad = list(rows)
    bad[100] = bad[100][:6] + (json.dumps({"forged": 1}),) + bad[100][7:]
    assert walk(bad, len(bad)).first_bad_seq == 101
