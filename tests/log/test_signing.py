"""Signed decisions with real keys: ssh-keygen signs (key file or ssh-agent), the cockpit checks in-process
what ssh-keygen -Y verify would; an honest release by two people with two agents verifies clean."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from cockpit.core import kinds
from cockpit.core.log.signatures import FIELD, NAMESPACE, check_entries
from cockpit.core.refusal import ActionRefused
from cockpit.core.session import ReleaseSession
from cockpit.core.log.open import open_log
from cockpit.core.sshsig import (AllowedSigners, BadSignature, SigningError, check, find_signer, fingerprint, parse,
                                 public_key_blob)
from tests.helpers.demo import Demo, demo  # noqa: F401  (the fixture)
from tests.log.forgery import ANN, honest_release, stop
from tests.log.sshkeys import agent, make_key, with_signing


@pytest.mark.parametrize("source", ["key file", "ssh-agent"])
@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_the_cockpit_and_ssh_keygen_agree_on_signatures(tmp_path: Path, kind: str, source: str) -> None:
    key = make_key(tmp_path, f"ann-{kind}", kind)
    if source == "key file":  # ssh-keygen -Y sign makes it
        armored = find_signer(str(key.path), tmp_path, env={}).sign(b"GO for shop 1a2b3c", NAMESPACE)
    else:  # the agent signs through its protocol, in-process
        with agent(tmp_path, key) as sock:
            signer = find_signer("", tmp_path, env={"SSH_AUTH_SOCK": sock})
            assert signer.key_file is None
            armored = signer.sign(b"GO for shop 1a2b3c", NAMESPACE)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(key.allowed("ann@example.com") + "\n")

    def keygen_verify(message: bytes, principal: str) -> bool:
        (tmp_path / "sig").write_text(armored)
        r = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", NAMESPACE,
                            "-s", str(tmp_path / "sig")], input=message, capture_output=True)
        return r.returncode == 0

    sig = parse(armored)
    check(sig, b"GO for shop 1a2b3c", NAMESPACE)  # raises when it does not hold
    assert keygen_verify(b"GO for shop 1a2b3c", "ann@example.com")
    assert AllowedSigners.read(allowed).principals_for(sig.public_key, ["ann@example.com"], NAMESPACE, _now())
    # Another message, another namespace, another person: both refuse.
    with pytest.raises(BadSignature):
        check(sig, b"GO for shop 9z9z9z", NAMESPACE)
    assert not keygen_verify(b"GO for shop 9z9z9z", "ann@example.com")
    with pytest.raises(BadSignature, match="signed for"):
        check(sig, b"GO for shop 1a2b3c", "git")
    assert not keygen_verify(b"GO for shop 1a2b3c", "mallory@example.com")
    assert not AllowedSigners.read(allowed).principals_for(sig.public_key, ["mallory@example.com"], NAMESPACE, _now())


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime
    return datetime.now(UTC)


def test_allowed_signers_options_are_honoured(tmp_path: Path) -> None:
    key = make_key(tmp_path, "ann")
    blob = parse(find_signer(str(key.path), tmp_path, env={}).sign(b"x", NAMESPACE)).public_key
    text = "\n".join([
        "# the team's file, as git uses it",
        key.allowed("ann@example.com,ann", 'namespaces="git,release-cockpit@*"'),
        key.allowed("old@example.com", "valid-before=20200101"),
        key.allowed("other@example.com", 'namespaces="git"'),
        key.allowed("*@ca.example.com", "cert-authority"),
    ])
    allowed = AllowedSigners.parse(text)
    now = _now()
    assert allowed.principals_for(blob, ["ann", "ann@example.com"], NAMESPACE, now) == ["ann", "ann@example.com"]
    assert allowed.principals_for(blob, ["old@example.com", "other@example.com"], NAMESPACE, now) == []
    assert any("cert-authority" in p for p in allowed.problems)


def test_without_an_agent_or_key_there_is_no_signer_and_it_says_why(tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="SSH_AUTH_SOCK is not set"):
        find_signer("", tmp_path, env={})
    with agent(tmp_path) as sock:
        with pytest.raises(SigningError, match="holds no key"):
            find_signer("", tmp_path, env={"SSH_AUTH_SOCK": sock})


async def test_an_honest_release_by_two_people_with_two_agents_verifies_clean(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = await honest_release(tmp_path, "sqlite", str(tmp_path / "log.sqlite"), monkeypatch)
    try:
        entries = rel.entries()
        signoff = next(e for e in entries if e.kind == kinds.SIGNOFF_RECORDED)
        go = next(e for e in entries if e.kind == kinds.DECISION_GO)
        # Each decision carries its own person's key: Ann's sign-off, Bob's GO.
        assert signoff.payload[FIELD]["key"] == fingerprint(public_key_blob(rel.ann.public))
        assert go.payload[FIELD]["key"] == fingerprint(public_key_blob(rel.bob.public))
        assert parse(go.payload[FIELD]["sshsig"]).fingerprint == go.payload[FIELD]["key"]
        code, out = rel.verify()
        assert code == 0, out
        assert out["signatures"]["decisions"] == 2 and out["signatures"]["signed"] == 2
        assert out["signatures"]["findings"] == []
        w = out["witnesses"]
        # GO, the stage's end, the close and the lock given back, each in the repository and on its remote.
        assert w["count"] == 4 and w["matched"] == 4 and w["broken"] == [] and w["after_close"] == []
        remote = subprocess.run(["git", "ls-remote", "origin", "refs/cockpit/witness/*"], cwd=rel.repo.path,
                                capture_output=True, text=True, check=True).stdout
        assert len(remote.splitlines()) == 4
    finally:
        stop(rel)


async def test_required_signatures_without_a_key_are_refused_before_anything_is_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = await honest_release(tmp_path, "sqlite", str(tmp_path / "log.sqlite"), monkeypatch)
    stop(rel)
    monkeypatch.delenv("SSH_AUTH_SOCK")
    log = open_log(rel.runbook)
    try:
        session = await ReleaseSession.open(rel.runbook, log, "production", ANN, rel.repo.main_shas[-1])
        before = len(rel.entries())
        with pytest.raises(ActionRefused, match="signatures are required in production .* no key to sign with"):
            await session.sign_off("Ann", "Bob", rel.repo.main_shas[0])
        assert len(rel.entries()) == before
        assert "unsigned: no signing key" in session.signing_status()
    finally:
        log.close()


def _cli(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from cockpit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


async def test_headless_signoff_go_and_forced_unlock_are_signed_and_say_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rel = await honest_release(tmp_path, "sqlite", str(tmp_path / "log.sqlite"), monkeypatch)
    try:
        rb = str(rel.runbook_path)
        monkeypatch.setenv("SSH_AUTH_SOCK", rel.ann_sock)
        code, out, err = await asyncio.to_thread(_cli, "signoff", "--config", rb, "--as", "Ann", "--release-owner", "Ann",
                              "--rollback-owner", "Bob", "--rollback-ref", rel.repo.main_shas[0])
        assert "signed with " + fingerprint(public_key_blob(rel.ann.public)) + " (ssh-agent)" in out, out + err
        code, out, err = await asyncio.to_thread(_cli, "tick", "--config", rb, "--as", "Ann", "backup", "--note", "restored again")
        monkeypatch.setenv("SSH_AUTH_SOCK", rel.bob_sock)
        code, out, err = await asyncio.to_thread(_cli, "signoff", "--config", rb, "--as", "Bob", "--release-owner", "Ann",
                              "--rollback-owner", "Bob", "--rollback-ref", rel.repo.main_shas[0], "--decision", "go",
                              "--no-evidence")
        assert code == 0 and "decision recorded: GO" in out, out + err
        # Bob's cockpit crashed; Ann breaks the lock. Without a key that is refused, and nothing is written.
        monkeypatch.delenv("SSH_AUTH_SOCK")
        before = len(rel.entries())
        code, out, err = await asyncio.to_thread(_cli, "log", "unlock", "--config", rb, "--as", "Ann", "--reason", "Bob's laptop died")
        assert code == 1 and "refused: not recorded: signatures are required in production" in err
        assert len(rel.entries()) == before
        monkeypatch.setenv("SSH_AUTH_SOCK", rel.ann_sock)
        code, out, err = await asyncio.to_thread(_cli, "log", "unlock", "--config", rb, "--as", "Ann", "--reason", "Bob's laptop died")
        assert code == 0, out + err
        unlock = rel.entries()[-1]
        assert unlock.kind == kinds.LOCK_RELEASED and unlock.payload["forced"]
        assert unlock.payload[FIELD]["key"] == fingerprint(public_key_blob(rel.ann.public))
        code, out = rel.verify()
        assert code == 0 and out["signatures"]["decisions"] == 6 and out["signatures"]["signed"] == 6, (
            out["signatures"], out["witnesses"])
    finally:
        stop(rel)


async def test_a_break_glass_flip_is_signed_and_refused_before_flipping_without_a_key(
        demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ann = make_key(tmp_path / "keys", "ann")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(ann.allowed("Ann") + "\n")
    runbook = with_signing(demo.runbook, allowed)
    flag = "MARKETPLACE_AVAILABILITY_ENABLED"
    log = open_log(runbook)
    try:
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        session = await ReleaseSession.attach(runbook, log, "production", ANN)
        assert session.break_glass
        with pytest.raises(ActionRefused, match="signatures are required in production"):
            await session.flip(flag, True, reason="pager: checkout down")
        assert not [e for e in log.entries() if e.kind == kinds.FLAG_FLIPPED]
        assert demo.target.flags.puts() == []  # nothing was flipped
        with agent(tmp_path, ann) as sock:
            monkeypatch.setenv("SSH_AUTH_SOCK", sock)
            session = await ReleaseSession.attach(runbook, log, "production", ANN)
            result = await session.flip(flag, True, reason="pager: checkout down")
        assert result.ok and result.logged
        flipped = [e for e in log.entries() if e.kind == kinds.FLAG_FLIPPED]
        assert len(flipped) == 1 and flipped[0].payload["break_glass"]
        assert flipped[0].payload[FIELD]["key"] == fingerprint(public_key_blob(ann.public))
        # Turning it off again (the kill switch in an incident) never waits for a key: done, recorded
        # unsigned with the reason, and named by verify as unsigned where a signature is required.
        monkeypatch.delenv("SSH_AUTH_SOCK")
        session = await ReleaseSession.attach(runbook, log, "production", ANN)
        result = await session.flip(flag, False, reason="pager: it was not the flag")
        assert result.ok and result.logged
        off = [e for e in log.entries() if e.kind == kinds.FLAG_FLIPPED][-1]
        assert FIELD not in off.payload and "no signing key" in off.payload["unsigned_because"]
        findings = list(check_entries(log.entries(), AllowedSigners.read(allowed), ["production"]))
        assert [(f.seq, f.problem) for f in findings] == [(off.seq, "unsigned")]
    finally:
        log.close()


def test_a_key_file_with_a_passphrase_never_prompts_it_says_to_use_the_agent(tmp_path: Path) -> None:
    path = tmp_path / "ann"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "a passphrase", "-f", str(path)], check=True)
    signer = find_signer(str(path), tmp_path, env={})
    with pytest.raises(SigningError, match="needs a passphrase: add it to ssh-agent"):
        signer.sign(b"GO", NAMESPACE)
