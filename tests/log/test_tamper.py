"""Verify names the first entry that was altered, deleted or inserted behind the cockpit's back."""

from __future__ import annotations

import json

from cockpit.core.log.chain import canonical_fields
from cockpit.core.log.entry import chain_hash, format_at
from tests.log.conftest import Stores, new


def _fill(stores: Stores, n: int = 8):  # type: ignore[no-untyped-def]
    log = stores.open()
    for i in range(n):
        log.append(new(i=i))
    assert log.verify().ok
    return log


def test_an_intact_chain_verifies_with_progress(stores: Stores) -> None:
    log = _fill(stores)
    seen: list[tuple[int, int]] = []
    result = log.verify(lambda done, total: seen.append((done, total)))
    assert result.ok and result.checked == 8 and seen[-1] == (8, 8)


def test_an_updated_payload_is_named(stores: Stores) -> None:
    log = _fill(stores)
    stores.tamper("UPDATE log_entries SET payload = %s WHERE seq = 5", (json.dumps({"i": 99}),))
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 5 and r.reason.startswith("altered") and r.checked == 4


def test_a_deleted_row_is_named(stores: Stores) -> None:
    log = _fill(stores)
    stores.tamper("DELETE FROM log_entries WHERE seq = 3")
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 3 and "missing seq 3 (deleted)" in r.reason


def test_the_newest_entry_deleted_is_beyond_what_a_chain_alone_can_see(stores: Stores) -> None:
    # A known limit of every hash chain: removing the newest entries leaves a valid shorter chain.
    # What catches it is a witness of the head outside the store (notifications carry the hash;
    # `log verify` prints it). This test pins the limit down so nobody claims otherwise.
    log = _fill(stores)
    stores.tamper("DELETE FROM log_entries WHERE seq = 8")
    assert log.verify().ok and log.head().seq == 7


def _forge(stores: Stores, seq: int, prev_hash: str) -> None:
    """A forger who knows the hash formula: the row is self-consistent."""
    e = new(forged=True)
    at = format_at(e.at)
    fields = json.loads(canonical_fields(seq, at, e.release_id, e.environment, e.actor.to_json(), e.kind, e.payload))
    h = chain_hash(prev_hash, fields)
    at_value = at if stores.kind == "sqlite" else e.at
    stores.tamper("INSERT INTO log_entries (seq, at, release_id, environment, actor, kind, payload, prev_hash, hash) "
                  "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                  (seq, at_value, e.release_id, e.environment, json.dumps(e.actor.to_json()), e.kind,
                   json.dumps(e.payload), prev_hash, h))


def test_a_forged_row_inserted_at_the_end_is_named(stores: Stores) -> None:
    log = _fill(stores)
    _forge(stores, 9, "f" * 64)  # does not link to seq 8
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 9 and "chain link broken" in r.reason


def test_a_row_replaced_by_a_forgery_is_named(stores: Stores) -> None:
    log = _fill(stores)
    four = log.entry(4)
    stores.tamper("DELETE FROM log_entries WHERE seq = 5")
    _forge(stores, 5, four.hash)  # links to seq 4 correctly...
    r = log.verify()
    # ...but seq 6 still points at the original seq 5: named, with the replaced seq in the reason.
    assert not r.ok and r.first_bad_seq == 6 and "seq 5 replaced" in r.reason


def test_a_forged_row_after_a_gap_is_named(stores: Stores) -> None:
    log = _fill(stores)
    _forge(stores, 12, log.head().hash)
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 9 and "missing seq 9" in r.reason
