"""The release lock: one active cutover per environment, a lease, a logged forced unlock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cockpit.core.log.base import AppendRefused, LogFilter
from cockpit.core.log.lock import lock_holder
from tests.helpers.locks import force_unlock, release_lock, renew, take_lock
from tests.log.conftest import ALICE, BOB, Stores

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=30)


def test_a_second_cockpit_is_refused_naming_the_holder_and_the_lease(stores: Stores) -> None:
    a, b = stores.open(), stores.open()
    taken = take_lock(a, "prod", "shop-1", ALICE, LEASE, now=T0)
    assert taken.kind == "lock.taken" and taken.payload["expires_at"] == "2026-03-01T10:30:00.000000Z"
    with pytest.raises(AppendRefused, match=r"locked by alice .* shop-1, lease until 2026-03-01T10:30:00"):
        take_lock(b, "prod", "shop-2", BOB, LEASE, now=T0 + timedelta(minutes=5))
    assert take_lock(b, "staging", "shop-2", BOB, LEASE, now=T0).seq == 2  # other environments are free
    held = lock_holder(b, "prod", T0 + timedelta(minutes=5))
    assert held is not None and held.holder.name == "alice" and held.release_id == "shop-1"


def test_the_lease_ends_so_a_crashed_cockpit_does_not_lock_the_team_out(stores: Stores) -> None:
    log = stores.open()
    take_lock(log, "prod", "shop-1", ALICE, LEASE, now=T0)
    later = T0 + LEASE + timedelta(seconds=1)
    assert lock_holder(log, "prod", later) is None
    assert take_lock(log, "prod", "shop-2", BOB, LEASE, now=later).release_id == "shop-2"


def test_renew_extends_only_your_own_lease_and_writes_no_entry(stores: Stores) -> None:
    log = stores.open()
    take_lock(log, "prod", "shop-1", ALICE, LEASE, now=T0)
    r = renew(log, "prod", "shop-1", ALICE, LEASE, now=T0 + timedelta(minutes=25))
    assert r.taken_at == T0 and r.expires_at == T0 + timedelta(minutes=55)
    held = lock_holder(stores.open(), "prod", T0 + timedelta(minutes=50))  # another process sees it
    assert held is not None and held.holder.name == "alice" and held.expires_at == r.expires_at
    with pytest.raises(AppendRefused, match="locked by alice"):
        renew(log, "prod", "shop-1", BOB, LEASE, now=T0 + timedelta(minutes=26))
    with pytest.raises(AppendRefused, match="not locked by you"):
        renew(log, "staging", "shop-1", ALICE, LEASE, now=T0)
    assert [e.kind for e in log.entries()] == ["lock.taken"]  # renewals are not history


def test_a_lapsed_lease_is_still_yours_to_renew_until_someone_takes_it(stores: Stores) -> None:
    log = stores.open()
    take_lock(log, "prod", "shop-1", ALICE, LEASE, now=T0)
    late = T0 + LEASE + timedelta(minutes=1)
    assert lock_holder(log, "prod", late) is None
    renew(log, "prod", "shop-1", ALICE, LEASE, now=late)
    assert lock_holder(log, "prod", late).holder.name == "alice"
    take_lock(log, "prod", "shop-2", BOB, LEASE, now=late + LEASE + timedelta(seconds=1))
    with pytest.raises(AppendRefused, match="locked by bob"):
        renew(log, "prod", "shop-1", ALICE, LEASE, now=late + LEASE + timedelta(seconds=2))


def test_release_then_someone_else_may_take_it(stores: Stores) -> None:
    log = stores.open()
    take_lock(log, "prod", "shop-1", ALICE, LEASE, now=T0)
    with pytest.raises(AppendRefused, match="forced unlock"):
        release_lock(log, "prod", "shop-1", BOB, now=T0)
    release_lock(log, "prod", "shop-1", ALICE, now=T0 + timedelta(minutes=1))
    assert lock_holder(log, "prod", T0 + timedelta(minutes=2)) is None
    take_lock(log, "prod", "shop-2", BOB, LEASE, now=T0 + timedelta(minutes=2))
    with pytest.raises(AppendRefused, match="not locked"):
        release_lock(log, "staging", "shop-2", BOB, now=T0)


def test_forced_unlock_needs_a_reason_and_is_logged(stores: Stores) -> None:
    log = stores.open()
    take_lock(log, "prod", "shop-1", ALICE, LEASE, now=T0)
    with pytest.raises(ValueError, match="reason"):
        force_unlock(log, "prod", "  ", BOB, now=T0)
    e = force_unlock(log, "prod", "alice's laptop died mid-cutover", BOB, now=T0 + timedelta(minutes=3))
    assert (e.kind, e.release_id, e.actor.name) == ("lock.released", "shop-1", "bob")
    assert e.payload["forced"] is True and e.payload["reason"] == "alice's laptop died mid-cutover"
    assert e.payload["previous_holder"]["name"] == "alice"
    assert lock_holder(log, "prod", T0 + timedelta(minutes=4)) is None
    assert e.expected_hash() == e.hash  # what the guard added is in the chain
    with pytest.raises(AppendRefused, match="not locked"):
        force_unlock(log, "prod", "again", BOB, now=T0 + timedelta(minutes=4))


def test_ten_cockpits_racing_for_the_lock_exactly_one_wins(stores: Stores) -> None:
    logs = [stores.open() for _ in range(10)]
    start = threading.Barrier(10)
    won: list[int] = []
    refused: list[int] = []

    def race(i: int) -> None:
        start.wait()
        try:
            take_lock(logs[i], "prod", f"shop-{i}", ALICE.__class__(f"user{i}", "u", "h"), LEASE)
            won.append(i)
        except AppendRefused:
            refused.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 9
    assert logs[0].count(LogFilter(kind="lock.")) == 1


def test_a_log_written_before_the_lock_table_keeps_its_lock(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs from before the lock table held the lease in lock.* entries; the migration reads the newest."""
    from cockpit.core.log import migrations
    from cockpit.core.log.sqlstore import SqlStore
    from tests.log.conftest import new

    with monkeypatch.context() as m:  # the store as it was: two migrations, no lock table to keep
        m.setattr(migrations, "SQLITE", migrations.SQLITE[:2])
        m.setattr(migrations, "POSTGRES", migrations.POSTGRES[:2])
        m.setattr(SqlStore, "_keep_lock_table", lambda self, tx, e: None)
        old = stores.open()
        stamp = "2026-03-01T10:00:00.000000Z"
        old.append(new("lock.taken", "shop-1", "prod", ALICE, lease_s=1800, taken_at=stamp,
                       expires_at="2026-03-01T10:30:00.000000Z"))
        old.append(new("lock.renewed", "shop-1", "prod", ALICE, lease_s=1800, taken_at=stamp,
                       expires_at="2026-03-01T10:45:00.000000Z"))
        old.append(new("lock.taken", "shop-9", "staging", BOB, lease_s=60, taken_at=stamp,
                       expires_at="2026-03-01T10:01:00.000000Z"))
        old.append(new("lock.released", "shop-9", "staging", BOB, forced=False))
        assert old.schema_version() == 2
    log = stores.open()  # migrates
    assert log.schema_version() >= 3
    row = log.lock_row("prod")
    assert row is not None and row.holder.name == "alice" and row.release_id == "shop-1"
    assert row.taken_at == T0 and row.expires_at == T0 + timedelta(minutes=45) and row.seq == 2
    assert log.lock_row("staging") is None  # released before the migration
    assert log.verify().ok
