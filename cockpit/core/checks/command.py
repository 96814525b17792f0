"""`command` evidence: a shell command's exit code within a timeout, its output kept."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from cockpit.runbook.config import CommandCheck
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.result import Found
from cockpit.runbook.textsafe import one_line
from cockpit.core.evidence import EXCERPT_LIMIT, Status, cap_excerpt
from cockpit.runbook.placeholders import expand

# Output beyond this is drained and dropped: a chatty command must not fill memory.
_KEEP = EXCERPT_LIMIT * 4


async def run(check: CommandCheck, ctx: CheckContext) -> Found:
    command = expand(check.run, ctx.placeholders(), quote=True)
    cwd = ctx.runbook.resolve_path(check.cwd) if check.cwd else ctx.runbook.base_dir
    if not cwd.is_dir():
        return Found(Status.ERROR, f"working directory {check.cwd or cwd} does not exist", data={"cwd": str(cwd)})
    timeout_s = check.timeout.total_seconds()
    start = time.perf_counter()
    # A session of its own, so a timeout kills the whole process group (the shell and its children).
    proc = await asyncio.create_subprocess_shell(
        command, cwd=cwd, env=_child_env(), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )
    output = bytearray()

    async def drain() -> None:
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            if len(output) < _KEEP:
                output.extend(chunk[: _KEEP - len(output)])

    timed_out = False
    try:
        async with asyncio.timeout(timeout_s):
            await drain()
            await proc.wait()
    except TimeoutError:
        timed_out = True
    finally:
        # Also reached when the caller cancels us: never leave the group running.
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        _kill_group(proc.pid)  # children that outlived the shell (e.g. `sleep 100 &`)
    seconds = time.perf_counter() - start
    data = {"exit_code": proc.returncode, "seconds": round(seconds, 3), "timed_out": timed_out}
    excerpt = cap_excerpt(bytes(output))
    last = _last_line(output)
    if timed_out:
        return Found(Status.FAIL, f"timed out after {timeout_s:g}s; process group killed{last}", excerpt, data)
    if proc.returncode == check.expect_exit:
        return Found(Status.PASS, f"exit {proc.returncode} in {seconds:.1f}s{last}", excerpt, data)
    if proc.returncode is not None and proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name if -proc.returncode in signal.Signals._value2member_map_ else "?"
        return Found(Status.FAIL, f"killed by signal {name} (expected exit {check.expect_exit}){last}", excerpt, data)
    return Found(Status.FAIL, f"exit {proc.returncode} (expected {check.expect_exit}){last}", excerpt, data)


def _child_env() -> dict[str, str]:
    # The output goes into the release log: a command that prints its environment must not
    # carry the cockpit's own secrets (COCKPIT_SECRET_* is how CI hands them over) with it.
    return {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_SECRET_")}


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _last_line(output: bytes | bytearray) -> str:
    for line in reversed(bytes(output).decode("utf-8", errors="replace").splitlines()):
        if line.strip():
            return ": " + one_line(line, 120)
    return ""
