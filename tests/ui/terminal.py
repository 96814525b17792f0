"""A real `cockpit` command on a pseudo-terminal of 80x24: what a person at a terminal sees and types."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from collections.abc import Mapping
from pathlib import Path


class Terminal:
    """`python -m cockpit ARGS` with a pty as its terminal; `seen` is everything it wrote so far."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> None:
        self.args = args
        pid, fd = pty.fork()
        if pid == 0:  # the child: the cockpit, with the pty as its terminal
            os.chdir(cwd)
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            environ = dict(os.environ if env is None else env)
            environ.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
            os.execve(sys.executable, [sys.executable, "-m", "cockpit", *args], environ)
        self.pid, self.fd = pid, fd
        self.seen = b""
        self.closed = False
        self.exit_code: int | None = None

    @property
    def text(self) -> str:
        return self.seen.decode(errors="replace")

    def _read(self, wait: float) -> None:
        if self.closed:
            return
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child has closed the terminal
            chunk = b""
        self.seen += chunk
        self.closed = not chunk

    def wait_for(self, text: str, *, since: int = 0, timeout: float = 60) -> int:
        """Read until `text` shows after offset `since`; returns the offset just past it."""
        deadline = time.monotonic() + timeout
        while (at := self.seen.find(text.encode(), since)) < 0:
            if self.closed or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"cockpit {' '.join(self.args)}: no {text!r} in {timeout}s:\n{self.text[-2000:]}")
            self._read(0.2)
        return at + len(text.encode())

    def type(self, keys: bytes) -> int:
        """Send keys; returns the offset from which their effect shows."""
        time.sleep(0.3)  # let the screen settle: a key sent mid-paint may land before the handler exists
        os.write(self.fd, keys)
        return len(self.seen)

    def wait_exit(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while not self.closed:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"cockpit {' '.join(self.args)} did not end in {timeout}s:\n{self.text[-2000:]}")
            self._read(0.2)
        return self._reap()

    def kill(self) -> None:
        if self.exit_code is None:
            os.kill(self.pid, 9)
            self._reap()

    def _reap(self) -> int:
        if self.exit_code is None:
            _, status = os.waitpid(self.pid, 0)
            os.close(self.fd)
            self.exit_code = os.waitstatus_to_exitcode(status)
        return self.exit_code


def run_in_terminal(args: list[str], cwd: Path, *, until: str | None = None, keys: bytes = b"",
                    timeout: float = 60) -> tuple[int, str]:
    """Run `cockpit ARGS` on a pty; when `until` shows on screen, type `keys`. Returns the exit code and
    everything the terminal received."""
    term = Terminal(args, cwd)
    try:
        if until:
            term.wait_for(until, timeout=timeout)
            term.type(keys)
        return term.wait_exit(timeout), term.text
    finally:
        term.kill()
