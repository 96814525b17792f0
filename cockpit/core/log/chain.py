"""Checking the hash chain, shared by every store, and the payload rules that keep it checkable.

`walk` is the verifier: it takes rows in seq order as plain tuples (what a store reads fastest)
and recomputes each hash exactly as Entry.expected_hash() does, without building Entry objects.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from cockpit.core.log.base import VerifyResult
from cockpit.core.log.entry import GENESIS, Actor, NewEntry, canonical_json
from cockpit.runbook.textsafe import representable

Row = tuple[int, str, str, str, str, str, str, str, str]
"""(seq, at as format_at text, release_id, environment, actor JSON text, kind, payload JSON text, prev_hash, hash)."""

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
    """Name the first entry that breaks the chain: altered, missing (deleted), inserted, or unlinked."""
    expected_seq = 1
    prev_hash = GENESIS
    prev_seq = 0
    checked = 0
    sha = hashlib.sha256
    actors: dict[str, str] = {}   # few distinct actors: canonicalise each spelling once
    for seq, at, release_id, environment, actor_text, kind, payload_text, row_prev, row_hash in rows:
        if seq != expected_seq:
            if seq > expected_seq:
                return VerifyResult(False, checked, expected_seq,
                                    f"missing seq {expected_seq} (deleted): the next entry is seq {seq}")
            return VerifyResult(False, checked, seq, f"inserted: seq {seq} is out of sequence after seq {prev_seq}")
        actor = actors.get(actor_text)
        if actor is None:
            actor = actors[actor_text] = _dumps(_loads(actor_text))
        # canonical_fields() spelled out: the keys' sorted order is fixed, only the payload needs sorting.
        fields = (f'{{"actor":{actor},"at":{_string(at)},"environment":{_string(environment)},'
                  f'"kind":{_string(kind)},"payload":{_dumps(_loads(payload_text))},'
                  f'"release_id":{_string(release_id)},"seq":{seq}}}').encode("utf-8")
        if sha(row_prev.encode("ascii") + fields).hexdigest() != row_hash:
            return VerifyResult(False, checked, seq, f"altered: seq {seq}'s content does not match its hash")
        if row_prev != prev_hash:
            return VerifyResult(
                False, checked, seq,
                f"chain link broken: seq {seq}'s prev_hash is not seq {prev_seq}'s hash "
                f"(seq {seq} was inserted, or seq {prev_seq} replaced)")
        prev_hash = row_hash
        prev_seq = seq
        expected_seq += 1
        checked += 1
        if progress is not None and checked % every == 0:
            progress(checked, total)
    if progress is not None:
        progress(checked, total)
    return VerifyResult(True, checked)


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
