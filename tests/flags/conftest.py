"""Fixtures for the flag tests: the demo target, a real release log, a real file keyring, and a small
loopback HTTP server whose answers a test scripts (for failures a well-behaved server never gives)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cockpit.core.log.entry import Actor
from tests.helpers.unleash import unleash_server  # noqa: F401  (session fixture)

TOKEN = "s3cr3t-flag-token-7f1c2a9e"
"""The flag API token used by these tests; every output is scanned for it."""


@pytest.fixture
def actor() -> Actor:
    return Actor(name="alice", os_user="alice", host="test-host", git_email="alice@example.com")


@pytest.fixture
def release_log(tmp_path: Path) -> Iterator[Any]:
    from cockpit.core.log.sqlite import SqliteLog

    log = SqliteLog(tmp_path / "release-log.sqlite")
    try:
        yield log
    finally:
        log.close()


@pytest.fixture
def demo() -> Iterator[Any]:
    from cockpit.demo.target import DemoTarget

    with DemoTarget(token=TOKEN) as t:
        yield t


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real keyring backend, isolated in tmp.

    The OS keyrings (Secret Service, macOS Keychain) need a desktop session that CI and this machine
    do not have; keyrings.alt's PlaintextKeyring is a real keyring backend (same `keyring` API, a file
    on disk), so `cockpit secrets set/get/delete` run unchanged against it. XDG_DATA_HOME points it
    into tmp so the tests never touch a developer's own keyring. Subprocesses inherit both variables.
    """
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    data = tmp_path / "xdg-data"
    data.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    yield data
    keyring.set_keyring(previous)


# -- a scripted loopback server ----------------------------------------------------------------


@dataclass
class Scripted:
    status: int = 200
    body: bytes | dict | list | str = b""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    declared_length: int | None = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptServer:
    """Answers each request with `answer(request) -> Scripted`; records every request."""

    def __init__(self, answer: Callable[[Request], Scripted]):
        self.answer = answer
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(n) if n else b"")
                outer.requests.append(req)
                s = outer.answer(req)
                if s.delay and outer.stopping.wait(s.delay):
                    return
                body = s.body
                ctype = "application/json"
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                elif isinstance(body, str):
                    body, ctype = body.encode(), "text/plain"
                self.send_response(s.status)
                self.send_header("Content-Type", s.headers.get("Content-Type", ctype))
                self.send_header("Content-Length", str(s.declared_length or len(body)))
                for k, v in s.headers.items():
                    if k != "Content-Type":
                        self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            do_GET = do_PUT = do_POST = do_DELETE = _any

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gives up (timeouts, refused huge bodies) is what these tests do

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> ScriptServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def script_server() -> Iterator[Callable[[Callable[[Request], Scripted]], ScriptServer]]:
    servers: list[ScriptServer] = []

    def make(answer: Callable[[Request], Scripted]) -> ScriptServer:
        s = ScriptServer(answer).__enter__()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.__exit__(None, None, None)


def recorder(log: Any, actor: Actor, release_id: str = "shop-prod-abc1234", environment: str = "prod"):  # noqa: ANN201
    """What the flip functions are given to record with. In the product it is ReleaseSession.record;
    here the flip mechanism is tested on its own, against a real SQLite log."""
    import asyncio

    from cockpit.core.log.entry import NewEntry

    async def record(kind: str, payload: dict[str, Any]) -> Any:
        return await asyncio.to_thread(log.append, NewEntry(release_id, environment, kind, payload, actor))

    return record
