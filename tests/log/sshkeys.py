"""Real SSH keys and real ssh-agents for the signing tests (ssh-keygen, ssh-agent, ssh-add from OpenSSH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cockpit.runbook.config import Runbook
from cockpit.runbook.signing import SigningConfig


def need_openssh() -> None:
    missing = [t for t in ("ssh-keygen", "ssh-agent", "ssh-add") if shutil.which(t) is None]
    if missing:
        raise RuntimeError(f"the signing tests need OpenSSH's client tools; missing: {', '.join(missing)} "
                           "(apt-get install openssh-client)")


@dataclass(frozen=True)
class Key:
    path: Path

    @property
    def public(self) -> str:
        return Path(str(self.path) + ".pub").read_text().strip()

    def allowed(self, principal: str, options: str = "") -> str:
        kind, blob = self.public.split()[:2]
        return f"{principal} {options + ' ' if options else ''}{kind} {blob}"


def make_key(folder: Path, name: str, kind: str = "ed25519") -> Key:
    need_openssh()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", str(path)], check=True)
    return Key(path)


@contextmanager
def agent(folder: Path, *keys: Key) -> Iterator[str]:
    """A real ssh-agent on its own socket holding `keys`; yields SSH_AUTH_SOCK."""
    need_openssh()
    short = Path(tempfile.mkdtemp(prefix="ck-agent-"))  # a socket's path must stay under 108 bytes
    sock = short / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        deadline = time.monotonic() + 30  # generous: a loaded machine starts processes slowly
        while True:  # the socket file appears at bind(), a moment before the agent listens
            if sock.exists() and subprocess.run(["ssh-add", "-l"], env=env, capture_output=True).returncode in (0, 1):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("ssh-agent did not answer on its socket")
            time.sleep(0.01)
        for k in keys:
            subprocess.run(["ssh-add", "-q", str(k.path)], check=True, env=env, capture_output=True)
        yield str(sock)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(short, ignore_errors=True)


def with_signing(runbook: Runbook, allowed_signers: Path, *, required: list[str] | None = None, key: str = "",
                 remote: str | None = None) -> Runbook:
    required = ["production"] if required is None else required
    update: dict[str, object] = {"signing": SigningConfig(allowed_signers=str(allowed_signers), key=key,
                                                          required=required)}
    if remote is not None:
        update["release"] = runbook.release.model_copy(update={"remote": remote})
    return runbook.model_copy(update=update)
