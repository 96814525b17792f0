"""Flags that live in env vars or Kubernetes: command templates (seed 001).

    get = "kubectl exec deploy/api -- printenv {flag}"
    set = "kubectl set env deploy/api {flag}={value}"
    get = "sh -c 'kubectl set env deploy/api --list | grep -E \"^$COCKPIT_FLAG=\" | cut -d= -f2-'"

A template is argv, not shell text: it is split into words first (shlex's rules) and {flag} and
{value} are filled in inside a word, then the program runs without a shell — a value is one
argument whatever it holds. Templates that quote a placeholder or put one in a `sh -c` script are
refused (runbook/placeholders.check_command), and flag names obey a strict grammar, so nothing a
flag name holds is ever parsed as code. Scripts read the flag as COCKPIT_FLAG and COCKPIT_VALUE.

Each command runs in its own process group, which is killed as a whole on timeout (kubectl and its
children do not outlive it). The reason and the actor reach the command as COCKPIT_FLAG_REASON and
COCKPIT_ACTOR, the [flags] token (if any) as COCKPIT_FLAG_TOKEN: environment variables never
appear in the command line (`ps`) or in the log.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from pathlib import Path

from cockpit.core.flags.base import FlagError, FlagState, FlagUnavailable
from cockpit.core.flags.transport import excerpt
from cockpit.runbook.placeholders import PlaceholderError, check_command, command_argv, flag_name_problem

_TRUE = {"true", "1", "on", "yes", "y", "enabled", "enable"}
_FALSE = {"false", "0", "off", "no", "n", "disabled", "disable"}
MAX_OUTPUT = 1_000_000


def validate_flag_name(flag: str) -> None:
    """Refuse names outside the flag-name grammar before any command is built from them."""
    problem = flag_name_problem(flag)
    if problem:
        raise FlagError(flag, problem)


def parse_bool(text: str, on_value: str = "true", off_value: str = "false") -> bool | None:
    """Lenient: the last non-empty line; `NAME=VALUE` reads VALUE; quotes and case ignored."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    v = lines[-1]
    if "=" in v:
        v = v.rsplit("=", 1)[1]
    v = v.strip().strip("'\"").strip().lower()
    if v in _TRUE or v == on_value.lower():
        return True
    if v in _FALSE or v == off_value.lower():
        return False
    return None


class CommandFlagBackend:
    name = "command"

    def __init__(self, get: str, set: str, list: str | None = None, *, on_value: str = "true",
                 off_value: str = "false", timeout: float = 10.0, cwd: Path | str | None = None,
                 values: Mapping[str, str | None] | None = None, token: str | None = None):
        for key, template in (("get", get), ("set", set), ("list", list)):
            if template is not None:
                try:
                    check_command(template)
                except PlaceholderError as e:
                    raise FlagError(None, f"[flags] {key}: {e}") from None
        self.get_template = get
        self.set_template = set
        self.list_template = list
        self.on_value = on_value
        self.off_value = off_value
        self.timeout = timeout
        self.cwd = str(cwd) if cwd is not None else None
        self.values = dict(values or {})
        self._env = {"COCKPIT_FLAG_TOKEN": token} if token else {}

    @property
    def bulk_reads(self) -> bool:
        """With a list template, batch flips read all states with one command instead of one per flag."""
        return bool(self.list_template)

    def __repr__(self) -> str:
        return f"CommandFlagBackend(set={self.set_template!r})"

    def _render(self, template: str, flag: str | None, value: str | None = None) -> list[str]:
        if flag is not None:
            validate_flag_name(flag)
        try:
            return command_argv(template, {**self.values, "flag": flag, "value": value})
        except PlaceholderError as e:
            raise FlagError(flag, f"flag command template: {e}") from None

    async def list(self) -> list[FlagState]:
        if not self.list_template:
            raise FlagError(None, "the command backend has no [flags] list template; read flags one by one "
                                  "with the runbook's stage flags instead")
        out = await self._run(self._render(self.list_template, None), None, "listing flags")
        states = []
        for line in out.splitlines():
            if "=" not in line:
                continue
            name, _, _ = line.strip().partition("=")
            enabled = parse_bool(line, self.on_value, self.off_value)
            if name and enabled is not None:
                states.append(FlagState(name.strip(), enabled))
        return states

    async def get(self, flag: str) -> FlagState:
        what = f"reading flag {flag!r}"
        out = await self._run(self._render(self.get_template, flag), flag, what, env={"COCKPIT_FLAG": flag})
        enabled = parse_bool(out, self.on_value, self.off_value)
        if enabled is None:
            raise FlagError(flag, f"{what}: the get command printed {excerpt(out) or 'nothing'!r}, which is "
                                  f"neither on ({self.on_value}, true, 1, yes) nor off ({self.off_value}, false, "
                                  "0, no)")
        return FlagState(flag, enabled)

    async def set(self, flag: str, enabled: bool, *, reason: str, actor: str,
                  idempotency_key: str | None = None) -> FlagState:
        what = f"turning flag {flag!r} {'on' if enabled else 'off'}"
        value = self.on_value if enabled else self.off_value
        argv = self._render(self.set_template, flag, value)
        # COCKPIT_FLAG_VALUE: the older spelling, kept for scripts written against it.
        await self._run(argv, flag, what, env={"COCKPIT_FLAG_REASON": reason, "COCKPIT_ACTOR": actor,
                                               "COCKPIT_FLAG": flag, "COCKPIT_VALUE": value,
                                               "COCKPIT_FLAG_VALUE": value})
        return FlagState(flag, enabled)

    async def aclose(self) -> None:
        return None

    async def _run(self, argv: list[str], flag: str | None, what: str, env: dict[str, str] | None = None) -> str:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, cwd=self.cwd, start_new_session=True,
                env={**os.environ, **self._env, **(env or {})},
            )
        except OSError as e:
            raise FlagError(flag, f"{what}: cannot start the flag command: {excerpt(str(e))}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as e:
            _kill_group(proc.pid)
            await proc.wait()
            if isinstance(e, asyncio.CancelledError):
                raise
            raise FlagUnavailable(flag, f"{what}: the flag command did not finish within {self.timeout:g}s "
                                        "and was killed", retryable=True) from None
        text = out[:MAX_OUTPUT].decode("utf-8", errors="replace")
        if proc.returncode != 0:
            said = excerpt(err.decode("utf-8", errors="replace")) or excerpt(text)
            raise FlagError(flag, f"{what}: the flag command exited with {proc.returncode}"
                                  + (f": {said}" if said else ""))
        return text


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # start_new_session: the command's pid is its group's id
    except ProcessLookupError:
        pass
