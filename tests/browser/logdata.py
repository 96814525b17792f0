"""Deterministic release histories for the browser's tests, scenes and benchmark.

Fixed clock, actors and payloads: the same call always produces the same entries, seqs and
hashes. `bulk_load` seals a chain and inserts it in one transaction — appending one entry at a
time (fsync per entry) would make a 2,000-entry test log take seconds; the rows it writes are
exactly what `append` would write (same `seal`, same insert parameters).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from cockpit.core import kinds
from cockpit.core.log.entry import GENESIS, Actor, Entry, NewEntry, seal
from cockpit.core.log.sqlstore import COLUMNS

T0 = datetime(2024, 5, 6, 9, 0, 0, tzinfo=UTC)
ALICE = Actor(name="alice", os_user="alice", host="ops-1", git_email="alice@example.com")
BOB = Actor(name="bob", os_user="bob", host="ops-2", git_email="bob@example.com")
CAROL = Actor(name="carol", os_user="carol", host="audit-1", git_email="carol@example.com")
ENVS = ("prod", "staging")


def _ev(cid: str, status: str, detail: str, at: datetime, excerpt: str = "", blocking: bool = True) -> dict[str, Any]:
    return {"id": cid, "kind": "http" if cid.startswith("health") else "smoke", "status": status,
            "blocking": blocking, "detail": detail, "excerpt": excerpt, "duration_ms": 42.0,
            "taken_at": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z", "data": {}}


def release_history(n: int, at: datetime, *, environment: str = "prod", rollback: bool = False,
                    nogo: bool = False) -> list[NewEntry]:
    """One release's entries (session, evidence, sign-off, decision, flags, stages, maybe a rollback)."""
    rid = f"shop-1.{n}"
    sha = f"{n:04d}" + "ab12cd34ef56" * 3
    t = iter(at + timedelta(minutes=i) for i in range(100))
    out: list[NewEntry] = []

    def add(kind: str, payload: dict[str, Any], actor: Actor = ALICE) -> None:
        when = next(t)
        out.append(NewEntry(rid, environment, kind, payload, actor, at=when, uid=f"{rid}-{environment}-{len(out)}"))

    add(kinds.SESSION_OPENED, {"target": {"ref": "origin/main", "sha": sha}, "runbook": "shop.toml", "cockpit": "0.1.0"})
    ev_at = at + timedelta(minutes=1)
    add(kinds.EVIDENCE_TAKEN, {"stage": None, "evidence": [
        _ev("health-api", "pass", "200 in 87 ms", ev_at, '{"status": "ok"}'),
        _ev("smoke-sso", "fail" if nogo else "pass", "smoke_sso=FAIL" if nogo else "smoke_sso=PASS", ev_at,
            "smoke_sso=PASS\nsmoke_realtime=PASS"),
        _ev("latency-p95", "pass", "p95 412 ms < 500 ms", ev_at, blocking=False)]})
    add(kinds.ITEM_TICKED, {"check_id": "backup", "note": "dump restored on scratch db"}, BOB)
    add(kinds.SIGNOFF_RECORDED, {"release_owner": "alice", "rollback_owner": "bob",
                                 "rollback_ref": f"pre-release-1.{n}", "rollback_sha": "9f8e7d6c5b4a" * 3})
    if nogo:
        add(kinds.DECISION_NOGO, {"reason": "smoke-sso failed", "reasons": ["'smoke-sso' failed: smoke_sso=FAIL"]})
        add(kinds.NOTE, {"text": "retry after the SSO fix"}, BOB)
        return out
    add(kinds.DECISION_GO, {"target_sha": sha, "confirmation": sha[:7], "evidence": {"health-api": "pass"},
                            "warnings": []})
    add(kinds.FLAGS_SNAPSHOT, {"flags": {"CHECKOUT_V2": False, "SEARCH_NEXT": False, "LEGACY_CART": True}})
    add(kinds.STAGE_STARTED, {"stage": "layer-1", "flags": ["CHECKOUT_V2"]})
    add(kinds.FLAG_FLIPPED, {"flag": "CHECKOUT_V2", "before": False, "after": True, "requested": True,
                             "backend": "http", "reason": "layer-1", "ok": True, "error": "", "stage": "layer-1",
                             "break_glass": False})
    if rollback:
        add(kinds.ROLLBACK_STARTED, {"rollback_ref": f"pre-release-1.{n}", "plan": ["flags-off", "deploy"],
                                     "scope": "all"}, BOB)
        add(kinds.FLAG_FLIPPED, {"flag": "CHECKOUT_V2", "before": True, "after": False, "requested": False,
                                 "backend": "http", "reason": "rollback", "ok": True, "error": "", "stage": None,
                                 "break_glass": False}, BOB)
        add(kinds.ROLLBACK_STEP, {"step": "flags-off", "outcome": "done", "detail": "CHECKOUT_V2 off"}, BOB)
        add(kinds.ROLLBACK_STEP, {"step": "deploy", "outcome": "done", "detail": "exit 0"}, BOB)
        add(kinds.ROLLBACK_FINISHED, {"outcome": "done", "elapsed_s": 94.0, "note": "error rate back to 0.1%"}, BOB)
        return out
    add(kinds.STAGE_STABLE, {"stage": "layer-1", "note": "error rate flat"})
    add(kinds.RELEASE_DONE, {"note": "all layers stable"})
    return out


def history(releases: int, *, start: datetime = T0) -> list[NewEntry]:
    """`releases` releases one after another: every 5th rolled back, every 7th a NO-GO; prod and staging."""
    out: list[NewEntry] = []
    for n in range(1, releases + 1):
        out += release_history(n, start + timedelta(hours=2 * n), environment="staging" if n % 4 == 0 else "prod",
                               rollback=n % 5 == 0, nogo=n % 7 == 0)
    return out


def notes(count: int, *, start: datetime = T0, release: str = "ops") -> Iterator[NewEntry]:
    """Many small entries fast (for volume): notes by rotating actors."""
    actors = (ALICE, BOB, CAROL)
    for i in range(count):
        yield NewEntry(release, "prod", kinds.NOTE, {"text": f"note {i}"}, actors[i % 3],
                       at=start + timedelta(seconds=i), uid=f"note-{release}-{i}")


def sealed(news: list[NewEntry], *, first_seq: int = 1, prev_hash: str = GENESIS) -> list[Entry]:
    out: list[Entry] = []
    for i, n in enumerate(news):
        e = seal(n, first_seq + i, prev_hash)
        out.append(e)
        prev_hash = e.hash
    return out


def bulk_load(store: Any, news: list[NewEntry]) -> list[Entry]:
    """Seal `news` after the store's head and insert them in one transaction (test-only: uses the
    store's insert parameters, the same ones its append uses)."""
    head = store.head()
    entries = sealed(news, first_seq=(head.seq + 1) if head else 1, prev_hash=head.hash if head else GENESIS)
    p = store.dialect.param
    marks = ", ".join([p] * len(COLUMNS.split(",")))
    with store._serialised() as tx:
        for e in entries:
            tx.execute(f"INSERT INTO log_entries ({COLUMNS}) VALUES ({marks})", store._insert_params(e))
    return entries


def tamper(location: dict[str, Any], sql: str, params: tuple[Any, ...] = ()) -> None:
    """Change a row behind the cockpit's back, as a superuser would: PostgreSQL with the
    append-only triggers disabled, SQLite with them dropped and recreated. `%s` placeholders."""
    if "dsn" in location:
        import psycopg

        with psycopg.connect(location["dsn"], autocommit=True) as conn, conn.transaction():
            conn.execute("ALTER TABLE log_entries DISABLE TRIGGER log_entries_no_update_delete")
            conn.execute(sql, params)
            conn.execute("ALTER TABLE log_entries ENABLE TRIGGER log_entries_no_update_delete")
        return
    import sqlite3

    conn = sqlite3.connect(location["sqlite_path"], isolation_level=None)
    try:
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                "AND tbl_name = 'log_entries'").fetchall()
        conn.execute("BEGIN")
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute(sql.replace("%s", "?"), params)
        for _, ddl in triggers:
            conn.execute(ddl)
        conn.execute("COMMIT")
    finally:
        conn.close()
