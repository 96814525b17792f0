"""The shop: a real HTTP service on loopback that the seed cutovers release.

What it answers comes from three real places: its state file (tests/seeds/fakes/shopstate.py —
which image its pods run, their env, programmed answers; changed by the fake kubectl and docker), a
real PostgreSQL database (schema version, data; changed by the repo's migrate script and the real
pg_dump / pg_restore / psql) and a real Redis server (a unix socket of its own).

Routes (GET and HEAD unless said):
    /version                  {"app", "version", "image", "sha", "revision", "schema": {"database",
                               "required"}, "flags": {NAME: bool}}; 503 while no pod is ready
    /health                   200/503 {"status": "ok"|"degraded", "version", "checks": {"database",
                               "redis", "schema", "external"}} — each "ok" or what is wrong; seed 004's
                               "checks.database" / "checks.redis"
    /health/NAME              database (db), redis, schema: the real thing; external and every
                               subsystem (catalog, availability, booking, payments, …): ok unless
                               programmed; 404 for a name the shop does not have
    /DEPLOYMENT/health        another deployment of the state (seed 002's auth/points/pulse), and
    /DEPLOYMENT/version       its version
    /api/ANYTHING             the app itself: 200 {"path", "version", "flags"}; 502 while its pods
                               crash; every request is a line in the deployment's log
    /admin                    the admin panel (seed 000's smoke): 200
    /admin/flags[/NAME]       the flag API of ARCHITECTURE §5 (GET; PUT with Bearer FLAG_TOKEN),
                               reading and writing the flag store (flags_in = "api"); with
                               flags_in = "env" a PUT answers 409: those flags are the deployment's env
    POST /hooks/NAME          a webhook receiver ([[notify]]): the body is kept in the state's "hooks"
    /_shop/state              the whole state (read-only)
    /metrics                  Prometheus' text format (prometheus-client, a registry of the shop's own):
                              every request above counted and timed as http_requests_total{method,
                              handler, code} and http_request_duration_seconds{handler} (seeds 000..003),
                              and as seed 004's request_count / request_duration_seconds / errors; the
                              business counters the seed runbooks query (webhooks, booking confirm errors,
                              realtime disconnects) move by Shop.count()
    any programmed route      Shop.route(path, body, status); Shop.prometheus(query, value) serves
                               Prometheus's /api/v1/query answer for one query
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from tests.helpers.tools import redis_server
from tests.seeds.fakes import shopstate

FLAG_TOKEN = "shop-flags-admin-token"
COMPOSITE = ("database", "redis", "schema", "external")
"""The checks /health reports."""


TRAFFIC_HEADER = "X-Shop-Traffic"
"""Marks the synthetic users' requests (Shop.traffic): counted in /metrics, not written to the pods' log."""


class Metrics:
    """What /metrics exposes, in a registry of the shop's own (a second shop in the process has its own)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("http_requests_total", "Requests answered", ["method", "handler", "code"], registry=r)
        self.duration = Histogram("http_request_duration_seconds", "Time to answer", ["handler"], registry=r)
        # seed 004's names ("Prometheus метрики (request_count, duration, errors)"), of the same requests
        self.request_count = Counter("request_count", "Requests answered", ["endpoint", "status"], registry=r)
        self.request_duration = Histogram("request_duration_seconds", "Time to answer", ["endpoint"], registry=r)
        self.errors = Counter("errors", "Requests answered with a 5xx", ["endpoint"], registry=r)
        self.counters = {
            "webhook_processed": Counter("webhook_processed", "Payment webhooks processed (seed 000)", ["outcome"],
                                         registry=r),
            "booking_confirm_errors": Counter("booking_confirm_errors", "Bookings that failed to confirm (seed 000)",
                                              registry=r),
            "realtime_disconnects": Counter("realtime_disconnects", "Realtime sockets dropped (seed 003)", registry=r),
        }
        self.counters["webhook_processed"].labels("ok")  # both series exist from the start: a rate is 0, not none
        self.counters["webhook_processed"].labels("failed")

    def observe(self, method: str, path: str, code: int, seconds: float) -> None:
        handler = handler_of(path)
        self.requests.labels(method, handler, str(code)).inc()
        self.duration.labels(handler).observe(seconds)
        self.request_count.labels(handler, str(code)).inc()
        self.request_duration.labels(handler).observe(seconds)
        if code >= 500:
            self.errors.labels(handler).inc()


def handler_of(path: str) -> str:
    """The route a request went to, with the cardinality of routes (not of ids): /api/orders/17 -> /api/orders/."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    if parts[:1] == ["api"]:
        return "/" + "/".join(parts[:2]) + "/"
    return "/" + "/".join(parts[:2])


class Shop:
    """The service, its Redis, and handles on its state and database for the tests."""

    def __init__(self, state_path: Path, dsn: str):
        self.state_path, self.dsn = Path(state_path), dsn
        self.metrics = Metrics()
        self.faults: dict[tuple[str | None, str | None], float] = {}
        """(flag, version) -> the share of the app's requests answered 500 while that flag is on and that version
        serves (None: whatever the flags / the version)."""
        self._owed = 0.0
        self._fault_lock = threading.Lock()
        self._traffic: threading.Thread | None = None
        self._traffic_stop = threading.Event()
        self._sock_dir = Path(tempfile.mkdtemp(prefix="shop-redis-"))  # unix socket paths must stay short
        self.redis_socket = self._sock_dir / "redis.sock"
        self._redis: subprocess.Popen[bytes] | None = None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.shop = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="shop", daemon=True)

    def start(self) -> Shop:
        self.start_redis()
        self._thread.start()
        return self

    def close(self) -> None:
        self.stop_traffic()
        self._server.shutdown()
        self._server.server_close()
        self.stop_redis()
        shutil.rmtree(self._sock_dir, ignore_errors=True)

    # -- Redis: a real server, so "Redis down" is a stopped process --------------------------------
    def start_redis(self) -> None:
        if self._redis is not None:
            return
        self._redis = subprocess.Popen(
            [redis_server(), "--port", "0", "--unixsocket", str(self.redis_socket), "--save", "",
             "--appendonly", "no", "--dir", str(self._sock_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while redis_ping(self.redis_socket) != "ok":
            if time.monotonic() > deadline or self._redis.poll() is not None:
                raise RuntimeError("redis-server did not start (is it installed?)")
            time.sleep(0.02)

    def stop_redis(self) -> None:
        if self._redis is not None:
            self._redis.terminate()
            self._redis.wait(10)
            self._redis = None

    # -- reading ----------------------------------------------------------------------------------
    def state(self) -> dict:
        return shopstate.read(self.state_path)

    def get(self, path: str, method: str = "GET") -> tuple[int, Any]:
        """A real request to the service: (status, JSON body or text)."""
        req = urllib.request.Request(self.url + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def version(self) -> dict:
        status, body = self.get("/version")
        if status != 200:
            raise AssertionError(f"/version answered {status}: {body}")
        return body

    def flags(self) -> dict[str, bool]:
        """The flags the app acts on now."""
        return shopstate.effective_flags(self.state())

    def deployment(self, name: str | None = None) -> dict:
        state = self.state()
        return state["deployments"][name or state["app"]]

    def hooks(self, name: str | None = None) -> list[dict]:
        return [h for h in self.state()["hooks"] if name is None or h["name"] == name]

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def schema_version(self) -> int:
        return database_schema(self.dsn)

    # -- programming ------------------------------------------------------------------------------
    def set_health(self, name: str, status_code: int = 200, **fields: Any) -> None:
        """/health/NAME answers this from now on (and /health's check of that name follows it)."""
        with shopstate.update(self.state_path) as s:
            s["health"][name] = {"status_code": status_code, "fields": fields}

    def reset_health(self, name: str) -> None:
        with shopstate.update(self.state_path) as s:
            s["health"].pop(name, None)

    def route(self, path: str, body: Any = None, status: int = 200) -> None:
        """GET path (with its query, if given, matched decoded) answers `body` as JSON with `status`."""
        with shopstate.update(self.state_path) as s:
            s["routes"][unquote_plus(path)] = {"status": status, "body": body}

    def prometheus(self, query: str, value: float, prefix: str = "/prometheus") -> None:
        """Prometheus's instant-query answer for `query` (seed 002's error rate and latency checks)."""
        self.route(f"{prefix}/api/v1/query?query={query}", {
            "status": "success", "data": {"resultType": "vector",
                                          "result": [{"metric": {}, "value": [time.time(), str(value)]}]}})
        self.route(f"{prefix}/-/ready", "Prometheus Server is Ready.")

    # -- users and faults: what the guardrails see -----------------------------------------------
    def traffic(self, paths: list[str] | tuple[str, ...] = ("/api/products/",), rps: float = 20) -> None:
        """Synthetic users: GET each of `paths` in turn, `rps` a second, until stop_traffic() or close()."""
        if self._traffic is not None:
            return
        self._traffic_stop.clear()

        def users() -> None:
            for n in range(10**9):
                if self._traffic_stop.wait(1 / rps):
                    return
                req = urllib.request.Request(self.url + paths[n % len(paths)], headers={TRAFFIC_HEADER: "1"})
                try:
                    urllib.request.urlopen(req, timeout=5).read()
                except (urllib.error.URLError, OSError):
                    pass  # a 5xx is the point; the shop's metrics counted it

        self._traffic = threading.Thread(target=users, name="shop-users", daemon=True)
        self._traffic.start()

    def stop_traffic(self) -> None:
        if self._traffic is not None:
            self._traffic_stop.set()
            self._traffic.join(10)
            self._traffic = None

    def set_fault(self, flag: str | None, error_rate: float, *, version: str | None = None) -> None:
        """From now on `error_rate` of the app's requests fail with 500 while `flag` is on for the app (its
        real flag state: the store or the serving pods' env) and `version` serves (its pods' image); None:
        whatever the flags / the version. A rollback or a flag turned off ends the fault by itself."""
        with self._fault_lock:
            self.faults[(flag, version)] = error_rate

    def clear_faults(self) -> None:
        with self._fault_lock:
            self.faults.clear()

    def failing(self, state: dict) -> bool:
        """Whether this request of the app fails: exactly the fault's share, spread evenly (no chance)."""
        flags = shopstate.effective_flags(state)
        serving = (state["deployments"][state["app"]].get("serving") or {}).get("version")
        with self._fault_lock:
            rate = max([r for (f, v), r in self.faults.items() if (f is None or flags.get(f))
                        and (v is None or v == serving)], default=0.0)
            if rate <= 0:
                return False
            self._owed += rate
            if self._owed >= 1:
                self._owed -= 1
                return True
            return False

    def count(self, name: str, n: float = 1, **labels: str) -> None:
        """Move a business counter of /metrics (Metrics.counters), as the app would when that happens."""
        c = self.metrics.counters[name]
        (c.labels(**labels) if labels else c).inc(n)

    def log(self, line: str, deployment: str | None = None) -> None:
        """A line in the serving pods' log (what `kubectl logs` shows), as the app would write it."""
        with shopstate.update(self.state_path) as s:
            shopstate.log(s, deployment or s["app"], line)

    def poison(self, image_ref: str) -> None:
        """The registry's image crashes at start from now on (a bad build someone pushed)."""
        ref = shopstate.normalize_image(image_ref)
        with shopstate.update(self.state_path) as s:
            s["registry"][ref] = {**s["registry"][ref], "crash": True}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    shop: Shop


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read the state instead
        pass

    def parse_request(self) -> bool:
        self.started = time.perf_counter()
        return super().parse_request()

    @property
    def shop(self) -> Shop:
        return self.server.shop

    def send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        raw = (json.dumps(body) if content_type == "application/json" else str(body)).encode()
        if urlsplit(self.path).path != "/metrics":
            self.shop.metrics.observe(self.command, self.path, status, time.perf_counter() - self.started)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(raw)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    # -- GET / HEAD ------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/metrics":
            return self.send(200, generate_latest(self.shop.metrics.registry).decode(), CONTENT_TYPE_LATEST)
        state = self.shop.state()
        full = unquote_plus(self.path)
        path = urlsplit(self.path).path
        programmed = state["routes"].get(full) or state["routes"].get(unquote_plus(path))
        if programmed is not None:
            body = programmed["body"]
            return self.send(programmed["status"], body, "application/json" if not isinstance(body, str)
                             else "text/plain; charset=utf-8")
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return self.send(*version(state, state["app"], self.shop.dsn))
        if path == "/health":
            return self.send(*health(state, self.shop))
        if len(parts) == 2 and parts[0] == "health":
            return self.send(*sub_health(state, self.shop, parts[1]))
        if len(parts) == 2 and parts[0] in state["deployments"] and parts[1] in ("health", "version"):
            status, body = version(state, parts[0], self.shop.dsn)
            if parts[1] == "health":
                body = {"status": "ok" if status == 200 else "down", "service": parts[0], **body}
            return self.send(status, body)
        if parts[:1] == ["api"]:
            return self.app(state, path)
        if path in ("/admin", "/admin/"):
            return self.send(200, {"service": "admin panel", "app": state["app"]})
        if parts[:2] == ["admin", "flags"] and len(parts) <= 3:
            flags = state["flag_store"] if state["flags_in"] == "api" else shopstate.effective_flags(state)
            if len(parts) == 2:
                return self.send(200, {"flags": [{"name": f, "enabled": bool(flags.get(f))} for f in state["flags"]]})
            if parts[2] not in state["flags"]:
                return self.send(404, {"error": f"unknown flag {parts[2]}"})
            return self.send(200, {"name": parts[2], "enabled": bool(flags.get(parts[2]))})
        if path == "/hooks":
            return self.send(200, {"hooks": state["hooks"]})
        if path == "/_shop/state":
            return self.send(200, state)
        self.send(404, {"error": f"not found: {path}"})

    do_HEAD = do_GET

    def app(self, state: dict, path: str) -> None:
        serving = state["deployments"][state["app"]].get("serving")
        if not serving or serving.get("crash"):
            return self.send(502, {"error": "bad gateway: no pod of the app is ready"})
        failing = self.shop.failing(state)
        if not self.headers.get(TRAFFIC_HEADER):
            with shopstate.update(self.shop.state_path) as s:
                shopstate.log(s, s["app"], f"{self.command} {path} {500 if failing else 200}")
        if failing:
            return self.send(500, {"error": "internal server error", "version": serving["version"]})
        self.send(200, {"path": path, "version": serving["version"], "flags": shopstate.effective_flags(state)})

    # -- PUT: the flag API -----------------------------------------------------------------------------
    def do_PUT(self) -> None:
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        raw = self.body()
        if parts[:2] != ["admin", "flags"] or len(parts) != 3:
            return self.send(405, {"error": "method not allowed"})
        name = parts[2]
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        replied: list[tuple[int, dict]] = []  # sent once the state is written: a read-back sees the flip

        def decide(s: dict) -> None:
            def answer(status: int, reply: dict) -> None:
                s["flag_puts"].append({"name": name, "enabled": body.get("enabled") if isinstance(body, dict) else None,
                                       "reason": body.get("reason") if isinstance(body, dict) else None,
                                       "actor": body.get("actor") if isinstance(body, dict) else None,
                                       "status": status, "at": time.time()})
                replied.append((status, reply))

            if scheme.lower() != "bearer" or token.strip() != FLAG_TOKEN:
                return answer(401, {"error": "missing or invalid bearer token"})
            if name not in s["flags"]:
                return answer(404, {"error": f"unknown flag {name}"})
            if s["flags_in"] != "api":
                return answer(409, {"error": f"{name} is an env var of deployment {s['app']}: kubectl set env"})
            if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
                return answer(400, {"error": 'body must be {"enabled": bool, "reason": str, "actor": str}'})
            s["flag_store"][name] = body["enabled"]
            shopstate.log(s, s["app"], f"flag {name} switched {'on' if body['enabled'] else 'off'} by "
                                       f"{body.get('actor')}: {body.get('reason')}")
            answer(200, {"name": name, "enabled": body["enabled"]})

        with shopstate.update(self.shop.state_path) as s:
            decide(s)
        self.send(*replied[0])

    # -- POST: webhooks ------------------------------------------------------------------------------
    def do_POST(self) -> None:
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        raw = self.body()
        if len(parts) != 2 or parts[0] != "hooks":
            return self.send(405, {"error": "method not allowed"})
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with shopstate.update(self.shop.state_path) as s:
            s["hooks"].append({"name": parts[1], "body": body, "at": time.time()})
        self.send(200, {"ok": True})


# -- what the routes compute --------------------------------------------------------------------------

def version(state: dict, name: str, dsn: str) -> tuple[int, dict]:
    dep = state["deployments"][name]
    serving = dep.get("serving")
    if not serving or serving.get("crash"):
        return 503, {"app": name, "error": "no pod is ready", "rollout": dep["rollout"]}
    body = {"app": name, "version": serving["version"], "image": serving["image"], "sha": serving["sha"],
            "revision": serving["revision"]}
    if name == state["app"]:
        body["schema"] = {"database": _or_none(database_schema, dsn), "required": serving["requires_schema"]}
        body["flags"] = shopstate.effective_flags(state)
    return 200, body


def health(state: dict, shop: Shop) -> tuple[int, dict]:
    status, v = version(state, state["app"], shop.dsn)
    checks = {name: check(state, shop, name)[1] for name in COMPOSITE}
    ok = status == 200 and all(c == "ok" for c in checks.values())
    body = {"status": "ok" if ok else "degraded", "version": v.get("version"), "checks": checks}
    if status != 200:
        body["error"] = v["error"]
    return (200 if ok else 503), body


def sub_health(state: dict, shop: Shop, name: str) -> tuple[int, dict]:
    programmed = state["health"].get(name)
    if programmed is not None:
        code = programmed["status_code"]
        return code, {"status": "ok" if code < 400 else "error", "service": name, **programmed["fields"]}
    if name in ("database", "db", "redis", "schema") or name in state["subsystems"]:
        code, detail = check(state, shop, "database" if name == "db" else name)
        body = {"status": "ok" if code == 200 else "error", "service": name}
        return code, body if code == 200 else {**body, "detail": detail}
    return 404, {"error": f"no health check named {name}"}


def check(state: dict, shop: Shop, name: str) -> tuple[int, str]:
    """(status code, "ok" or what is wrong) of one check, programmed or real."""
    programmed = state["health"].get(name) or (state["health"].get("db") if name == "database" else None)
    if programmed is not None:
        code = programmed["status_code"]
        return code, "ok" if code < 400 else str(programmed["fields"].get("detail", "error"))
    if name == "database":
        try:
            database_schema(shop.dsn)
            return 200, "ok"
        except psycopg.Error as e:
            return 503, f"error: {str(e).strip().splitlines()[0]}"
    if name == "redis":
        got = redis_ping(shop.redis_socket)
        return (200, "ok") if got == "ok" else (503, got)
    if name == "schema":
        serving = state["deployments"][state["app"]].get("serving") or {}
        try:
            db = database_schema(shop.dsn)
        except psycopg.Error:
            return 503, "unknown: database unreachable"
        need = serving.get("requires_schema", 0)
        return (200, "ok") if db >= need else (503, f"behind: database at {db}, code needs {need}")
    return 200, "ok"   # external and the subsystems: up unless programmed


def database_schema(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
        try:
            row = conn.execute("select coalesce(max(version), 0) from schema_migrations").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0


def _or_none(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except psycopg.Error:
        return None


def redis_ping(sock_path: Path) -> str:
    """"ok" when Redis answers PING on its socket, else what went wrong."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(sock_path))
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError as e:
        return f"error: {e.strerror or e}"
    return "ok" if reply.startswith(b"+PONG") else f"error: {reply!r}"
