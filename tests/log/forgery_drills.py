"""The forgery drills, run on each store by test_forgery_pg.py and test_forgery_sqlite.py (they import them,
with their own `release` fixture). Each drill forges as the database's superuser would, with the chain
recomputed, and asserts that `cockpit log verify --witnesses` finds it and names it."""

from __future__ import annotations

from dataclasses import replace

from cockpit.core import kinds
from cockpit.core.log.chain import prepare
from cockpit.core.log.entry import Entry
from cockpit.core.log.signatures import FIELD, sign
from cockpit.core.sshsig import find_signer
from tests.log.forgery import Release, forged_entry
from tests.log.sshkeys import make_key


def _bad_seqs(out: dict) -> dict[int, str]:  # type: ignore[type-arg]
    return {f["seq"]: f["problem"] for f in out["signatures"]["findings"]}


def test_drill_the_honest_release_verifies_clean(release: Release) -> None:
    code, out = release.verify()
    assert code == 0 and out["ok"] and out["first_bad_range"] is None
    assert out["signatures"]["decisions"] == 2 and out["signatures"]["findings"] == []
    # GO, the stage's end, the close and the lock given back: the release ends on a witness.
    assert out["witnesses"]["matched"] == 4 and out["witnesses"]["unwitnessed"] is None


def test_drill_a_middle_entry_rewritten_with_the_chain_recomputed(release: Release) -> None:
    go, stable = release.seq_of(kinds.DECISION_GO), release.seq_of(kinds.STAGE_STABLE)
    note = next(e.seq for e in release.entries() if e.kind == kinds.NOTE and go < e.seq < stable)

    def rewrite(old: list[Entry]) -> list[Entry]:
        return [replace(e, payload={"text": "traffic looks terrible"}) if e.seq == note else e for e in old]

    stable_head = next(f"{e.seq}:{e.hash}" for e in release.entries() if e.seq == stable)
    release.rewrite_from(note, rewrite)
    # The chain alone cannot see it: the forger recomputed it.
    plain_code, plain = release.verify_text_without_witnesses()
    assert plain_code == 0, plain
    # One head kept elsewhere catches it, and blames a range ending there, not the witnessed entry itself.
    code, text = release.verify_text_without_witnesses("--expect", stable_head)
    assert code == 1 and f"TAMPERED between seq 1 and seq {stable}" in text
    code, out = release.verify()
    assert code == 1 and not out["ok"]
    # The GO witness still matches, the stage's end does not: the first changed entry lies between them.
    assert out["first_bad_range"] == [go + 1, stable] and go + 1 <= note <= stable
    assert out["witnesses"]["intact_through"] == go
    _, text = release.verify_text()
    assert f"TAMPERED between seq {go + 1} and seq {stable}" in text
    assert f"the last witness that still matches is seq {go}, the first that does not is seq {stable}" in text


def test_drill_an_entry_inserted_with_renumbering(release: Release) -> None:
    go, stable = release.seq_of(kinds.DECISION_GO), release.seq_of(kinds.STAGE_STABLE)
    at = go + 1

    def insert(old: list[Entry]) -> list[object]:
        fake = forged_entry(old[0], kind=kinds.NOTE, payload={"text": "smoke tests passed (forged)"})
        return [fake, *old]

    release.rewrite_from(at, insert)
    code, out = release.verify()
    assert code == 1 and out["first_bad_range"] == [go + 1, stable]
    _, text = release.verify_text()
    assert f"the stage.stable witnessed at seq {stable} is now seq {stable + 1}: 1 entry inserted before it" in text


def test_drill_an_entry_appended_after_the_last_witness(release: Release) -> None:
    entries = release.entries()
    last = entries[-1]
    done = release.seq_of(kinds.RELEASE_DONE)

    def append(old: list[Entry]) -> list[object]:
        return [forged_entry(last, kind=kinds.STAGE_STARTED, payload={"stage": "only", "flags": []})]

    release.rewrite_from(last.seq + 1, append)
    code, out = release.verify()
    assert code == 1
    assert [a["seq"] for a in out["witnesses"]["after_close"]] == [last.seq + 1]
    assert f"witnessed at seq {done}" in out["witnesses"]["after_close"][0]["text"]
    assert out["witnesses"]["unwitnessed"] == [last.seq + 1, last.seq + 1]


def test_drill_a_signoff_whose_name_was_changed(release: Release) -> None:
    signoff, go = release.seq_of(kinds.SIGNOFF_RECORDED), release.seq_of(kinds.DECISION_GO)

    def rename(old: list[Entry]) -> list[Entry]:
        return [replace(e, payload={**e.payload, "release_owner": "Mallory"}) if e.seq == signoff else e for e in old]

    release.rewrite_from(signoff, rename)
    code, out = release.verify()
    assert code == 1 and _bad_seqs(out) == {signoff: "forged"}
    assert out["first_bad_range"] == [1, go]  # the witnesses bound it; the signature names it exactly
    _, text = release.verify_text()
    assert f"named by its signature: seq {signoff}: signoff.recorded by Ann <ann@example.com>" in text


def test_drill_a_signature_moved_to_another_entry(release: Release) -> None:
    signoff, go = release.seq_of(kinds.SIGNOFF_RECORDED), release.seq_of(kinds.DECISION_GO)
    ann_signature = next(e for e in release.entries() if e.seq == signoff).payload[FIELD]

    def move(old: list[Entry]) -> list[Entry]:
        return [replace(e, payload={**e.payload, FIELD: ann_signature}) if e.seq == go else e for e in old]

    release.rewrite_from(go, move)
    code, out = release.verify()
    assert code == 1 and _bad_seqs(out) == {go: "forged"}
    assert "the signature was moved here" in out["signatures"]["findings"][0]["text"]


def test_drill_a_key_not_in_allowed_signers(release: Release) -> None:
    go = release.seq_of(kinds.DECISION_GO)
    mallory = find_signer(str(make_key(release.root / "forger", "mallory").path), release.root, env={})

    def resign(old: list[Entry]) -> list[object]:
        out: list[object] = []
        for e in old:
            if e.seq == go:  # GO said again, signed by the forger's own key in Bob's name
                payload = {k: v for k, v in e.payload.items() if k != FIELD}
                out.append(sign(prepare(forged_entry(e, payload=payload)), mallory))
            else:
                out.append(e)
        return out

    release.rewrite_from(go, resign)
    code, out = release.verify()
    assert code == 1 and _bad_seqs(out) == {go: "not-allowed"}
    assert mallory.fingerprint in out["signatures"]["findings"][0]["text"]
    assert "does not allow for Bob or bob@example.com" in out["signatures"]["findings"][0]["text"]


def test_drill_a_decision_appended_unsigned(release: Release) -> None:
    last = release.entries()[-1]

    def append(old: list[Entry]) -> list[object]:
        return [forged_entry(last, kind=kinds.DECISION_NOGO, payload={"reason": "forged", "reasons": []})]

    release.rewrite_from(last.seq + 1, append)
    code, out = release.verify()
    assert code == 1 and _bad_seqs(out) == {last.seq + 1: "unsigned"}
