"""A real Prometheus server as a child process: for `cockpit demo` and the test suite.

    server = PrometheusServer.launch({"scrape_configs": [...]}, root=Path(tmp))   # free loopback port
    server.url        # http://127.0.0.1:PORT, answering /api/v1/query
    server.stop()

The binary is Debian's `prometheus` (v2.42 here) found on PATH. It gets its own storage folder under
`root`, a loopback port, and a configuration written as JSON (YAML's superset: no YAML library needed).
Startup is ~0.3 s; launch() returns once /-/ready answers. A port taken between picking and binding
is retried on another. On Linux the server is started through util-linux's `setpriv --pdeathsig`, so
it is stopped by the kernel when the thread that launched it dies, SIGKILL included (no stray
Prometheus holding a port after a killed demo); launch from a thread that lives as long as the server.

`demo_prometheus(target)` is what `cockpit demo` runs: the real server scraping the demo target every
second when the binary is there, else the target's own stand-in (cockpit/demo/promstandin.py), which
says it is one.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cockpit.demo.promstandin import PREFIX as STANDIN_PREFIX

if TYPE_CHECKING:
    from cockpit.demo.target import DemoTarget

BINARY = "prometheus"
INSTALL_HINT = "apt-get install prometheus"
READY_TIMEOUT_S = 30.0
DEMO_JOB = "demo-shop"
ROOT_PREFIX = "cockpit-demo-prometheus-"
"""The demo's storage folders, in the temp folder (a killed demo's is swept by the next one)."""
OWNER_LOCK = "owner.lock"


class PrometheusError(RuntimeError):
    """Prometheus could not be started; the message says why (with the end of its log)."""


def find_binary() -> str | None:
    return shutil.which(BINARY)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@dataclass
class PrometheusServer:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    log_path: Path
    started_in_s: float
    """From spawning the process to /-/ready answering 200."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def launch(cls, config: dict[str, Any], root: Path, *, binary: str | None = None,
               ready_timeout_s: float = READY_TIMEOUT_S, attempts: int = 3) -> PrometheusServer:
        """Start Prometheus with `config` (its YAML as a dict) in `root`; return when it is ready."""
        exe = binary or find_binary()
        if exe is None:
            raise PrometheusError(f"`{BINARY}` is not on PATH (install it: {INSTALL_HINT})")
        root.mkdir(parents=True, exist_ok=True)
        (root / "prometheus.yml").write_text(json.dumps(config, indent=2), encoding="utf-8")
        last = ""
        for attempt in range(attempts):
            port = _free_port()
            log_path = root / f"prometheus-{attempt}.log"
            argv = [*_dies_with_parent(), exe, f"--config.file={root / 'prometheus.yml'}",
                    f"--storage.tsdb.path={root / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--storage.tsdb.retention.time=1d", "--log.level=warn"]
            began = time.monotonic()
            with open(log_path, "wb") as out:
                # its own session: a Ctrl-C meant for the cockpit does not reach it before stop() does
                proc = subprocess.Popen(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
            server = cls(proc, port, root, log_path, 0.0)
            deadline = began + ready_timeout_s
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                try:
                    if _get(port, "/-/ready", timeout=1.0)[0] == 200:
                        server.started_in_s = time.monotonic() - began
                        return server
                except OSError:
                    pass
                time.sleep(0.02)   # a starting server gives no event to wait on
            server.stop()
            last = _tail(log_path)
            if "address already in use" not in last:
                break
        raise PrometheusError(f"prometheus did not become ready within {ready_timeout_s:.0f}s "
                              f"(exit {proc.returncode}); its log ends:\n{last}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass


def _dies_with_parent() -> list[str]:
    """The argv prefix that has the kernel send SIGTERM to the server when its parent dies (Linux)."""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def _tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def scrape_config(job: str, targets: list[str], *, interval: str = "1s") -> dict[str, Any]:
    """A configuration that scrapes `targets` (host:port) as `job` every `interval`."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": job, "scrape_interval": interval, "scrape_timeout": interval,
                            "static_configs": [{"targets": targets}]}],
    }


# -- `cockpit demo` -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPrometheus:
    url: str
    """The demo runbook's [prometheus] url."""
    real: bool
    """False: the demo target's stand-in, which answers the demo runbook's queries only."""
    why_not_real: str = ""

    def describe(self) -> str:
        if self.real:
            return f"{self.url}   (real Prometheus, scraping the demo target every 1s)"
        return (f"{self.url}   (a stand-in: answers the demo runbook's queries only; "
                f"install prometheus for the real one: {INSTALL_HINT})")


@contextmanager
def demo_prometheus(target: DemoTarget) -> Iterator[DemoPrometheus]:
    """A real Prometheus scraping `target` when the binary is there, else the target's stand-in.

    A binary that is there but fails to start falls back to the stand-in too (the demo must open),
    and says why.
    """
    if find_binary() is None:
        yield DemoPrometheus(target.url + STANDIN_PREFIX, real=False, why_not_real=f"`{BINARY}` is not on PATH")
        return
    sweep_stale_roots()
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    owner = _hold(root)
    try:
        try:
            server = PrometheusServer.launch(scrape_config(DEMO_JOB, [f"{target.host}:{target.port}"]), root)
        except (PrometheusError, OSError) as e:
            yield DemoPrometheus(target.url + STANDIN_PREFIX, real=False,
                                 why_not_real=str(e).splitlines()[0])
            return
        try:
            yield DemoPrometheus(server.url, real=True)
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        owner.close()


def _hold(root: Path) -> BinaryIO:
    """Lock `root` for as long as this process lives: the kernel lets go when it dies, however it dies,
    which is how a later demo tells a killed demo's folder from a running one's."""
    f = open(root / OWNER_LOCK, "wb")
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return f


def sweep_stale_roots(parent: Path | None = None) -> list[Path]:
    """Delete the storage folders that killed demos left (their owner's lock is free); return them."""
    swept = []
    for root in Path(parent or tempfile.gettempdir()).glob(ROOT_PREFIX + "*"):
        try:
            with open(root / OWNER_LOCK, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:   # held by a running demo, not ours to read, or from before the lock existed
            continue
        shutil.rmtree(root, ignore_errors=True)
        swept.append(root)
    return swept


__all__ = ["BINARY", "DEMO_JOB", "INSTALL_HINT", "DemoPrometheus", "PrometheusError", "PrometheusServer",
           "demo_prometheus", "find_binary", "scrape_config", "sweep_stale_roots"]
