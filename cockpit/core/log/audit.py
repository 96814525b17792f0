"""What `cockpit log verify` proves, put together: the chain, the signatures on decisions, the witnesses.

The chain finds edits by someone who cannot recompute it. Signatures find a decision whose content,
actor or time was changed, or that was signed by a key not allowed for that person, whoever wrote the
database. Witnesses (witness.py) bound where a rewrite with the chain recomputed starts; a signature
finding inside that range names the entry exactly.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.core.log.base import LogFilter, VerifyResult
from cockpit.core.log.chain import StoredRow
from cockpit.core.log.entry import Actor, Entry, parse_at
from cockpit.core.log.signatures import (DECIDED_BY, DECISION_KINDS, FIELD, Finding, check_entries, is_decision,
                                         may_be_judged)

if TYPE_CHECKING:
    from cockpit.core.log.witness import Witness, WitnessReport
    from cockpit.core.sshsig import AllowedSigners


@dataclass
class SignatureReport:
    decisions: int = 0
    signed: int = 0
    """Decisions carrying a signature (good or not)."""
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """allowed_signers lines skipped, and why."""


def _entry(row: StoredRow) -> Entry:
    """A kept row of the walk as an Entry (its columns were just shown to say what its hashed text says)."""
    seq, prev_hash, hash_, _body, at, release_id, environment, kind, actor, payload = row
    return Entry(seq=seq, at=parse_at(at), release_id=release_id, environment=environment,
                 actor=Actor.from_json(json.loads(actor)), kind=kind, payload=json.loads(payload),
                 prev_hash=prev_hash, hash=hash_)


class DecisionRows:
    """verify's Keep for [signing]: which rows the signature check must decode. A decision with no signature
    where none is required only counts (nothing about it can be wrong), so a long log's sign-offs and GOs
    are not decoded one by one; a flip or an unlock is decoded only when its text could make it a decision."""

    def __init__(self, required_envs: Iterable[str]):
        self.required = frozenset(required_envs)
        self.unsigned_counted = 0
        """Decisions counted here, unsigned where no signature is required."""

    def __call__(self, kind: str, environment: str, payload_text: str) -> bool:
        if kind not in DECISION_KINDS or not may_be_judged(kind, payload_text):
            return False
        if kind not in DECIDED_BY and f'"{FIELD}"' not in payload_text and environment not in self.required:
            self.unsigned_counted += 1
            return False
        return True


def check_signatures(decisions: Iterable[Entry], allowed: AllowedSigners, required_envs: list[str],
                     *, unsigned_counted: int = 0) -> SignatureReport:
    """Every decision's signature, in seq order (`decisions`: the entries of DECISION_KINDS, less the
    `unsigned_counted` ones DecisionRows counted without decoding)."""
    report = SignatureReport(decisions=unsigned_counted, notes=list(allowed.problems))

    def counted() -> Any:
        for e in decisions:
            if is_decision(e.kind, e.payload) or FIELD in e.payload:
                report.decisions += 1
                report.signed += int(isinstance(e.payload.get(FIELD), dict))
                yield e

    report.findings = list(check_entries(counted(), allowed, required_envs))
    return report


@dataclass
class Audit:
    chain: VerifyResult
    signatures: SignatureReport | None = None
    witnesses: WitnessReport | None = None

    @property
    def ok(self) -> bool:
        return (self.chain.ok and (self.signatures is None or not self.signatures.findings)
                and (self.witnesses is None or self.witnesses.ok))

    def first_changed(self) -> tuple[int, int] | None:
        """[lo, hi] holding the first changed entry (lo == hi: named exactly), from the chain or the witnesses."""
        if not self.chain.ok and self.chain.first_bad_seq is not None:
            return self.chain.first_bad_seq, self.chain.first_bad_seq
        if self.witnesses is None or self.witnesses.first_changed is None:
            return None
        return self.witnesses.first_changed

    def named_in_range(self) -> list[Finding]:
        """Signature findings inside the witnesses' range: those entries were changed, exactly."""
        span = self.witnesses.first_changed if self.witnesses is not None else None
        if span is None or self.signatures is None:
            return []
        return [f for f in self.signatures.findings if span[0] <= f.seq <= span[1]]


def audit(log: Any, *, allowed: AllowedSigners | None = None, required_envs: list[str] | None = None,
          witnesses: list[Witness] | None = None) -> Audit:
    """One walk of the chain, which keeps the decisions aside for their signatures; then the witnesses,
    which read the few entries around each (only when the chain is intact: otherwise it named the entry)."""
    rows = DecisionRows(required_envs or []) if allowed is not None else None
    chain = log.verify(keep=rows)
    result = Audit(chain=chain)
    if allowed is not None and rows is not None:
        if chain.ok:
            result.signatures = check_signatures((_entry(row) for row in chain.kept), allowed, required_envs or [],
                                                 unsigned_counted=rows.unsigned_counted)
        else:  # the walk stopped at the first bad entry: every decision is read as stored
            stored = heapq.merge(*(log.entries(LogFilter(kind=k)) for k in DECISION_KINDS), key=lambda e: e.seq)
            result.signatures = check_signatures(stored, allowed, required_envs or [])
    if witnesses is not None and result.chain.ok:
        from cockpit.core.log.witness import judge  # startup: plain verify reads no witnesses

        result.witnesses = judge(log, witnesses)
    return result
