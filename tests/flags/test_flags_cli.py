"""`cockpit flags list|set|diff|kill` end to end: the real CLI, the demo target's flag API, a real SQLite
release log; every output scanned for the token."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cockpit.cli import main
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor, NewEntry
from tests.flags.conftest import TOKEN

L1, L2 = "MARKETPLACE_AVAILABILITY_ENABLED", "MARKETPLACE_REQUESTS_ENABLED"
RUNBOOK = """
[release]
name = "shop"

[log]
path = "release-log.sqlite"

[environments.prod]
url = "http://example.invalid"

[environments.staging]
protected = false

[flags]
backend = "http"
url = "{flags_url}"
token_secret = "flags-admin"
retries = 1

[[stages]]
id = "layer-1"
flags = ["{l1}"]

[[stages]]
id = "layer-2"
flags = ["{l2}"]
after = ["layer-1"]
"""


@pytest.fixture
def runbook(tmp_path: Path, demo, monkeypatch: pytest.MonkeyPatch) -> Path:
    p = tmp_path / "runbook.toml"
    p.write_text(RUNBOOK.format(flags_url=demo.flags_url, l1=L1, l2=L2))
    monkeypatch.setenv("COCKPIT_SECRET_FLAGS_ADMIN", TOKEN)
    monkeypatch.setenv("COCKPIT_ACTOR", "alice")
    return p


def _log(runbook: Path):
    from cockpit.core.log.sqlite import SqliteLog

    return SqliteLog(runbook.parent / "release-log.sqlite")


def _entries(runbook: Path, kind: str = "flag.flipped"):
    log = _log(runbook)
    try:
        return list(log.entries(LogFilter(kind=kind)))
    finally:
        log.close()


def _open_release(runbook: Path, *, go: bool, snapshot: dict | None = None, rid: str = "shop-prod-abc1234") -> None:
    """Write the entries the lead's release session writes (session.opened, decision.go, flags.snapshot)."""
    log = _log(runbook)
    who = Actor("rel-owner", "ro", "h")
    try:
        log.append(NewEntry(rid, "prod", "session.opened", {"target": {"ref": "origin/main", "sha": "abc1234" * 5}},
                            who))
        if go:
            log.append(NewEntry(rid, "prod", "decision.go", {}, who, at=datetime.now(UTC)))
        if snapshot is not None:
            log.append(NewEntry(rid, "prod", "flags.snapshot", {"flags": snapshot}, who))
    finally:
        log.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert TOKEN not in out and TOKEN not in err
    return code, out, err


def test_list(runbook, demo, capsys):
    demo.flags.add(L2, True)
    code, out, _ = run(capsys, "flags", "list", "--config", str(runbook))
    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows == {L1: ["OFF", "layer-1"], L2: ["ON", "layer-2"]}
    code, out, _ = run(capsys, "flags", "list", "--config", str(runbook), "--all", "--json")
    assert code == 0 and '"FEATURE_FLAG_USE_SERVICE_LAYER_CART"' in out


def test_set_outside_go_without_reason_and_without_terminal_is_usage_error(runbook, demo, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    code, _, err = run(capsys, "flags", "set", L1, "on", "--config", str(runbook))
    assert code == 2 and "break-glass" in err and "--reason" in err
    assert demo.flags.get(L1) is False and demo.flags.puts() == []


def test_set_outside_go_is_break_glass_and_logged(runbook, demo, capsys):
    code, out, _ = run(capsys, "flags", "set", L1, "on", "--config", str(runbook), "--reason", "hotfix verify")
    assert code == 0 and out.startswith("break-glass: ") and "OFF → ON" in out
    assert demo.flags.get(L1) is True
    (e,) = _entries(runbook)
    assert e.payload["break_glass"] is True and e.payload["reason"] == "hotfix verify"
    assert e.payload["stage"] == "layer-1" and e.actor.name == "alice"
    assert e.release_id == "shop-prod-no-release"


def test_set_asks_for_the_reason_on_a_terminal(runbook, demo, capsys, monkeypatch):
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("builtins.input", lambda prompt: "incident 7")
    code, _, err = run(capsys, "flags", "set", L1, "on", "--config", str(runbook))
    assert code == 0 and "break-glass" in err
    assert _entries(runbook)[0].payload["reason"] == "incident 7"


def test_set_in_a_go_release_is_not_break_glass(runbook, demo, capsys):
    _open_release(runbook, go=True)
    code, out, _ = run(capsys, "flags", "set", L1, "on", "--config", str(runbook), "--json")
    assert code == 0 and '"break_glass": false' in out
    (e,) = _entries(runbook)
    assert e.release_id == "shop-prod-abc1234" and e.payload["break_glass"] is False


def test_set_in_an_unprotected_environment_needs_no_reason(runbook, demo, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))
    code, out, _ = run(capsys, "flags", "set", L2, "on", "--config", str(runbook), "--env", "staging")
    assert code == 0 and "break-glass" not in out


def test_failed_set_exits_1_and_says_the_state(runbook, demo, capsys):
    demo.flags.locked.add(L1)
    code, out, _ = run(capsys, "flags", "set", L1, "on", "--config", str(runbook), "-m", "x")
    assert code == 1 and "FAILED to turn ON; it is OFF" in out and "HTTP 409" in out
    assert _entries(runbook)[0].payload["ok"] is False


def test_unknown_state_word_and_missing_secret_are_usage_errors(runbook, capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        main(["flags", "set", L1, "maybe", "--config", str(runbook)])
    assert e.value.code == 2
    capsys.readouterr()
    monkeypatch.delenv("COCKPIT_SECRET_FLAGS_ADMIN")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring
    from keyring.backends.null import Keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(Keyring())
    try:
        code, _, err = run(capsys, "flags", "list", "--config", str(runbook))
    finally:
        keyring.set_keyring(previous)
    assert code == 2 and "secret 'flags-admin' is not set" in err and "COCKPIT_SECRET_FLAGS_ADMIN" in err


def test_diff_against_the_snapshot_at_go(runbook, demo, capsys):
    code, _, err = run(capsys, "flags", "diff", "--config", str(runbook))
    assert code == 2 and "no flag snapshot" in err
    _open_release(runbook, go=True, snapshot={L1: True, L2: False})
    demo.flags.add(L1, True)
    code, out, _ = run(capsys, "flags", "diff", "--config", str(runbook))
    assert code == 0 and "no change" in out
    demo.flags.add(L1, False)
    code, out, _ = run(capsys, "flags", "diff", "--config", str(runbook), "--json")
    assert code == 1 and f'"flag": "{L1}"' in out and '"was": true' in out and '"now": false' in out


def test_kill_switch_cli(runbook, demo, capsys):
    _open_release(runbook, go=True)
    demo.flags.add(L1, True)
    demo.flags.add(L2, True)
    code, out, _ = run(capsys, "flags", "kill", "--config", str(runbook), "--stage", "layer-2", "-m", "errors up")
    assert code == 0 and demo.flags.get(L2) is False and demo.flags.get(L1) is True
    code, out, _ = run(capsys, "flags", "kill", "--config", str(runbook), "-m", "all off")
    assert code == 0 and "all 2 flags flipped" in out and demo.flags.get(L1) is False
    code, _, err = run(capsys, "flags", "kill", "--config", str(runbook), "--stage", "nope", "-m", "x")
    assert code == 2 and "unknown stage" in err


def test_cli_in_a_subprocess_never_prints_the_token(runbook, demo):
    """Real process, real stdout/stderr: a flag API that echoes the token back in its errors."""
    from cockpit.demo.target import DemoTarget

    env = {**os.environ, "COCKPIT_SECRET_FLAGS_ADMIN": TOKEN}
    with DemoTarget(token="other-token") as wrong:  # refuses TOKEN with 401
        text = runbook.read_text().replace(demo.flags_url, wrong.flags_url)
        bad = runbook.parent / "bad.toml"
        bad.write_text(text)
        r = subprocess.run([sys.executable, "-m", "cockpit", "flags", "set", L1, "on", "--config", str(bad),
                            "--reason", f"token is {TOKEN}"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 1, r.stderr
    assert "HTTP 401" in r.stdout
    assert TOKEN not in r.stdout and TOKEN not in r.stderr
    (e,) = _entries(bad)
    assert TOKEN not in str(e.to_json()) and "[redacted]" in e.payload["reason"]


def test_list_says_why_a_flag_could_not_be_read(tmp_path, demo, capsys, monkeypatch):
    p = tmp_path / "ghost.toml"
    p.write_text(RUNBOOK.format(flags_url=demo.flags_url, l1="NO_SUCH_FLAG", l2=L2))
    monkeypatch.setenv("COCKPIT_SECRET_FLAGS_ADMIN", TOKEN)
    code, out, err = run(capsys, "flags", "list", "--config", str(p))
    assert code == 1
    assert out.splitlines()[1].split() == ["NO_SUCH_FLAG", "unknown", "layer-1"]
    assert err.startswith("could not read: NO_SUCH_FLAG — ") and "NO_SUCH_FLAG" in err.split("—", 1)[1]
