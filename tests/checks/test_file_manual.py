"""`file` and `manual` evidence."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cockpit.core.checks import take
from cockpit.core.evidence import Status, Tick
from tests.checks.conftest import make_check


def file(path: str, **kw):  # noqa: ANN001, ANN201
    return make_check(kind="file", path=path, **kw)


def age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


async def test_existing_file_passes(make_ctx, tmp_path: Path):
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "db.dump").write_bytes(b"x" * 2500)
    ev = await take(file("backups/db.dump"), make_ctx())
    assert ev.status is Status.PASS
    assert ev.detail == "backups/db.dump exists, 0s old, 2.5 kB"
    assert ev.data["size"] == 2500


async def test_missing_file_fails(make_ctx, tmp_path: Path):
    ev = await take(file("backups/db.dump"), make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail == f"backups/db.dump not found ({tmp_path / 'backups/db.dump'})"


async def test_old_file_is_stale(make_ctx, tmp_path: Path):
    dump = tmp_path / "db.dump"
    dump.write_text("x")
    age(dump, 26 * 3600)
    ev = await take(file("db.dump", max_age="1d"), make_ctx())
    assert ev.status is Status.STALE
    assert ev.detail == "db.dump is 1d 2h old (max_age 1d)"
    ev = await take(file("db.dump", max_age="2d"), make_ctx())
    assert ev.status is Status.PASS


async def test_glob_takes_the_newest(make_ctx, tmp_path: Path):
    for i, hours in enumerate([30, 5, 50]):
        p = tmp_path / f"db-{i}.sql.gz"
        p.write_text("x")
        age(p, hours * 3600)
    ev = await take(file("db-*.sql.gz", max_age="6h"), make_ctx())
    assert ev.status is Status.PASS and "db-1.sql.gz" in ev.detail
    ev = await take(file("db-*.sql.gz", max_age="1h"), make_ctx())
    assert ev.status is Status.STALE and ev.detail.startswith("db-*.sql.gz → db-1.sql.gz is 5h 0m old")
    ev = await take(file("none-*.gz"), make_ctx())
    assert ev.status is Status.FAIL


async def test_placeholders_and_directories(make_ctx, tmp_path: Path):
    (tmp_path / "prod" / "snapshots").mkdir(parents=True)
    ev = await take(file("{env.name}/snapshots"), make_ctx())
    assert ev.status is Status.PASS and ev.detail.endswith("directory")
    ev = await take(file("{rollback_ref}.dump"), make_ctx())
    assert ev.status is Status.ERROR and "placeholder {rollback_ref} has no value" in ev.detail


async def test_manual_pending_until_ticked(make_ctx):
    check = make_check(kind="manual", id="backup", prompt="Postgres dump created and restore verified", max_age="1h")
    ev = await take(check, make_ctx())
    assert ev.status is Status.PENDING
    assert ev.detail == "waiting for a tick: Postgres dump created and restore verified"
    at = datetime.now(UTC) - timedelta(minutes=5)
    tick = Tick("backup", by="alice", note="restore verified on staging-db-2", at=at)
    ev = await take(check, make_ctx(ticks={"backup": tick}))
    assert ev.status is Status.PASS
    assert ev.detail == "ticked by alice: restore verified on staging-db-2"
    assert ev.taken_at == at  # as old as the tick: max_age counts from it
    assert ev.freshness(timedelta(minutes=1)).status is Status.STALE


async def test_manual_tick_without_note(make_ctx):
    check = make_check(kind="manual", id="comms", prompt="Status page updated")
    ev = await take(check, make_ctx(ticks={"comms": Tick("comms", "bob", "", datetime.now(UTC))}))
    assert ev.detail == "ticked by bob"


async def test_broken_input_becomes_error_evidence_not_an_exception(make_ctx):
    # A tick record of the wrong shape (e.g. a bad log replay) must not crash the screen.
    check = make_check(kind="manual", id="comms", prompt="Status page updated")
    ev = await take(check, make_ctx(ticks={"comms": "not a tick"}))
    assert ev.status is Status.ERROR
    assert ev.detail.startswith("the check could not run: AttributeError")
