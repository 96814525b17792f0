"""`cockpit demo` end to end: real target, real scratch checkout, the real `cockpit check` verdict."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cockpit.cli.check import run_check
from cockpit.cli.demo_cmd import SECRET, demo_environment
from cockpit.runbook.config import load_runbook
from cockpit.core.secrets import env_name
from cockpit.demo.scratch import FEATURE_BRANCH

ROOT = Path(__file__).resolve().parents[2]


def cockpit(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != env_name(SECRET)}
    return subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_demo_check_only_says_go_and_cleans_up() -> None:
    r = cockpit("demo", "--check-only")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^GO — \d+/\d+ release checks pass", r.stdout, re.M)
    url = re.search(r"demo target\s+(http://127\.0\.0\.1:\d+)", r.stdout).group(1)
    folder = Path(re.search(r"scratch\s+(\S+)", r.stdout).group(1))
    assert not folder.exists(), "the temporary scratch folder must be removed on exit"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=1)


def test_demo_json_keeps_stdout_machine_readable(tmp_path: Path) -> None:
    r = cockpit("demo", "--check-only", "--json", "--dir", str(tmp_path / "d"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["decision"] == "GO" and doc["reasons"] == []
    assert {c["id"] for c in doc["checks"]} >= {"health-api", "smoke-sso", "branch-discipline", "backup-fresh"}
    assert "demo target" in r.stderr
    # --dir keeps the folder, and a second run reuses it with its release log
    assert (tmp_path / "d" / "shop" / ".deploy" / "release-log.sqlite").exists()
    again = cockpit("demo", "--check-only", "--dir", str(tmp_path / "d"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "GO —" in again.stdout


def test_demo_sets_the_flag_token_only_for_itself(tmp_path: Path) -> None:
    before = os.environ.get(env_name(SECRET))
    with demo_environment(str(tmp_path / "d")) as (target, scratch):
        assert os.environ[env_name(SECRET)] == target.token
        rb = load_runbook(scratch.runbook_path)
        assert rb.flags is not None and rb.flags.token_secret == SECRET
    assert os.environ.get(env_name(SECRET)) == before


def _verdict(capsys: pytest.CaptureFixture[str], runbook_path: Path, ref: str | None = None) -> tuple[int, dict]:
    capsys.readouterr()
    code = run_check(load_runbook(runbook_path), env=None, ref=ref, json_out=True, actor="tester")
    return code, json.loads(capsys.readouterr().out)


def test_no_go_when_one_endpoint_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_environment(str(tmp_path / "d")) as (target, scratch):
        target.set_health("db", status_code=503, body="[bold red]db down[/]")
        code, doc = _verdict(capsys, scratch.runbook_path)
        assert code == 1 and doc["decision"] == "NO-GO"
        assert any("health" in r.lower() and "503" in r for r in doc["reasons"]), doc["reasons"]


def test_no_go_when_a_smoke_key_fails_via_the_control_api(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_environment(str(tmp_path / "d")) as (target, scratch):
        # what a person does from another terminal: the file-based smoke checks see it too
        httpx.post(f"{target.url}/_demo/smoke", json={"smoke_realtime": "FAIL"}, timeout=5).raise_for_status()
        assert "smoke_realtime=FAIL" in scratch.smoke_file.read_text()
        code, doc = _verdict(capsys, scratch.runbook_path)
        assert code == 1
        assert any("smoke:realtime" in r for r in doc["reasons"]), doc["reasons"]
        assert len(doc["reasons"]) == 1


def test_no_go_when_the_target_is_not_on_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_environment(str(tmp_path / "d")) as (_, scratch):
        code, doc = _verdict(capsys, scratch.runbook_path, ref=f"origin/{FEATURE_BRANCH}")
        assert code == 1
        assert doc["target"]["sha"] == scratch.shas["feature"]
        assert any("not on origin/main" in r for r in doc["reasons"]), doc["reasons"]


def test_should_failure_warns_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_environment(str(tmp_path / "d")) as (target, scratch):
        target.set_health("redis", status_code=500)
        code, doc = _verdict(capsys, scratch.runbook_path)
        assert code == 0 and doc["decision"] == "GO"
        assert any("Redis" in w for w in doc["warnings"]), doc["warnings"]


def test_stale_backup_and_broken_migration_are_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with demo_environment(str(tmp_path / "d")) as (_, scratch):
        scratch.write_backup(age_seconds=2 * 3600)
        scratch.break_migrations("0045 drops column product.legacy_price")
        code, doc = _verdict(capsys, scratch.runbook_path)
        assert code == 1
        text = " | ".join(doc["reasons"])
        assert "postgres dump" in text.lower() and "migrations dry-run" in text.lower(), text


def test_ctrl_c_stops_a_running_demo_cleanly() -> None:
    env = {k: v for k, v in os.environ.items() if k != env_name(SECRET)}
    proc = subprocess.Popen([sys.executable, "-m", "cockpit", "demo"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:   # no terminal: it prints the verdict, then keeps the target up
            seen.append(line)
            if "Ctrl-C stops the demo" in line:
                break
        text = "".join(seen)
        url = re.search(r"demo target\s+(http://127\.0\.0\.1:\d+)", text).group(1)
        folder = Path(re.search(r"scratch\s+(\S+)", text).group(1))
        assert httpx.get(url + "/health", timeout=5).status_code == 200   # still serving
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert "demo stopped" in out, out + err
        assert "Traceback" not in err
        assert proc.returncode == 0
        assert not folder.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
