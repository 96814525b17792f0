"""What `cockpit log verify` proves, put together: the chain, the signatures on decisions, the witnesses.

The chain finds edits by someone who cannot recompute it. Signatures find a decision whose content,
actor or time was changed, or that was signed by a key not allowed for that person, whoever wrote the
database. Witnesses (witness.py) bound where a rewrite with the chain recomputed starts; a signature
finding inside that range names the entry exactly.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.core.log.base import LogFilter, VerifyResult
from cockpit.core.log.signatures import DECISION_KINDS, Finding, check_entries, is_decision, FIELD
from cockpit.core.log.witness import Witness, WitnessReport, judge

if TYPE_CHECKING:
    from cockpit.core.sshsig import AllowedSigners


@dataclass
class SignatureReport:
    decisions: int = 0
    signed: int = 0
    """Decisions carrying a signature (good or not)."""
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """allowed_signers lines skipped, and why."""


def check_signatures(log: Any, allowed: AllowedSigners, required_envs: list[str]) -> SignatureReport:
    """Every decision's signature, in seq order (only the decision kinds are read)."""
    report = SignatureReport(notes=list(allowed.problems))
    streams = [log.entries(LogFilter(kind=k)) for k in DECISION_KINDS]
    merged = heapq.merge(*streams, key=lambda e: e.seq)

    def counted() -> Any:
        for e in merged:
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
    result = Audit(chain=log.verify())
    if allowed is not None:
        result.signatures = check_signatures(log, allowed, required_envs or [])
    if witnesses is not None and result.chain.ok:
        result.witnesses = judge(log, witnesses)
    return result
