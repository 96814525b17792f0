"""Run a deploy command: output streamed line by line, a timeout that kills the whole process group.

The command runs in its own session (process group), so a timeout or a cancelled rollback kills
the script *and* what it started (kubectl, docker, ssh), not just the shell.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.core.secrets import redact

MAX_LINE = 4000
"""A line longer than this is cut (a runaway progress bar must not eat the memory)."""
TAIL_LINES = 40
"""Lines kept for the log entry and the report (all lines go to on_line)."""
KILL_GRACE_S = 3.0
"""After SIGTERM, how long the group gets to exit before SIGKILL."""


@dataclass
class DeployResult:
    command: str
    exit_code: int | None
    """None when the process was killed by us (timeout, cancel) or could not start."""
    elapsed_s: float
    timed_out: bool = False
    error: str = ""
    """Why it could not start or was killed, in words."""
    tail: list[str] = field(default_factory=list)
    lines: int = 0
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def summary(self) -> str:
        if self.ok:
            return f"exit 0 in {self.elapsed_s:.1f}s"
        if self.timed_out:
            return f"timed out after {self.elapsed_s:.1f}s: the process group was killed"
        if self.exit_code is None:
            return self.error or "did not finish"
        return f"exit {self.exit_code} after {self.elapsed_s:.1f}s"


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, then SIGKILL it if it lingers."""
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE_S)
    except TimeoutError:
        pass
    _kill_group(proc.pid, signal.SIGKILL)  # stragglers in the group too, even if the leader exited
    if proc.returncode is None:
        await proc.wait()


async def run_command(command: str, *, cwd: Path, timeout_s: float, on_line: Callable[[str], None] | None = None,
                      env: Mapping[str, str] | None = None) -> DeployResult:
    """Run `command` with bash; every output line (stdout and stderr, in order) goes to on_line as plain text.

    Never raises for the command's failures (the result says); cancellation kills the group and re-raises.
    Lines are decoded leniently and scrubbed of known secrets; they are data, never markup.
    """
    t0 = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", command, cwd=str(cwd), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True, env=dict(env) if env is not None else None, limit=1 << 20)
    except OSError as e:
        return DeployResult(command, None, time.monotonic() - t0, error=f"could not start: {e}")
    count = 0

    async def pump() -> None:
        nonlocal count
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line over the stream limit: take what is there
                raw = await proc.stdout.read(1 << 20)
            if not raw:
                break
            line = redact(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if len(line) > MAX_LINE:
                line = line[:MAX_LINE] + "…"
            count += 1
            tail.append(line)
            if on_line is not None:
                on_line(line)

    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await pump()
                await proc.wait()
        except TimeoutError:
            timed_out = True
            await _terminate(proc)
    except BaseException:  # cancelled (the person aborted, the app quit): leave no deploy running
        await asyncio.shield(_terminate(proc))
        raise
    elapsed = time.monotonic() - t0
    return DeployResult(command, None if timed_out else proc.returncode, elapsed, timed_out=timed_out,
                        error=f"timed out after {timeout_s:g}s" if timed_out else "",
                        tail=list(tail), lines=count, pid=proc.pid)
