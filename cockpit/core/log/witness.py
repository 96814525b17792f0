"""Witnesses: a head (seq, hash) written down outside the store, checked against it later.

The chain proves that no entry was altered, inserted or deleted *before* the head — against someone
who cannot recompute it. Someone with write access to the database can: rewrite a row, recompute
every later hash, and the chain is valid again. A head kept elsewhere — a ref in the release's git
repository and its remote (cockpit.core.git_witness), the webhook messages, `log verify`'s own
output pasted into a ticket — is what such a rewrite cannot follow: the entry it names must still be
there, with that hash.

What a set of witnesses proves (`judge`): every entry up to the last witness that still matches is
as it was; the first changed entry lies after it and at or before the first witness that no longer
matches — a range, named exactly only when it is one entry wide (signatures narrow it further, see
signatures.py). Entries after the last witness are vouched for by nothing outside the store, which
`judge` says; entries of a release appended after its close was witnessed are named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter, ReleaseLog
from cockpit.core.log.entry import Entry, format_at, parse_at

_WITNESS = re.compile(r"^\s*(\d+)\s*:\s*([0-9a-fA-F]{64})\s*$")

CLOSING = (kinds.RELEASE_DONE, kinds.ROLLBACK_FINISHED)
WITNESSED = (kinds.DECISION_GO, kinds.STAGE_STABLE, kinds.STAGE_KILLED, kinds.STAGE_ABORTED, *CLOSING,
             kinds.LOCK_RELEASED)
"""Kinds whose entry is witnessed outside the store when it is appended: GO, a stage's end, the close, and
the lock given back (the close's last entry: so a closed release ends on a witness)."""
AFTER_CLOSE_ALLOWED = (kinds.LOCK_RELEASED, kinds.NOTE)
"""What may follow a release's close: the lock given back by the close itself, and notes."""


def parse_witness(text: str) -> tuple[int, str]:
    m = _WITNESS.match(text)
    if not m:
        raise ValueError(f"a witness is SEQ:HASH (the 64 hex digits of that entry's hash), not {text!r}")
    return int(m.group(1)), m.group(2).lower()


def check_witness(log: ReleaseLog, seq: int, hash_: str) -> str | None:
    """None when the log still holds entry `seq` with `hash_`; else what is wrong, in words."""
    found = _at(log, seq)
    if found is None:
        head = log.head()
        return (f"entry {seq} is gone: the log ends at seq {head.seq if head else 0}, "
                f"so entries were removed after {seq}:{hash_[:12]}… was witnessed")
    if found.hash != hash_:
        return f"entry {seq} has hash {found.hash[:12]}…, not the witnessed {hash_[:12]}…: it was rewritten"
    return None


def _at(log: ReleaseLog, seq: int) -> Entry | None:
    found = log.page(LogFilter(), after_seq=seq - 1, limit=1)
    return found[0] if found and found[0].seq == seq else None


@dataclass(frozen=True)
class Witness:
    seq: int
    hash: str
    source: str
    """Where it was read: "git 12", "remote origin 12", "--expect"..."""
    release_id: str = ""
    environment: str = ""
    kind: str = ""
    at: str = ""
    """The witnessed entry's time (format_at): to find that entry again when the log was renumbered."""

    @property
    def head(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass
class WitnessReport:
    witnesses: list[Witness] = field(default_factory=list)
    """Distinct heads, in seq order (sources merged)."""
    matched: list[Witness] = field(default_factory=list)
    broken: list[tuple[Witness, str]] = field(default_factory=list)
    """Witnesses the log no longer matches, with what is wrong."""
    first_changed: tuple[int, int] | None = None
    """The first changed entry lies in [lo, hi] (lo == hi: named exactly)."""
    intact_through: int = 0
    """Every entry up to this seq is proven as witnessed."""
    moved: list[str] = field(default_factory=list)
    """A witnessed entry found again at another seq (entries inserted or removed before it)."""
    head_seq: int = 0
    unwitnessed: tuple[int, int] | None = None
    """Entries after the last matching witness: only the store vouches for them."""
    after_close: list[tuple[int, str]] = field(default_factory=list)
    """(seq, text): an entry of a release appended after that release's close was witnessed."""

    @property
    def ok(self) -> bool:
        return not self.broken and not self.after_close

    def lines(self) -> list[str]:
        out = [f"{len(self.witnesses)} witnesses outside the store; {len(self.matched)} match the log"]
        for w, what in self.broken:
            out.append(f"  ✘ {w.source}: {what}")
        out += [f"  ↳ {m}" for m in self.moved]
        for seq, text in self.after_close:
            out.append(f"APPENDED after close: seq {seq}: {text}")
        if self.unwitnessed is not None:
            lo, hi = self.unwitnessed
            out.append(f"seq {lo}–{hi} come after the last matching witness: only the store vouches for them"
                       if lo < hi else f"seq {lo} comes after the last matching witness: only the store vouches for it")
        elif self.ok and self.witnesses:
            out.append(f"every entry through the head (seq {self.head_seq}) is covered by a witness")
        return out


def merge(witnesses: list[Witness]) -> list[Witness]:
    """One witness per head (seq, hash), sources joined, in seq order; two heads for one seq both stay."""
    by_head: dict[tuple[int, str], Witness] = {}
    for w in witnesses:
        key = (w.seq, w.hash)
        if key in by_head:
            kept = by_head[key]
            by_head[key] = Witness(kept.seq, kept.hash, f"{kept.source}, {w.source}", kept.release_id or w.release_id,
                                   kept.environment or w.environment, kept.kind or w.kind, kept.at or w.at)
        else:
            by_head[key] = w
    return [by_head[k] for k in sorted(by_head)]


def judge(log: ReleaseLog, witnesses: list[Witness]) -> WitnessReport:
    """Check every witness against the log (whose chain verified) and bound the first changed entry."""
    report = WitnessReport(witnesses=merge(witnesses))
    head = log.head()
    report.head_seq = head.seq if head else 0
    for w in report.witnesses:
        problem = check_witness(log, w.seq, w.hash)
        if problem is None:
            report.matched.append(w)
        else:
            report.broken.append((w, problem))
            report.moved += _moved(log, w)
    first_bad = report.broken[0][0] if report.broken else None
    good = [w.seq for w in report.matched if first_bad is None or w.seq < first_bad.seq]
    report.intact_through = max(good, default=0)
    if first_bad is not None:
        report.first_changed = (report.intact_through + 1, min(first_bad.seq, report.head_seq + 1))
    last = max((w.seq for w in report.matched), default=0)
    if first_bad is None and report.head_seq > last:
        report.unwitnessed = (last + 1, report.head_seq)
    for w in report.matched:
        if w.kind in CLOSING and w.release_id:
            for e in log.page(LogFilter(release_id=w.release_id), after_seq=w.seq, limit=100):
                if e.kind not in AFTER_CLOSE_ALLOWED:
                    report.after_close.append((e.seq, f"a {e.kind} by {e.actor.name} in release {e.release_id}, "
                                                      f"whose close ({w.kind}) is witnessed at seq {w.seq}"))
    report.after_close.sort()
    return report


def _moved(log: ReleaseLog, w: Witness) -> list[str]:
    """Where the witnessed entry is now, when its release, kind and time find it at another seq."""
    if not (w.release_id and w.kind and w.at):
        return []
    try:
        at = parse_at(w.at)
    except ValueError:
        return []
    same_time = LogFilter(release_id=w.release_id, kind=w.kind, since=at, until=at + timedelta(microseconds=1))
    found = [e for e in log.page(same_time, limit=5)
             if format_at(e.at) == w.at]
    if len(found) != 1 or found[0].seq == w.seq:
        return []
    now = found[0].seq
    shift = now - w.seq
    what = f"{shift} entr{'y' if abs(shift) == 1 else 'ies'} {'inserted' if shift > 0 else 'removed'}"
    return [f"the {w.kind} witnessed at seq {w.seq} is now seq {now}: {what} before it"]
