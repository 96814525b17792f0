"""The demo target's HTTP handler: routing only; what it serves lives in state.py.

Routes are listed in cockpit/demo/target.py's docstring.
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from cockpit.demo import promstandin
from cockpit.demo.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from cockpit.demo.state import FlagRequest, Reply, health_reply

if TYPE_CHECKING:
    from cockpit.demo.target import DemoTarget

MAX_BODY = 64 * 1024
FLAGS_PREFIX = "/admin"
_FLAG = re.compile(r"^/admin/flags/([^/]+)$")
_HEALTH = re.compile(r"^/health(?:/([^/]+))?$")


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The stdlib default backlog (5) drops the SYNs of a burst of checks: ~1 s retransmit delays.
    request_queue_size = 128
    target: DemoTarget


class Handler(BaseHTTPRequestHandler):
    server: DemoServer
    protocol_version = "HTTP/1.1"   # keep-alive: a client with many checks reuses connections
    server_version = "cockpit-demo/1"
    # One write per answer and no Nagle: otherwise delayed ACKs add ~40 ms to every request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        pass

    # -- plumbing ---------------------------------------------------------------------
    @property
    def t(self) -> DemoTarget:
        return self.server.target

    def _send(self, status: int, body: bytes | dict | list | str, ctype: str | None = None,
              headers: dict[str, str] | None = None) -> None:
        if isinstance(body, (dict, list)):
            raw, ctype = json.dumps(body).encode(), ctype or "application/json"
        elif isinstance(body, str):
            raw, ctype = body.encode(), ctype or "text/plain; charset=utf-8"
        else:
            raw = body
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/octet-stream")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def _sleep(self, seconds: float) -> bool:
        """Wait a programmed delay; True when the target is stopping (then the connection is dropped)."""
        if self.t.wait_or_stopping(seconds):
            self.close_connection = True
            return True
        return False

    def _reply(self, reply: Reply) -> None:
        if reply.delay and self._sleep(reply.delay):
            return   # the target is stopping: drop the connection rather than answer late
        self._send(reply.status_code, reply.body, reply.content_type)

    def _json_body(self) -> tuple[object, str | None]:
        """The request's JSON body, or an error text (a bad body never raises)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return None, "bad Content-Length"
        if length > MAX_BODY or length < 0:
            # the unread body would be parsed as the next request: answer, then close the connection
            self.close_connection = True
            return None, f"body larger than {MAX_BODY} bytes"
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return {}, None
        try:
            return json.loads(raw), None
        except (ValueError, UnicodeDecodeError):
            return None, "body is not JSON"

    @property
    def path_only(self) -> str:
        return unquote(urlsplit(self.path).path).rstrip("/") or "/"

    # -- verbs ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = self.path_only
        if path.startswith(promstandin.PREFIX + "/"):
            return self._prometheus_standin(path)
        if path.startswith("/_demo"):
            return self._control("GET", path)
        if path.startswith(FLAGS_PREFIX + "/flags"):
            return self._flags_get(path)
        reply = self.t.reply_for(path)
        if reply is not None:
            return self._reply(reply)
        if path == "/metrics":
            return self._send(200, self.t.metrics.exposition(), METRICS_CONTENT_TYPE)
        if path == "/smoke/last-smoke-summary.env":
            return self._send(200, self.t.smoke.env_text(), "text/plain; charset=utf-8")
        if path == "/smoke/last-smoke-summary.json":
            return self._send(200, self.t.smoke.json_doc())
        if path == "/smoke/junit.xml":
            return self._send(200, self.t.smoke.junit_xml(), "application/xml")
        if path == "/":
            return self._send(200, {"service": "cockpit demo target", "health": self.t.health_urls(),
                                    "flags": self.t.flags_url})
        self._send(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_PUT(self) -> None:
        path = self.path_only
        m = _FLAG.match(path)
        if m:
            return self._flag_put(m.group(1))
        if path.startswith("/_demo"):
            return self._control("PUT", path)
        self._send(405 if path.startswith(FLAGS_PREFIX) else 404, {"error": "method not allowed"})

    def do_POST(self) -> None:
        path = self.path_only
        if path.startswith(promstandin.PREFIX + "/"):
            return self._prometheus_standin(path)
        if path.startswith("/_demo"):
            return self._control("POST", path)
        self._send(405, {"error": "method not allowed"})

    def do_DELETE(self) -> None:
        path = self.path_only
        if path.startswith("/_demo"):
            return self._control("DELETE", path)
        self._send(405, {"error": "method not allowed"})

    # -- the flag API (ARCHITECTURE §5) ---------------------------------------------
    def _auth(self) -> str | None:
        """'admin', 'read' or None (no or unknown token)."""
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return self.t.tokens.get(token.strip())

    def _programmed_failure(self, method: str, flag: str | None) -> bool:
        f = self.t.flags.take_failure(method, flag)
        if f is None:
            return False
        if f.delay and self._sleep(f.delay):
            return True
        self._send(f.status, {"error": f"programmed failure ({f.status})"})
        return True

    def _flags_get(self, path: str) -> None:
        if self.t.flags_read_auth and self._auth() is None:
            return self._send(401, {"error": "missing or invalid bearer token"},
                              headers={"WWW-Authenticate": "Bearer"})
        m = _FLAG.match(path)
        name = m.group(1) if m else None
        if self.t.flags.delay and self._sleep(self.t.flags.delay):
            return
        if self._programmed_failure("GET", name):
            return
        if path == FLAGS_PREFIX + "/flags":
            return self._send(200, {"flags": self.t.flags.snapshot()})
        if name is None:
            return self._send(404, {"error": "not found"})
        enabled = self.t.flags.get(name)
        if enabled is None:
            return self._send(404, {"error": f"unknown flag {name}"})
        self._send(200, {"name": name, "enabled": enabled})

    def _flag_put(self, name: str) -> None:
        key = self.headers.get("Idempotency-Key")
        body, err = self._json_body()

        def refuse(status: int, message: str, **headers: str) -> None:
            b = body if isinstance(body, dict) else {}
            self.t.flags.record(FlagRequest(name, b.get("enabled") if isinstance(b.get("enabled"), bool) else None,
                                            _str(b.get("reason")), _str(b.get("actor")), key, status))
            self._send(status, {"error": message}, headers=headers or None)

        role = self._auth()
        if role is None:
            return refuse(401, "missing or invalid bearer token", **{"WWW-Authenticate": "Bearer"})
        if role != "admin":
            return refuse(403, "this token may read flags but not change them")
        if self.t.flags.delay and self._sleep(self.t.flags.delay):
            return
        f = self.t.flags.take_failure("PUT", name)
        if f is not None:
            if f.delay and self._sleep(f.delay):
                return
            return refuse(f.status, f"programmed failure ({f.status})")
        if err:
            return refuse(400, err)
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            return refuse(400, 'body must be {"enabled": bool, "reason": str, "actor": str}')
        for field in ("reason", "actor"):
            if not isinstance(body.get(field), str) or not body[field].strip():
                return refuse(400, f"{field} is required (a non-empty string)")
        status, answer = self.t.flags.put(name, body["enabled"], body["reason"], body["actor"], key)
        self._send(status, answer)

    # -- the stand-in for Prometheus (promstandin.py) -------------------------------------------
    def _prometheus_standin(self, path: str) -> None:
        params = parse_qs(urlsplit(self.path).query)
        if self.command == "POST":   # Prometheus takes the same parameters as a form body
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self.close_connection = True
                return self._send(400, {"status": "error", "errorType": "bad_data", "error": "bad body length"})
            form = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            for k, v in parse_qs(form).items():
                params.setdefault(k, []).extend(v)
        status, doc = promstandin.answer(self.t.metrics, path.removeprefix(promstandin.PREFIX), params)
        self._send(status, doc)

    # -- control API ------------------------------------------------------------------------
    def _control(self, method: str, path: str) -> None:
        body, err = self._json_body() if method in ("POST", "PUT") else ({}, None)
        if err or not isinstance(body, dict):
            return self._send(400, {"error": err or "body must be a JSON object"})
        try:
            status, answer = self.t.control(method, path.removeprefix("/_demo"), body)
        except (TypeError, ValueError) as e:
            status, answer = 400, {"error": str(e)}
        self._send(status, answer)


def _str(v: object) -> str | None:
    return v if isinstance(v, str) else None


def health_path(name: str) -> str:
    return "/health" if name in ("", "api") else f"/health/{name}"


__all__ = ["DemoServer", "Handler", "health_path", "health_reply"]
