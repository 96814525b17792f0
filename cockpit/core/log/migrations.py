"""Versioned schema of the release log, applied by the cockpit itself.

Each store keeps `schema_migrations(version, name, applied_at)`; `pending()` lists what a
database lacks, in order. Applying is idempotent and safe when several cockpits start at once
(PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE). Never edit a released migration:
add the next version.
"""

from __future__ import annotations

from typing import NamedTuple


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


# Advisory-lock keys (64-bit): one serialises migrations, one serialises appends.
PG_MIGRATE_LOCK = 0x636F636B_7069_7401  # "cockpit" + 1
PG_APPEND_LOCK = 0x636F636B_7069_7402

BODY_VERSION = 4
"""From this version on, log_entries.body keeps the text each entry's hash was computed over."""

PG_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""

POSTGRES: list[Migration] = [
    Migration(1, "log entries, append-only", r"""
CREATE TABLE log_entries (
    seq         bigint PRIMARY KEY CHECK (seq > 0),
    at          timestamptz NOT NULL,
    release_id  text COLLATE "C" NOT NULL,
    environment text COLLATE "C" NOT NULL,
    actor       jsonb NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    payload     jsonb NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    entry_uid   text UNIQUE          -- NewEntry.uid: idempotent appends, spool replay without duplicates
);
-- Keyset paging under each filter: (filter column, seq).
CREATE INDEX log_entries_release     ON log_entries (release_id, seq);
CREATE INDEX log_entries_environment ON log_entries (environment, kind, seq);
CREATE INDEX log_entries_kind        ON log_entries (kind, seq);
CREATE INDEX log_entries_actor       ON log_entries ((actor->>'name'), seq);
CREATE INDEX log_entries_at          ON log_entries (at);

CREATE FUNCTION log_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the release log is append-only: % on log_entries is refused', TG_OP
        USING HINT = 'entries are never changed or removed; append a correcting entry (e.g. a note) instead';
END
$$;
CREATE TRIGGER log_entries_no_update_delete BEFORE UPDATE OR DELETE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_append_only();
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION log_entries_append_only();
"""),
    Migration(2, "notification outbox state", r"""
-- Delivery state is operational, not history: outside the hash chain, and mutable.
CREATE TABLE notify_cursors (
    target      text PRIMARY KEY,    -- a digest of the webhook, never its URL (URLs are secrets)
    through_seq bigint NOT NULL
);
CREATE TABLE notify_deliveries (
    target          text NOT NULL,
    seq             bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending',   -- pending | delivered | failed
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    delivered_at    timestamptz,
    PRIMARY KEY (target, seq)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (target, status, next_attempt_at);
"""),
    Migration(3, "leases outside the chain; appends notify followers", r"""
-- Who holds each environment's cutover lock, and until when. Taking, handing over, forcing and
-- releasing are chain entries (lock.*); renewing a lease only moves expires_at here, so a long
-- cutover does not fill the log with renewals. Kept by the store inside the append transaction.
CREATE TABLE release_locks (
    environment text COLLATE "C" PRIMARY KEY,
    release_id  text COLLATE "C" NOT NULL,
    holder      jsonb NOT NULL,
    taken_at    timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    taken_seq   bigint NOT NULL      -- the lock.taken entry
);
-- Logs written before this table: the newest lock entry of each environment says who holds it.
INSERT INTO release_locks (environment, release_id, holder, taken_at, expires_at, taken_seq)
SELECT environment, release_id, actor, coalesce((payload->>'taken_at')::timestamptz, at),
       (payload->>'expires_at')::timestamptz, seq
FROM (SELECT DISTINCT ON (environment) * FROM log_entries
      WHERE kind IN ('lock.taken', 'lock.renewed', 'lock.released') ORDER BY environment, seq DESC) newest
WHERE kind <> 'lock.released';

CREATE FUNCTION log_entries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('release_cockpit_log', NEW.environment || ' ' || NEW.seq);
    RETURN NULL;
END
$$;
CREATE TRIGGER log_entries_notify AFTER INSERT ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_notify();
"""),
    Migration(4, "the hashed text kept beside the queryable columns; an append in one round trip", r"""
-- body: the canonical JSON the entry's hash was computed over (hash = sha256(prev_hash || body)), kept
-- exactly, so verify hashes what is stored instead of re-encoding jsonb. Entries written before this
-- migration keep body NULL and are verified from their columns, as before: history is never rewritten.
ALTER TABLE log_entries ADD COLUMN body text;

-- The whole append (lock, idempotency by uid, head, insert) in one call, so one round trip. The client
-- sends the body up to its last key ("seq":) and checks the hash it gets back against its own.
CREATE FUNCTION log_entries_append(p_body_before_seq text, p_at timestamptz, p_release_id text,
                                   p_environment text, p_actor jsonb, p_kind text, p_payload jsonb, p_uid text)
RETURNS TABLE (r_seq bigint, r_prev_hash text, r_hash text, r_appended boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
    v_prev text;
    v_hash text;
    v_body text;
BEGIN
    PERFORM pg_advisory_xact_lock(%(append_lock)d);
    IF p_uid IS NOT NULL THEN
        SELECT e.seq, e.prev_hash, e.hash INTO v_seq, v_prev, v_hash FROM log_entries e WHERE e.entry_uid = p_uid;
        IF FOUND THEN
            RETURN QUERY SELECT v_seq, v_prev, v_hash, false;
            RETURN;
        END IF;
    END IF;
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM log_entries e ORDER BY e.seq DESC LIMIT 1;
    v_seq := coalesce(v_seq, 0) + 1;
    v_prev := coalesce(v_prev, repeat('0', 64));
    v_body := p_body_before_seq || v_seq || '}';
    v_hash := encode(sha256(convert_to(v_prev || v_body, 'UTF8')), 'hex');
    INSERT INTO log_entries (seq, at, release_id, environment, actor, kind, payload, prev_hash, hash, entry_uid, body)
    VALUES (v_seq, p_at, p_release_id, p_environment, p_actor, p_kind, p_payload, v_prev, v_hash, p_uid, v_body);
    RETURN QUERY SELECT v_seq, v_prev, v_hash, true;
END
$$;
""" % {"append_lock": PG_APPEND_LOCK}),
]

SQLITE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)"""

SQLITE: list[Migration] = [
    Migration(1, "log entries, append-only", """
CREATE TABLE log_entries (
    seq         INTEGER PRIMARY KEY CHECK (seq > 0),
    at          TEXT NOT NULL,       -- format_at(): fixed-width UTC, sorts as time
    release_id  TEXT NOT NULL,
    environment TEXT NOT NULL,
    actor       TEXT NOT NULL,       -- JSON
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,       -- canonical JSON
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    entry_uid   TEXT UNIQUE
);
CREATE INDEX log_entries_release     ON log_entries (release_id, seq);
CREATE INDEX log_entries_environment ON log_entries (environment, kind, seq);
CREATE INDEX log_entries_kind        ON log_entries (kind, seq);
CREATE INDEX log_entries_actor       ON log_entries (json_extract(actor, '$.name'), seq);
CREATE INDEX log_entries_at          ON log_entries (at);

CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the release log is append-only: UPDATE on log_entries is refused'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the release log is append-only: DELETE on log_entries is refused'); END;
"""),
    Migration(2, "notification outbox state", """
CREATE TABLE notify_cursors (
    target      TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL
);
CREATE TABLE notify_deliveries (
    target          TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    delivered_at    TEXT,
    PRIMARY KEY (target, seq)
);
CREATE INDEX notify_deliveries_due ON notify_deliveries (target, status, next_attempt_at);
"""),
    Migration(3, "leases outside the chain", """
CREATE TABLE release_locks (
    environment TEXT PRIMARY KEY,
    release_id  TEXT NOT NULL,
    holder      TEXT NOT NULL,       -- JSON
    taken_at    TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    taken_seq   INTEGER NOT NULL
);
INSERT INTO release_locks (environment, release_id, holder, taken_at, expires_at, taken_seq)
SELECT environment, release_id, actor, coalesce(json_extract(payload, '$.taken_at'), at),
       json_extract(payload, '$.expires_at'), seq
FROM log_entries e
WHERE kind IN ('lock.taken', 'lock.renewed')
  AND seq = (SELECT max(seq) FROM log_entries n WHERE n.environment = e.environment
             AND n.kind IN ('lock.taken', 'lock.renewed', 'lock.released'));
"""),
    Migration(4, "the hashed text kept beside the queryable columns", """
-- As on PostgreSQL: the canonical JSON the hash was computed over; NULL for entries written before.
ALTER TABLE log_entries ADD COLUMN body TEXT;
"""),
]
