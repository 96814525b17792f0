"""Text that is not valid Unicode never crashes a command or loses what it recorded.

A JSON body may hold a lone surrogate ("\\ud800" is valid JSON escaping, but no UTF-8 can encode the
character it decodes to); argv and the environment may hold bytes that are not UTF-8 (Python gives
them to us as lone surrogates). Each case runs the real `cockpit` as a subprocess, with bytes argv
and env where that is the point, and the release log must verify afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import current_actor
from cockpit.core.log.open import open_log
from cockpit.demo.scratch import Scratch, make_scratch
from cockpit.demo.target import DemoTarget
from cockpit.runbook.config import load_runbook


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[DemoTarget, Scratch]]:
    with DemoTarget() as target:
        yield target, make_scratch(tmp_path / "demo", target)


def run(scratch: Scratch, target: DemoTarget, *args: bytes, env: dict[bytes, bytes] | None = None
        ) -> subprocess.CompletedProcess[bytes]:
    base = {k.encode(): v.encode() for k, v in os.environ.items() if k != "COCKPIT_ACTOR"}
    base[b"COCKPIT_SECRET_DEMO_FLAGS"] = target.token.encode()
    argv = [sys.executable.encode(), b"-m", b"cockpit", *args]
    return subprocess.run(argv, capture_output=True, timeout=120, env={**base, **(env or {})}, cwd=scratch.checkout)


def verify(scratch: Scratch, target: DemoTarget) -> None:
    r = run(scratch, target, b"log", b"verify", b"--config", str(scratch.runbook_path).encode())
    assert r.returncode == 0 and r.stdout.startswith(b"intact: "), r.stdout + r.stderr


def entries(scratch: Scratch, kind: str) -> list:
    log = open_log(load_runbook(scratch.runbook_path))
    try:
        return list(log.entries(LogFilter(kind=kind)))
    finally:
        log.close()


# -- a lone surrogate in a JSON body -----------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_a_lone_surrogate_in_a_json_body_is_evidence_not_a_crash(demo, as_json: bool) -> None:
    target, scratch = demo
    target.set_health("db", body=b'{"status": "\\ud800", "note": "\\udfff\\ud83d"}', content_type="application/json")
    config = str(scratch.runbook_path).encode()
    r = run(scratch, target, b"check", b"--config", config, *([b"--json"] if as_json else []))
    assert r.returncode == 1, r.stdout + r.stderr          # NO-GO: the status is not "ok"; no traceback
    assert b"Traceback" not in r.stderr
    out = r.stdout.decode("utf-8")                         # what was printed is valid UTF-8
    if as_json:
        data = json.loads(out)
        (db,) = [c for c in data["checks"] if c["id"] == "health-db"]
        assert db["status"] == "fail" and "\\ud800" in db["detail"]
    else:
        assert "NO-GO" in out and "\\ud800" in out
    (taken,) = entries(scratch, "evidence.taken")
    by_id = {e["id"]: e for e in taken.payload["evidence"]}
    assert set(by_id) == {c.id for c in load_runbook(scratch.runbook_path).checks}   # the whole run kept
    assert "\\ud800" in by_id["health-db"]["detail"] and by_id["health-db"]["status"] == "fail"
    verify(scratch, target)


# -- bytes that are not UTF-8 in argv and the environment ----------------------------------------


@pytest.mark.parametrize("case", ["as", "text", "env", "git", "all"])
def test_log_note_with_bytes_that_are_not_utf8(demo, tmp_path: Path, case: str) -> None:
    target, scratch = demo
    as_ = [b"--as", b"ops-\xff\xfe"] if case in ("as", "all") else []
    text = b"rolled back \xc3\x28 by hand \xed\xa0\x80" if case in ("text", "all") else b"plain note"
    env = {b"COCKPIT_ACTOR": b"night-\xff-shift"} if case in ("env", "all") else {}
    if case in ("git", "all"):   # git's user.email, recorded beside the name, is bytes from a file
        (tmp_path / "gitconfig").write_bytes(b"[user]\n\temail = ops\xff@example.com\n")
        env[b"GIT_CONFIG_GLOBAL"] = str(tmp_path / "gitconfig").encode()
    r = run(scratch, target, b"log", b"note", b"--config", str(scratch.runbook_path).encode(),
            b"--release", b"rel-\xff", *as_, text, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith(b"seq ") and b"Traceback" not in r.stderr
    (note,) = entries(scratch, "note")
    name = {"as": "ops-\\udcff\\udcfe", "env": "night-\\udcff-shift", "all": "ops-\\udcff\\udcfe"}.get(case)
    if name:
        assert note.actor.name == name
    if case in ("text", "all"):
        assert note.payload["text"].startswith("rolled back \\udcc3(")
    if case in ("git", "all"):
        assert note.actor.git_email == "ops\\udcff@example.com"
    assert note.release_id == "rel-\\udcff"
    verify(scratch, target)
    tail = run(scratch, target, b"log", b"tail", b"--config", str(scratch.runbook_path).encode())
    assert tail.returncode == 0 and b"Traceback" not in tail.stderr
    tail.stdout.decode("utf-8")


def test_the_actor_is_representable_where_it_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COCKPIT_ACTOR", "x")
    actor = current_actor("ops-\udcff")
    assert actor.name == "ops-\\udcff"
    for value in actor.to_json().values():
        value.encode("utf-8")
    monkeypatch.setenv("COCKPIT_ACTOR", "night-\udcff")
    assert current_actor().name == "night-\\udcff"
