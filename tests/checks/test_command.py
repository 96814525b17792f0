"""`command` evidence with real subprocesses."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cockpit.core.checks import take
from cockpit.core.evidence import EXCERPT_LIMIT, Status
from tests.checks.conftest import make_check


def command(run: str, **kw):  # noqa: ANN001, ANN201
    kw.setdefault("timeout", "5s")
    return make_check(kind="command", run=run, **kw)


def gone(pid: int) -> bool:
    """True when the process no longer runs (exited, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_exit_zero_passes_with_output(make_ctx):
    ev = await take(command("echo 'dry-run: 3 migrations'; echo 'warning: slow index' >&2"), make_ctx())
    assert ev.status is Status.PASS, ev.detail
    assert ev.detail.startswith("exit 0 in ") and ev.detail.endswith(": warning: slow index")
    assert "dry-run: 3 migrations" in ev.excerpt and "warning: slow index" in ev.excerpt
    assert ev.data["exit_code"] == 0 and ev.data["timed_out"] is False


async def test_nonzero_exit_fails_with_last_line(make_ctx):
    ev = await take(command("echo checking; echo 'backup checksum mismatch' >&2; exit 3"), make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail == "exit 3 (expected 0): backup checksum mismatch"
    ok = await take(command("exit 3", expect_exit=3), make_ctx())
    assert ok.status is Status.PASS


async def test_missing_program_fails(make_ctx):
    ev = await take(command("no-such-program-cockpit --check"), make_ctx())
    assert ev.status is Status.FAIL
    assert "exit 127" in ev.detail and "not found" in ev.detail


async def test_timeout_kills_the_whole_process_group(make_ctx, tmp_path: Path):
    pidfile = tmp_path / "child.pid"
    check = command(f"sleep 60 & echo $! > {pidfile}; echo started; wait", timeout="500ms")
    ev = await take(check, make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail == "timed out after 0.5s; process group killed: started"
    assert ev.duration_ms < 1500
    child = int(pidfile.read_text())
    for _ in range(100):  # the kernel delivers SIGKILL asynchronously; poll, don't sleep blindly
        if gone(child):
            break
        await asyncio.sleep(0.01)
    assert gone(child), "the background child survived the timeout"


async def test_cwd_is_relative_to_the_runbook(make_ctx, tmp_path: Path):
    (tmp_path / "scripts").mkdir()
    ev = await take(command("pwd", cwd="scripts"), make_ctx())
    assert ev.status is Status.PASS
    assert ev.excerpt.strip() == str(tmp_path / "scripts")
    ev = await take(command("pwd"), make_ctx())
    assert ev.excerpt.strip() == str(tmp_path)
    ev = await take(command("pwd", cwd="nowhere"), make_ctx())
    assert ev.status is Status.ERROR and ev.detail.startswith("working directory nowhere does not exist")


async def test_placeholders_are_shell_quoted(make_ctx, tmp_path: Path):
    evil = "x; touch pwned; $(touch pwned2)"
    ev = await take(command("printf '%s' {env.target_host}"), make_ctx(env_vars={"target_host": evil}))
    assert ev.status is Status.PASS
    assert ev.excerpt == evil
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


async def test_huge_output_is_capped(make_ctx):
    ev = await take(command("head -c 20000000 /dev/zero | tr '\\0' 'a'"), make_ctx())
    assert ev.status is Status.PASS
    assert ev.excerpt.endswith("… (cut)")
    assert len(ev.excerpt.encode()) <= EXCERPT_LIMIT + 20


async def test_killed_by_signal(make_ctx):
    ev = await take(command("kill -TERM $$"), make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail.startswith("killed by signal SIGTERM")


async def test_cancellation_kills_the_command(make_ctx, tmp_path: Path):
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(take(command(f"echo $$ > {pidfile}; exec sleep 60", timeout="30s"), make_ctx()))
    for _ in range(500):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    pid = int(pidfile.read_text())
    for _ in range(100):
        if gone(pid):
            break
        await asyncio.sleep(0.01)
    assert gone(pid)


async def test_cockpit_secrets_are_not_handed_to_commands(make_ctx, monkeypatch):
    monkeypatch.setenv("COCKPIT_SECRET_FLAGS_ADMIN", "tok-9f8e7d")
    monkeypatch.setenv("DEPLOY_TARGET", "prod-eu")
    ev = await take(command("env"), make_ctx())
    assert ev.status is Status.PASS
    assert "DEPLOY_TARGET=prod-eu" in ev.excerpt
    assert "tok-9f8e7d" not in ev.excerpt and "COCKPIT_SECRET_" not in ev.excerpt
