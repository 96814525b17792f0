"""The hashed text kept beside the queryable columns (migration 4): logs written before it verify after it,
in one pass with the entries written since, and an edit to either form is found and named."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.core.log import migrations
from cockpit.core.log.chain import BATCH
from cockpit.core.log.entry import GENESIS, canonical_json, seal
from cockpit.core.log.readonly import open_store
from cockpit.core.log.sqlstore import COLUMNS
from tests.log.conftest import BOB, Stores, new


def _rows(stores: Stores) -> list[tuple[int, str | None, str, str]]:
    """(seq, body, prev_hash, hash) of every row, read behind the store's back."""
    if stores.kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(stores.target)
        try:
            return conn.execute("SELECT seq, body, prev_hash, hash FROM log_entries ORDER BY seq").fetchall()
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(stores.target) as conn:
        return conn.execute("SELECT seq, body, prev_hash, hash FROM log_entries ORDER BY seq").fetchall()


@pytest.fixture
def mixed(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Seq 1-4 written by a store that had three migrations, seq 5-8 after migration 4."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "SQLITE", migrations.SQLITE[:3])
        m.setattr(migrations, "POSTGRES", migrations.POSTGRES[:3])
        old = stores.open()
        assert old.schema_version() == 3 and not old.keeps_body()
        for i in range(4):
            old.append(new(i=i, note="before migration 4", nested={"b": [1, 2.5, None], "a": "ü\"\n"}))
    log = stores.open()  # migrates
    assert log.schema_version() == 4
    for i in range(4, 8):
        log.append(new(i=i, note="after migration 4", nested={"b": [1, 2.5, None], "a": "ü\"\n"}))
    yield log


def test_old_entries_keep_no_body_new_ones_keep_exactly_what_was_hashed(stores: Stores, mixed: Any) -> None:
    rows = _rows(stores)
    assert [body is None for _, body, _, _ in rows] == [True] * 4 + [False] * 4
    for (seq, body, prev, hash_), entry in zip(rows[4:], list(mixed.entries())[4:]):
        # An auditor can check an entry with sha256 alone: hash = sha256(prev_hash || body).
        assert hashlib.sha256((prev + body).encode()).hexdigest() == hash_ == entry.hash
        assert body == canonical_json(entry.hashed_fields()).decode()
        assert entry.expected_hash() == entry.hash


def test_a_log_written_before_the_migration_verifies_with_the_new_entries_in_one_pass(stores: Stores,
                                                                                     mixed: Any) -> None:
    r = mixed.verify()
    assert r.ok and r.checked == 8
    seen: list[tuple[int, int]] = []
    assert mixed.verify(lambda done, total: seen.append((done, total))).ok and seen[-1] == (8, 8)


# Each edit behind the cockpit's back, and the words verify names it with.
EDITS = {
    "payload column of a new entry": ("UPDATE log_entries SET payload = %s WHERE seq = 6",
                                      (json.dumps({"i": 5, "note": "after migration 4", "forged": True}),),
                                      6, "payload column does not say what its hashed text says"),
    "hashed text of a new entry": ("UPDATE log_entries SET body = replace(body, 'after', 'AFTER') WHERE seq = 7", (),
                                   7, "content does not match its hash"),
    "release of a new entry": ("UPDATE log_entries SET release_id = 'shop-2' WHERE seq = 5", (),
                               5, "columns do not say what its hashed text says"),
    "kind of a new entry": ("UPDATE log_entries SET kind = 'decision.go' WHERE seq = 8", (),
                            8, "columns do not say what its hashed text says"),
    "payload of an old entry": ("UPDATE log_entries SET payload = %s WHERE seq = 2", (json.dumps({"i": 99}),),
                                2, "content does not match its hash"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_after_the_migration_is_named(stores: Stores, mixed: Any, edit: str) -> None:
    sql, params, seq, words = EDITS[edit]
    stores.tamper(sql, params)
    r = mixed.verify()
    assert not r.ok and r.first_bad_seq == seq and r.checked == seq - 1
    assert r.reason.startswith("altered") and words in r.reason, r.reason


def test_an_actor_changed_in_its_column_is_named(stores: Stores, mixed: Any) -> None:
    actor = json.dumps(BOB.to_json())
    stores.tamper("UPDATE log_entries SET actor = %s WHERE seq = 6", (actor,))
    r = mixed.verify()
    assert not r.ok and r.first_bad_seq == 6 and "columns do not say" in r.reason


def test_a_store_opened_read_only_before_migrating_verifies(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    # `cockpit log verify` never migrates: a log whose schema predates the body is walked as it is.
    with monkeypatch.context() as m:
        m.setattr(migrations, "SQLITE", migrations.SQLITE[:3])
        m.setattr(migrations, "POSTGRES", migrations.POSTGRES[:3])
        old = stores.open()
        for i in range(3):
            old.append(new(i=i))
    reader = open_store(**({"sqlite_path": Path(stores.target)} if stores.kind == "sqlite" else {"dsn": stores.target}))
    try:
        r = reader.verify()
        assert r.ok and r.checked == 3
    finally:
        reader.close()


def test_an_edit_deep_in_a_batch_of_payloads_is_named_exactly(stores: Stores) -> None:
    """Payload columns are compared a batch at a time; the one that differs is still named."""
    log = stores.open()
    n = BATCH + 500
    prev, rows = GENESIS, []
    for i in range(n):
        e = seal(new(i=i, text=f"entry {i}", values=[i, i / 7, {"z": 1, "a": [True, None]}]), i + 1, prev)
        rows.append(log._insert_params(e))
        prev = e.hash
    p = log.dialect.param
    with log._serialised() as tx:  # one transaction: thousands of fsyncs would be the test's whole time
        for r in rows:
            tx.execute(f"INSERT INTO log_entries ({COLUMNS}) VALUES ({', '.join([p] * len(r))})", r)
    assert log.verify().ok
    stores.tamper("UPDATE log_entries SET payload = %s WHERE seq = %s",
                  (json.dumps({"i": 1733, "text": "entry 1733", "values": [1733, 1733 / 7, {"z": 1, "a": [1, None]}]}),
                   1734))
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 1734 and r.checked == 1733 and "payload column" in r.reason


def test_awkward_text_in_every_column_verifies_and_an_edit_to_it_is_named(stores: Stores) -> None:
    log = stores.open()
    odd = 'tab\there, new\nline, back\\slash \\N, "quoted", ü \u2028 \x01'
    for i in range(3):
        log.append(new(kind=f"note.{odd}", release=f"shop {odd}", env=f"prod {odd}", text=odd, i=i,
                       nested={odd: [odd, 1.5, None, True]}))
    assert log.verify().ok
    stores.tamper("UPDATE log_entries SET payload = %s WHERE seq = 2",
                  (json.dumps({"text": odd, "i": 1, "nested": {odd: [odd, 1.5, None, False]}}),))
    r = log.verify()
    assert not r.ok and r.first_bad_seq == 2 and "payload column" in r.reason
