"""Checking the hash chain, shared by every store, and the payload rules that keep it checkable.

`walk_stored` is the verifier: it takes rows in seq order as plain tuples (what a store reads fastest).
An entry written since the store keeps its hashed text (`body`) is checked by hashing that text as it is
and by showing that its queryable columns say the same; an older entry has its hashed text rebuilt from
its columns, exactly as Entry.expected_hash() does. Both kinds verify in one pass.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from cockpit.core.log.base import Keep, VerifyResult
from cockpit.core.log.entry import GENESIS, Actor, NewEntry, canonical_json
from cockpit.core.log.payloads import BATCH, first_mismatch
from cockpit.runbook.textsafe import representable

Row = tuple[int, str, str, str, str, str, str, str, str]
"""(seq, at as format_at text, release_id, environment, actor JSON text, kind, payload JSON text, prev_hash, hash)."""

StoredRow = tuple[int, str, str, "str | None", str, str, str, str, str, str]
"""(seq, prev_hash, hash, body — the hashed text, None for entries written before it was kept —, at as
format_at text, release_id, environment, kind, actor JSON text, payload JSON text): what verify reads."""

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads
_string = json.encoder.encode_basestring  # what the encoder above uses for str with ensure_ascii=False


def canonical_fields(seq: int, at: str, release_id: str, environment: str, actor: Any, kind: str,
                     payload: Any) -> bytes:
    """canonical_json(Entry.hashed_fields()) — spelled out so verify needs no Entry per row."""
    return _dumps({"seq": seq, "at": at, "release_id": release_id, "environment": environment,
                   "actor": actor, "kind": kind, "payload": payload}).encode("utf-8")


def walk(rows: Iterable[Row], total: int, progress: Callable[[int, int], None] | None = None,
         every: int = 10_000) -> VerifyResult:
    """walk_stored over rows of a store that keeps no hashed text (every entry rebuilt from its columns)."""
    return walk_stored(((seq, prev, hash_, None, at, release_id, environment, kind, actor, payload)
                        for seq, at, release_id, environment, actor, kind, payload, prev, hash_ in rows),
                       total, progress, every)


def _around_at(actor_text: str, environment: str, kind: str) -> tuple[str, str]:
    """The hashed text's head before and after the value of `at`."""
    try:
        actor = _dumps(_loads(actor_text))
    except ValueError:  # not JSON: no head matches it
        actor = ""
    return (f'{{"actor":{actor},"at":',
            f',"environment":{_string(environment)},"kind":{_string(kind)},"payload":')


def walk_stored(rows: Iterable[StoredRow], total: int, progress: Callable[[int, int], None] | None = None,
                every: int = 10_000, *, canonical_columns: bool = False,
                keep: Keep | None = None) -> VerifyResult:
    """Name the first entry that breaks the chain: altered, missing (deleted), inserted, unlinked, or whose
    queryable columns no longer say what its hashed text says. `canonical_columns`: the store keeps actor and
    payload as canonical JSON text (SQLite), so an entry without body is first hashed from them as they are.
    Rows `keep` says yes to come back in the result's `kept`, without their hashed text (once the walk found
    them intact)."""
    expected_seq = 1
    prev_hash = GENESIS
    prev_seq = 0
    sha = hashlib.sha256
    # canonical_fields() spelled out, its fixed parts kept: a log has few distinct actors, environments,
    # kinds and releases, each spelled once here (the caches are bounded, whatever a log holds).
    heads: dict[tuple[str, str, str], tuple[str, str]] = {}  # (actor, environment, kind): the head around `at`
    tails: dict[str, str] = {}  # release_id: the tail up to seq
    seqs: list[int] = []  # entries whose payload column is compared in the next batch
    middles: list[str] = []
    payloads: list[str] = []
    next_progress = every
    kept: list[StoredRow] = []

    def flush() -> VerifyResult | None:
        bad = first_mismatch(middles, payloads) if middles else None
        result = None
        if bad is not None:
            seq = seqs[bad]
            result = VerifyResult(False, seq - 1, seq, f"altered: seq {seq}'s payload column does not say what "
                                                       "its hashed text says")
        seqs.clear()
        middles.clear()
        payloads.clear()
        return result

    def failed(seq: int, checked: int, reason: str) -> VerifyResult:
        """The first failure in seq order: a payload column of the batch not compared yet may come first."""
        return flush() or VerifyResult(False, checked, seq, reason)

    for seq, row_prev, row_hash, body, at, release_id, environment, kind, actor_text, payload_text in rows:
        if seq != expected_seq:
            if seq > expected_seq:
                return failed(expected_seq, expected_seq - 1,
                              f"missing seq {expected_seq} (deleted): the next entry is seq {seq}")
            return failed(seq, expected_seq - 1, f"inserted: seq {seq} is out of sequence after seq {prev_seq}")
        around = heads.get((actor_text, environment, kind))
        if around is None:
            if len(heads) >= 4096:
                heads.clear()
            around = heads[(actor_text, environment, kind)] = _around_at(actor_text, environment, kind)
        head = around[0] + _string(at) + around[1]
        before_seq = tails.get(release_id)
        if before_seq is None:
            if len(tails) >= 4096:
                tails.clear()
            before_seq = tails[release_id] = f',"release_id":{_string(release_id)},"seq":'
        tail = f"{before_seq}{seq}}}"
        if body is not None:
            intact = sha((row_prev + body).encode("utf-8")).hexdigest() == row_hash
        else:
            as_stored = row_prev + head + payload_text + tail
            intact = canonical_columns and sha(as_stored.encode("utf-8")).hexdigest() == row_hash
            if not intact:
                try:
                    rebuilt = head + _dumps(_loads(payload_text)) + tail
                except ValueError:
                    rebuilt = ""
                intact = sha((row_prev + rebuilt).encode("utf-8")).hexdigest() == row_hash
        if not intact:
            return failed(seq, seq - 1, f"altered: seq {seq}'s content does not match its hash")
        if row_prev != prev_hash:
            return failed(seq, seq - 1,
                          f"chain link broken: seq {seq}'s prev_hash is not seq {prev_seq}'s hash "
                          f"(seq {seq} was inserted, or seq {prev_seq} replaced)")
        if body is not None:
            # The hashed text is intact; the columns people and the cockpit query must say the same.
            start, end = len(head), len(body) - len(tail)
            if end <= start or not body.startswith(head) or not body.endswith(tail):
                return failed(seq, seq - 1, f"altered: seq {seq}'s columns do not say what its hashed text says")
            seqs.append(seq)
            middles.append(body[start:end])
            payloads.append(payload_text)
            if len(middles) >= BATCH:
                bad_batch = flush()
                if bad_batch is not None:
                    return bad_batch
        if keep is not None and keep(kind, environment, payload_text):
            kept.append((seq, row_prev, row_hash, None, at, release_id, environment, kind, actor_text,
                         payload_text))
        prev_hash = row_hash
        prev_seq = seq
        expected_seq += 1
        if progress is not None and expected_seq > next_progress:
            progress(expected_seq - 1 - len(middles), total)
            next_progress += every
    last = flush()
    if last is not None:
        return last
    if progress is not None:
        progress(expected_seq - 1, total)
    return VerifyResult(True, expected_seq - 1, head=(prev_seq, prev_hash) if prev_seq else None, kept=tuple(kept))


class PayloadError(ValueError):
    """A payload that cannot be stored so that its hash can be checked later."""


def normalize(value: Any) -> Any:
    """Make a payload survive every store byte-for-byte under canonical JSON.

    PostgreSQL's jsonb keeps numbers as numeric: 1e16 comes back as the integer 10000000000000000
    and -0.0 as 0.0, and it refuses NUL characters. Normalising before sealing keeps the hash
    recomputable from what any store gives back. NaN and infinities are not JSON: refused. A lone
    surrogate (argv or env bytes that were not UTF-8, a JSON "\ud800") cannot be encoded as UTF-8 at
    all: it becomes its visible escape, so canonical JSON never fails whoever wrote the entry.
    """
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PayloadError(f"payload holds {value!r}, which JSON cannot represent")
        if value == 0.0:
            return 0.0
        if value.is_integer() and abs(value) >= 1e16:
            return int(value)
        return value
    if isinstance(value, str):
        value = representable(value)
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {normalize(k) if isinstance(k, str) else str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def prepare(new: NewEntry) -> NewEntry:
    """The entry as it will be sealed: normalised, and refused clearly when not JSON."""
    try:
        payload = normalize(new.payload)
        canonical_json(payload)
    except (TypeError, ValueError) as e:
        raise PayloadError(f"payload of a {new.kind!r} entry is not JSON: {e}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"payload of a {new.kind!r} entry must be a JSON object")
    actor = Actor(**{k: normalize(v) for k, v in new.actor.to_json().items()})
    return replace(new, payload=payload, actor=actor, release_id=normalize(new.release_id),
                   environment=normalize(new.environment), kind=normalize(new.kind))
