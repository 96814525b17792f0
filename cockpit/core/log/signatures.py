"""Signed decisions: which entries carry a person's SSH signature, what it covers, and how verify judges it.

Sign-offs (with the rollback ref), GO / NO-GO, forced unlocks and break-glass flips are decisions a person
answers for. Their entry carries `payload.signature = {sshsig, key, principal}`: an SSHSIG signature
(namespace NAMESPACE) over the entry's meaning — release, environment, kind, payload, actor and time — and
not over seq or prev_hash, so a signature moved to another entry, or an entry renumbered, still has to
match what it says. The fields a store adds inside its append (STORE_FACTS: whose lock a forced unlock
broke) are the store's facts, not the person's: they are left out of what is signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cockpit.core import kinds
from cockpit.core.log.entry import Actor, Entry, NewEntry, canonical_json, format_at

if TYPE_CHECKING:
    from cockpit.core.sshsig import AllowedSigners, Signer

NAMESPACE = "release-cockpit@decision"
FIELD = "signature"
UNSIGNED_BECAUSE = "unsigned_because"
"""Set instead of a signature when a flip that already happened could not be signed (say why, never lose it)."""

STORE_FACTS: dict[str, tuple[str, ...]] = {kinds.LOCK_RELEASED: ("previous_holder", "lease_was_until")}

DECISION_KINDS = (kinds.SIGNOFF_RECORDED, kinds.DECISION_GO, kinds.DECISION_NOGO, kinds.LOCK_RELEASED,
                  kinds.FLAG_FLIPPED)
"""Kinds some of whose entries are decisions (verify reads only these)."""


DECIDED_BY: dict[str, str] = {kinds.LOCK_RELEASED: "forced", kinds.FLAG_FLIPPED: "break_glass"}
"""Kinds whose entries are decisions only when this payload key is true (a forced unlock, a break-glass flip)."""


def is_decision(kind: str, payload: dict[str, Any]) -> bool:
    """An entry a person answers for, signed when a key is there and required where the runbook says."""
    key = DECIDED_BY.get(kind)
    if key is not None:
        return bool(payload.get(key))
    return kind in (kinds.SIGNOFF_RECORDED, kinds.DECISION_GO, kinds.DECISION_NOGO)


def may_be_judged(kind: str, payload_text: str) -> bool:
    """False when the payload's JSON text shows the entry is neither a decision nor signed (no deciding key,
    no signature key): verify then need not decode it. A key is always spelled out as "key" in JSON text."""
    key = DECIDED_BY.get(kind)
    return key is None or f'"{key}"' in payload_text or f'"{FIELD}"' in payload_text


def message(release_id: str, environment: str, kind: str, payload: dict[str, Any], actor: Actor,
            at: datetime) -> bytes:
    """The bytes signed: the entry's meaning in canonical JSON, without the signature and the store's facts."""
    left_out = {FIELD, UNSIGNED_BECAUSE, *STORE_FACTS.get(kind, ())}
    meaning = {k: v for k, v in payload.items() if k not in left_out}
    return b"release-cockpit decision v1\n" + canonical_json({
        "release_id": release_id, "environment": environment, "kind": kind, "payload": meaning,
        "actor": actor.to_json(), "at": format_at(at)})


def principals(actor: Actor) -> list[str]:
    """Who the entry says acted, as allowed_signers names people: the cockpit name, then the git e-mail."""
    return list(dict.fromkeys(p for p in (actor.name, actor.git_email) if p))


def sign(new: NewEntry, signer: Signer) -> NewEntry:
    """`new` (already prepared: what the store will hash) with its signature in the payload."""
    armored = signer.sign(message(new.release_id, new.environment, new.kind, new.payload, new.actor, new.at),
                          NAMESPACE)
    sig = {"sshsig": armored, "key": signer.fingerprint, "principal": principals(new.actor)[0]}
    return replace(new, payload={**new.payload, FIELD: sig})


def unsigned(new: NewEntry, why: str) -> NewEntry:
    return replace(new, payload={**new.payload, UNSIGNED_BECAUSE: why})


# -- verify -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    seq: int
    problem: str
    """"unsigned", "forged", "not-allowed" or "replayed"."""
    text: str

    def line(self) -> str:
        return f"seq {self.seq}: {self.text}"


def _who(e: Entry) -> str:
    return e.actor.name + (f" <{e.actor.git_email}>" if e.actor.git_email else "")


def judge(e: Entry, allowed: AllowedSigners, required: bool, seen: dict[str, int]) -> Finding | None:
    """What is wrong with entry `e`'s signature, or None (signed by a key allowed for its actor; or not a
    decision; or unsigned where no signature is required)."""
    sig = e.payload.get(FIELD)
    if not isinstance(sig, dict) or not isinstance(sig.get("sshsig"), str):
        if required and is_decision(e.kind, e.payload):
            why = e.payload.get(UNSIGNED_BECAUSE)
            return Finding(e.seq, "unsigned", f"{e.kind} by {_who(e)} is unsigned where a signature is required"
                                              + (f" ({why})" if why else ""))
        return None
    from cockpit.core.sshsig import BadSignature, check, parse  # startup: loaded when a signature is there to check

    try:
        parsed = parse(sig["sshsig"])
        check(parsed, message(e.release_id, e.environment, e.kind, e.payload, e.actor, e.at), NAMESPACE)
    except BadSignature as err:
        return Finding(e.seq, "forged", f"{e.kind} by {_who(e)}: the signature does not match the entry ({err}): "
                                        "its content, actor or time was changed, or the signature was moved here")
    first = seen.setdefault(sig["sshsig"], e.seq)
    if first != e.seq:
        return Finding(e.seq, "replayed", f"{e.kind} by {_who(e)} repeats the signed entry seq {first} "
                                          "(a copy inserted again)")
    if not allowed.principals_for(parsed.public_key, principals(e.actor), NAMESPACE, e.at):
        people = " or ".join(principals(e.actor))
        return Finding(e.seq, "not-allowed", f"{e.kind} by {_who(e)} is signed with key {parsed.fingerprint}, "
                                             f"which allowed_signers does not allow for {people}")
    return None


def check_entries(entries: Iterable[Entry], allowed: AllowedSigners, required_envs: Iterable[str]
                  ) -> Iterator[Finding]:
    """Every finding over `entries` (in seq order)."""
    required = set(required_envs)
    seen: dict[str, int] = {}
    for e in entries:
        found = judge(e, allowed, e.environment in required, seen)
        if found is not None:
            yield found
