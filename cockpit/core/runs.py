"""Command steps with side effects run at most once at a time, and outlive the cockpit that started them.

A deploy must never run twice at once — also not when the cockpit that started it was killed and
a resumed one reaches the same step. So a command step runs like this:
- before it starts, a marker `<runs>/<key>.json` is written (fsync'd) with a run id; the command's
  process tree carries the id in its environment (COCKPIT_RUN_ID), so it can be found even if the
  cockpit died before writing down the pid;
- the command runs in its own session (a process group), behind a small bash wrapper that sends its
  output to `<key>.out` and writes its exit code to `<key>.status` when it ends: its output does not
  depend on the cockpit's pipes, and its outcome is known even if nobody waited for it;
- the pid, the process group and the process's start time (from /proc) are added to the marker.
A later cockpit reaching the step asks `find(key)`: a run still alive is followed (its output streamed
from the file, waited for up to its timeout) instead of started again; a run that finished meanwhile
gives its exit code; a run killed without a status is over, and the step may start again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cockpit.core.secrets import redact

MAX_LINE = 4000
"""A line longer than this is cut (a runaway progress bar must not eat the memory)."""
TAIL_LINES = 40
"""Lines kept for the log entry and the report (all lines go to on_line)."""
KILL_GRACE_S = 3.0
"""After SIGTERM, how long the group gets to exit before SIGKILL."""


@dataclass
class RunResult:
    command: str
    exit_code: int | None
    """None when the process was killed (timeout, cancel) or could not start."""
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


RUN_ENV = "COCKPIT_RUN_ID"
POLL_S = 0.1
# "$1": the command (a runbook's text, run by its own bash, never spliced here); "$2": output; "$3": status.
_WRAPPER = 'bash -c "$1" >"$2" 2>&1 </dev/null; code=$?; echo "$code" >"$3.tmp" && mv "$3.tmp" "$3"'


@dataclass
class Run:
    key: str
    run_id: str
    command: str
    cwd: str
    started_at: float
    """Wall clock (time.time) when the run started."""
    timeout_s: float
    pid: int | None = None
    start_ticks: int | None = None
    """The process's start time in clock ticks since boot (/proc/<pid>/stat): tells it from a reused pid."""

    @property
    def deadline(self) -> float:
        return self.started_at + self.timeout_s


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _pids_with(run_id: str) -> list[int]:
    """Processes whose environment carries this run's id (the wrapper and everything it started)."""
    needle = f"{RUN_ENV}={run_id}".encode()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if needle in (d / "environ").read_bytes().split(b"\0") and _alive(int(d.name)):
                found.append(int(d.name))
        except OSError:
            continue
    return found


class Runs:
    """The command runs of one machine's cockpits, in a folder beside the log's spool."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def _base(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]  # keys hold release ids: any text
        return self.dir / digest

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        base = self._base(key)
        return base.with_suffix(".json"), base.with_suffix(".out"), base.with_suffix(".status")

    def output_path(self, key: str) -> Path:
        """The whole output of the step's last run (kept beside the log's spool)."""
        return self._paths(key)[1]

    # -- what is there ----------------------------------------------------------------------
    def find(self, key: str) -> Run | None:
        """The last run of this step, if its marker is there."""
        marker, _, _ = self._paths(key)
        try:
            return Run(**json.loads(marker.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def exit_code(self, run: Run) -> int | None:
        """The run's exit code once it has ended by itself (None: still running, or killed)."""
        try:
            return int(self._paths(run.key)[2].read_text().strip())
        except (OSError, ValueError):
            return None

    def running(self, run: Run) -> bool:
        if self.exit_code(run) is not None:
            return False
        if run.pid is not None and _alive(run.pid) and _start_ticks(run.pid) == run.start_ticks:
            return True
        return bool(_pids_with(run.run_id))  # died before the pid was written, or the wrapper is gone

    def forget(self, key: str) -> None:
        for p in self._paths(key):
            p.unlink(missing_ok=True)

    def stop(self, run: Run) -> None:
        """Kill the run's process group, then anything else that carries its id."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if run.pid is not None and _start_ticks(run.pid) == run.start_ticks:
                try:
                    os.killpg(run.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            for pid in _pids_with(run.run_id):
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            if sig == signal.SIGTERM:
                end = time.monotonic() + KILL_GRACE_S
                while time.monotonic() < end and self.running(run):
                    time.sleep(POLL_S)

    # -- running ------------------------------------------------------------------------------
    async def start(self, key: str, command: str, *, cwd: Path, timeout_s: float,
                    on_line: Callable[[str], None] | None = None, env: Mapping[str, str] | None = None
                    ) -> RunResult:
        """Start the step's command and follow it to its end. Refuses (RuntimeError) while a run of
        the same step is alive: follow that one instead."""
        previous = self.find(key)
        if previous is not None and self.running(previous):
            raise RuntimeError(f"a run of {key} started at {time.ctime(previous.started_at)} is still running")
        self.dir.mkdir(parents=True, exist_ok=True)
        marker, out, status = self._paths(key)
        for p in (out, status):
            p.unlink(missing_ok=True)
        run = Run(key=key, run_id=uuid.uuid4().hex, command=command, cwd=str(cwd), started_at=time.time(),
                  timeout_s=timeout_s)
        self._write(marker, run)  # before the start: a cockpit killed right after can still find its run
        t0 = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", _WRAPPER, "cockpit-run", command, str(out), str(status), cwd=str(cwd),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
                env={**(dict(env) if env is not None else os.environ), RUN_ENV: run.run_id})
        except OSError as e:
            self.forget(key)
            return RunResult(command, None, time.monotonic() - t0, error=f"could not start: {e}")
        run.pid, run.start_ticks = proc.pid, _start_ticks(proc.pid)
        self._write(marker, run)
        return await self.follow(run, on_line=on_line, child=proc)

    async def follow(self, run: Run, *, on_line: Callable[[str], None] | None = None,
                     child: asyncio.subprocess.Process | None = None) -> RunResult:
        """Stream the run's output and wait for its end (or its deadline: then its group is killed).
        `child` when this process started it; a run left by a killed cockpit is followed by polling."""
        _, out, _ = self._paths(run.key)
        tail: list[str] = []
        lines = 0
        pos = 0
        partial = b""

        def pump() -> None:
            nonlocal pos, partial, lines
            try:
                with open(out, "rb") as f:
                    f.seek(pos)
                    data = f.read()
            except OSError:
                return
            pos += len(data)
            chunks = (partial + data).split(b"\n")
            partial = chunks.pop()
            for raw in chunks:
                line = redact(raw.decode("utf-8", "replace").rstrip("\r"))
                line = line[:MAX_LINE] + "…" if len(line) > MAX_LINE else line
                lines += 1
                tail.append(line)
                del tail[:-TAIL_LINES]
                if on_line is not None:
                    on_line(line)

        timed_out = False
        try:
            while True:
                pump()
                ended = child.returncode is not None if child is not None else not self.running(run)
                if ended:
                    break
                if time.time() > run.deadline:
                    timed_out = True
                    await asyncio.to_thread(self.stop, run)
                    break
                await asyncio.sleep(POLL_S)
            if child is not None:
                await child.wait()
        except BaseException:  # cancelled (the person aborted, the app quit): leave no run behind
            await asyncio.shield(asyncio.to_thread(self.stop, run))
            raise
        pump()
        if partial:
            lines += 1
            tail.append(redact(partial.decode("utf-8", "replace")))
            if on_line is not None:
                on_line(tail[-1])
        code = None if timed_out else self.exit_code(run)
        elapsed = time.time() - run.started_at
        error = (f"timed out after {run.timeout_s:g}s" if timed_out
                 else "" if code is not None else "the run was killed before it finished")
        return RunResult(run.command, code, elapsed, timed_out=timed_out, error=error, tail=tail[-TAIL_LINES:],
                            lines=lines, pid=run.pid)

    @staticmethod
    def _write(path: Path, run: Run) -> None:
        tmp = path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(run), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
