"""A real HTTP(S) server on loopback whose routes tests program: status, delay, body, headers,
redirects, huge or endless bodies, servers that never answer, trickling answers.

    with LoopbackServer() as srv:
        url = srv.route("/health", json={"status": "ok"}, delay=0.3)

Threaded (one thread per connection, a deep listen backlog), so 50 concurrent requests are
served at once. Handlers that wait (delay, hang) wake up when the server stops.
"""

from __future__ import annotations

import json as jsonlib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""
    hang: bool = False
    """Read the request, then never answer (until the server stops)."""
    stream_bytes: int | None = None
    """Send this many bytes of body (no Content-Length, connection closed at the end)."""
    endless: bool = False
    """Send body bytes until the client goes away."""
    trickle: float | None = None
    """Send the headers, then one body byte every `trickle` seconds, forever."""
    declared_length: int | None = None
    """A Content-Length header that claims this size (with the real `body`)."""
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None
    """Full control: called with the request handler instead of all of the above."""


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class LoopbackServer:
    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"):
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._tls = tls
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real services answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
                pass

            def do_GET(self) -> None:
                server._serve(self)

            do_HEAD = do_POST = do_PUT = do_GET

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256  # many clients connecting at the same instant (benchmark)

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that hang up (oversize, TLS refusal) are expected here

        self._httpd = Server((host, 0), Handler)
        if tls is not None:
            # Handshake lazily in the handler thread, so a refused handshake never stalls accept().
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self._httpd.server_address[1]
        self.host = host
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- programming routes ----------------------------------------------------------
    @property
    def base_url(self) -> str:
        scheme = "https" if self._tls else "http"
        host = "localhost" if self._tls else self.host  # certificates name localhost
        return f"{scheme}://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *, json: Any = None, body: bytes | str = b"", **kw: Any) -> str:
        """Program `path` (see Route for keywords); returns its full URL."""
        if json is not None:
            body = jsonlib.dumps(json)
            kw.setdefault("headers", {}).setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        self.routes[path] = Route(body=body, **kw)
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        return self.route(path, status=status, headers={"Location": to})

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    # -- serving ---------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(Seen(h.command, h.path, dict(h.headers)))
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        route = self.routes.get(h.path.split("?", 1)[0])
        if route is None:
            route = Route(status=404, body=b"no such route\n")
        if route.handler is not None:
            route.handler(h)
            return
        if route.hang:
            self.stopping.wait()
            h.close_connection = True
            return
        if route.delay and self.stopping.wait(route.delay):
            return
        try:
            h.send_response(route.status)
            for k, v in route.headers.items():
                h.send_header(k, v)
            if route.stream_bytes is not None or route.endless or route.trickle is not None:
                h.send_header("Connection", "close")
                h.end_headers()
                h.close_connection = True
                self._stream(h, route)
                return
            h.send_header("Content-Length", str(route.declared_length if route.declared_length is not None else len(route.body)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            h.close_connection = True

    def _stream(self, h: BaseHTTPRequestHandler, route: Route) -> None:
        if route.trickle is not None:
            while not self.stopping.wait(route.trickle):
                h.wfile.write(b" ")
                h.wfile.flush()
            return
        chunk = b"x" * 65536
        sent = 0
        while not self.stopping.is_set() and (route.endless or sent < (route.stream_bytes or 0)):
            part = chunk if route.endless else chunk[: (route.stream_bytes or 0) - sent]
            h.wfile.write(part)
            sent += len(part)


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
