"""A throwaway PostgreSQL cluster of a test's own, which the test may stop and start for real.

The machine's shared server is never stopped: a drill that takes the shared log away runs its own
cluster (initdb into a temporary folder, its own port and socket folder). The server binaries come
from `pg_config --bindir` or /usr/lib/postgresql/*/bin. PostgreSQL refuses to run as root, so as
root the cluster belongs to the `postgres` user and its commands run through runuser.
Missing binaries are a failure that says how to install them, never a skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def _bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(d) / "initdb").exists():
            return Path(d)
    raise RuntimeError("the PostgreSQL server binaries (initdb, pg_ctl) are needed for this drill: "
                       "install them (Debian: apt-get install postgresql)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        self.bindir = _bindir()
        # Its own folder straight under the system's temp dir: pytest's are private to root, and the
        # server (user postgres when we are root) must reach its data and socket folders.
        self.root = Path(tempfile.mkdtemp(prefix="cockpit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv[:1])} failed ({done.returncode}): {done.stderr or done.stdout}")

    def remove(self) -> None:
        """Stop it if it runs, and delete its folder."""
        try:
            self.stop()
        except RuntimeError:
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)

    def init(self) -> Cluster:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self.start()

    def start(self) -> Cluster:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def wait_down(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the throwaway cluster on port {self.port} did not stop")
