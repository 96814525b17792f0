"""[signing] judged from the one walk: the same report as reading every decision entry whole.

verify keeps aside only the decisions it must decode (DecisionRows) and counts the unsigned ones where no
signature is required; a chain that broke reads the decisions as stored instead. Both must say the same.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cockpit.core import kinds
from cockpit.core.log.audit import audit, check_signatures
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor, NewEntry
from cockpit.core.log.signatures import DECISION_KINDS
from cockpit.core.log.sqlite import SqliteLog
from cockpit.core.sshsig import AllowedSigners

ANN = Actor("Ann", "ann", "host", "ann@example.com")
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
FAKE = {"sshsig": "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----", "key": "SHA256:x",
        "principal": "Ann"}

# (environment, kind, payload): what a mixed log holds
ENTRIES = [
    ("staging", kinds.SIGNOFF_RECORDED, {"release_owner": "Ann"}),           # unsigned, not required: counted
    ("prod", kinds.SIGNOFF_RECORDED, {"release_owner": "Ann"}),              # unsigned where required: a finding
    ("staging", kinds.DECISION_GO, {"signature": FAKE}),                     # signed (badly): judged, forged
    ("staging", kinds.FLAG_FLIPPED, {"flag": "A", "after": True}),           # a plain flip: no decision
    ("staging", kinds.FLAG_FLIPPED, {"flag": "A", "break_glass": False}),    # decoded: not a decision
    ("staging", kinds.FLAG_FLIPPED, {"flag": "A", "break_glass": True}),     # a break-glass flip: a decision
    ("prod", kinds.LOCK_RELEASED, {"forced": True, "reason": "stuck"}),      # forced unlock, required: finding
    ("staging", kinds.LOCK_RELEASED, {"forced": False}),                     # a plain release: no decision
    ("staging", kinds.DECISION_NOGO, {"reason": "db down"}),                 # unsigned, not required: counted
    ("staging", "note", {"text": "signature \"signature\" forced break_glass"}),  # not a decision kind
]


def _log(tmp_path: Path) -> SqliteLog:
    log = SqliteLog(tmp_path / "log.sqlite")
    for i, (env, kind, payload) in enumerate(ENTRIES * 3):
        log.append(NewEntry(release_id=f"r-{i // len(ENTRIES)}", environment=env, kind=kind, payload=payload,
                            actor=ANN, at=T0 + timedelta(seconds=i)))
    return log


def test_the_walks_report_is_the_report_of_every_decision_read_whole(tmp_path: Path) -> None:
    log = _log(tmp_path)
    allowed = AllowedSigners()
    walked = audit(log, allowed=allowed, required_envs=["prod"])
    assert walked.chain.ok and walked.signatures is not None
    stored = check_signatures(sorted((e for k in DECISION_KINDS for e in log.entries(LogFilter(kind=k))),
                                     key=lambda e: e.seq), allowed, ["prod"])
    s = walked.signatures
    assert (s.decisions, s.signed) == (stored.decisions, stored.signed) == (6 * 3, 1 * 3)
    assert [(f.seq, f.problem) for f in s.findings] == [(f.seq, f.problem) for f in stored.findings]
    assert sorted({f.problem for f in s.findings}) == ["forged", "unsigned"]
    # only what had to be decoded was kept: the signed GO, the required sign-off and unlock, the flips with
    # a break_glass key, the unlocks with a forced key
    assert len(walked.chain.kept) == 6 * 3 and all(row[3] is None for row in walked.chain.kept)


def test_a_broken_chain_still_judges_every_decision_as_stored(tmp_path: Path) -> None:
    log = _log(tmp_path)
    log.close()
    conn = sqlite3.connect(tmp_path / "log.sqlite", isolation_level=None)  # the file edited directly
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute("UPDATE log_entries SET hash = 'x' || substr(hash, 2) WHERE seq = 3")
    conn.close()
    log = SqliteLog(tmp_path / "log.sqlite", migrate=False)
    found = audit(log, allowed=AllowedSigners(), required_envs=["prod"])
    assert not found.chain.ok and found.chain.first_bad_seq == 3
    assert found.signatures is not None and found.signatures.decisions == 6 * 3
