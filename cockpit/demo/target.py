"""The embedded demo target: a real HTTP server on loopback that `cockpit demo` and the tests talk to.

    with DemoTarget() as t:            # port 0: a free port is picked
        t.url                          # http://127.0.0.1:PORT
        t.set_health("db", status_code=503)
        t.set_smoke("smoke_sso", "FAIL")
        t.flags.fail_next(2, status=503)
        t.set_fault("MARKETPLACE_REQUESTS_ENABLED", error_rate=0.2, latency_ms=900)   # while that flag is on

Served routes
-------------
GET  /health, /health/{catalog,availability,booking,payments,db,redis}
                                    {"status": "ok", "service": NAME}; any /health/NAME set by set_health
GET  /metrics                       Prometheus text format: http_requests_total{code}, http_request_duration_seconds
                                    from synthetic traffic (cockpit/demo/metrics.py), 20 requests/s, 0.2 % errors,
                                    120 ms, worse while a flag with an injected fault is on
GET  /metrics.json                  {"error_rate": 0.002, "p95_ms": 120, ...} (seed 002's rollback signals, fixed)
GET  /_demo/prometheus/api/v1/query a stand-in for Prometheus that answers the demo runbook's queries only
                                    (cockpit/demo/promstandin.py; `cockpit demo` uses it without a real one)
GET  /loadtest/result.json          seed 004's load test: {"rps": 100, "p95_ms": 310, "passed": true, ...}
GET  /smoke/last-smoke-summary.env  seed 003's KEY=VALUE summary with generated_at=ISO time
GET  /smoke/last-smoke-summary.json {"generated_at": ..., "results": {key: value}}
GET  /smoke/junit.xml               the same results as a JUnit testsuite (a failure per non-passing key)
The flag API of ARCHITECTURE §5, base {url}/admin (`target.flags_url`):
GET  /admin/flags                   {"flags": [{"name", "enabled"}]}
GET  /admin/flags/{name}            {"name", "enabled"} | 404
PUT  /admin/flags/{name}            {"enabled": bool, "reason": str, "actor": str}
                                    Authorization: Bearer <token>  (401 none/unknown, 403 read-only token)
                                    Idempotency-Key: <uuid>  (a replay returns the first answer, changes nothing)
                                    409 while the flag is locked; programmed 5xx/delays via fail_next

Control API (so a person running `cockpit demo` can break things from another terminal)
---------------------------------------------------------------------------------------
GET    /_demo/state                             everything: health replies, smoke, flags, PUT record
POST   /_demo/health/{name}                     {"status_code": 503, "body": "...", "delay": 2.5}
DELETE /_demo/health/{name}                     back to 200 {"status": "ok"}
POST   /_demo/smoke                             {"smoke_sso": "FAIL", ...}
POST   /_demo/flags/fail-next                   {"n": 2, "status": 503, "delay": 0, "flag": null}
POST   /_demo/flags/{name}/lock | DELETE ...    PUTs answer 409 while locked
POST   /_demo/fault                             {"flag": "MARKETPLACE_REQUESTS_ENABLED", "error_rate": 0.2,
                                                 "latency_ms": 900}: while that flag is on, the traffic in
                                                 /metrics has those errors and latency (no flag: always)
DELETE /_demo/fault                             no faults: the base traffic again
POST   /_demo/reset                             everything back to the start

    curl -X POST localhost:PORT/_demo/health/db -d '{"status_code": 503}'
    curl -X POST localhost:PORT/_demo/smoke -d '{"smoke_realtime": "FAIL"}'
    curl -X POST localhost:PORT/_demo/fault -d '{"flag": "MARKETPLACE_REQUESTS_ENABLED", "error_rate": 0.2}'

Tokens: DEMO_TOKEN may change flags, DEMO_READ_TOKEN may only read them. `cockpit demo` puts DEMO_TOKEN in
its own environment as COCKPIT_SECRET_DEMO_FLAGS (the demo runbook's token_secret = "demo-flags").
The server binds 127.0.0.1 only; it serves whatever it is told to, markup and escape sequences included.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from cockpit.demo.metrics import RequestMetrics
from cockpit.demo.server import FLAGS_PREFIX, DemoServer, Handler, health_path
from cockpit.demo.state import HEALTH_NAMES, SEED_FLAGS, Fault, FaultTable, FlagStore, Reply, SmokeState, health_reply

DEMO_TOKEN = "demo-flags-admin-token"
DEMO_READ_TOKEN = "demo-flags-read-token"


def _metrics_reply() -> Reply:
    return health_reply("metrics", body={"error_rate": 0.002, "p95_ms": 120, "p99_ms": 240, "rps": 42})


def _loadtest_reply() -> Reply:
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return health_reply("loadtest", body={"generated_at": at, "rps": 100, "duration_s": 300,
                                          "p95_ms": 310, "error_rate": 0.0, "passed": True})


class DemoTarget:
    """A loopback HTTP server with controllable health, smoke results and flags."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 token: str = DEMO_TOKEN, read_token: str = DEMO_READ_TOKEN,
                 flags: tuple[str, ...] = SEED_FLAGS):
        self.host, self._port = host, port
        self.tokens: dict[str, str] = {token: "admin", read_token: "read"}
        self.token, self.read_token = token, read_token
        self.flags = FlagStore(flags)
        self.smoke = SmokeState()
        self.faults = FaultTable()
        self.metrics = RequestMetrics(lambda: self.faults.profile(self.flags.get))
        """/metrics: synthetic traffic whose errors and latency follow the faults of the flags that are on."""
        self.flags_read_auth = False
        """When True, GETs of the flag API need a token too."""
        self._replies: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: DemoServer | None = None
        self._thread: threading.Thread | None = None
        self._defaults()

    def _defaults(self) -> None:
        with self._lock:
            self._replies = {health_path(n): health_reply(n) for n in HEALTH_NAMES}
            self._replies["/metrics.json"] = _metrics_reply()
            self._replies["/loadtest/result.json"] = _loadtest_reply()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> DemoTarget:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = DemoServer((self.host, self._port), Handler)
        server.target = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="cockpit-demo-target", daemon=True)
        self._thread.start()
        self.metrics.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.metrics.stop()
        self._stopping.set()          # wakes handlers sleeping in a programmed delay
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoTarget:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def wait_or_stopping(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the target is stopping (the caller should give up)."""
        return self._stopping.wait(seconds)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the demo target is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def flags_url(self) -> str:
        """Base URL of the flag API ([flags] url)."""
        return self.url + FLAGS_PREFIX

    def health_urls(self) -> list[str]:
        with self._lock:
            return [p for p in self._replies if p.startswith("/health")]

    # -- programming ---------------------------------------------------------------------------
    def set_health(self, name: str, status_code: int = 200, body: str | bytes | dict | None = None,
                   delay: float = 0.0, content_type: str | None = None) -> None:
        """Program /health/<name> (`api` or "" is /health). A new name adds an endpoint.

        body: a dict is sent as JSON, a str as text/plain, bytes as they are; None = {"status": "ok"|"error"}.
        delay: seconds before answering (use a large value to make it hang).
        """
        self.set_reply(health_path(name), health_reply(name, status_code, body, delay, content_type))

    def reset_health(self, name: str) -> None:
        self.set_health(name)

    def set_reply(self, path: str, reply: Reply) -> None:
        with self._lock:
            self._replies[path.rstrip("/") or "/"] = reply

    def reply_for(self, path: str) -> Reply | None:
        with self._lock:
            return self._replies.get(path)

    def set_smoke(self, key: str, value: str | bool) -> None:
        self.smoke.set(key, value)

    def fail_next(self, n: int, status: int = 503, *, delay: float = 0.0,
                  methods: tuple[str, ...] = ("PUT",), flag: str | None = None) -> None:
        """The next n matching flag-API requests fail with `status` (after `delay` seconds)."""
        self.flags.fail_next(n, status, delay=delay, methods=methods, flag=flag)

    def set_fault(self, flag: str | None, error_rate: float | None = None, latency_ms: float | None = None) -> Fault:
        """While `flag` is on (None: always), /metrics' traffic has this error fraction and latency."""
        if flag is not None and self.flags.get(flag) is None:
            raise ValueError(f"unknown flag {flag!r}; known: {', '.join(n['name'] for n in self.flags.snapshot())}")
        return self.faults.set(flag, error_rate, latency_ms)

    def clear_faults(self) -> None:
        self.faults.clear()

    def reset(self) -> None:
        self._defaults()
        self.smoke.reset()
        self.flags.reset()
        self.faults.clear()

    # -- the control API (called by the handler for /_demo/...) ---------------------------------
    def control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and parts == ["state"]:
            return 200, self.state()
        if method == "POST" and parts == ["reset"]:
            self.reset()
            return 200, {"ok": True}
        if len(parts) == 2 and parts[0] == "health":
            name = parts[1]
            if method == "DELETE":
                self.reset_health(name)
            elif method in ("POST", "PUT"):
                allowed = {"status_code", "body", "delay", "content_type"}
                if set(body) - allowed:
                    raise ValueError(f"unknown keys {sorted(set(body) - allowed)}; allowed: {sorted(allowed)}")
                self.set_health(name, int(body.get("status_code", 200)), body.get("body"),
                                float(body.get("delay", 0.0)), body.get("content_type"))
            else:
                return 405, {"error": "method not allowed"}
            return 200, {"ok": True, "path": health_path(name)}
        if method == "POST" and parts == ["smoke"]:
            for k, v in body.items():
                self.set_smoke(str(k), v if isinstance(v, bool) else str(v))
            return 200, {"ok": True}
        if method == "POST" and parts == ["flags", "fail-next"]:
            self.fail_next(int(body.get("n", 1)), int(body.get("status", 503)),
                           delay=float(body.get("delay", 0.0)), flag=body.get("flag"),
                           methods=tuple(body.get("methods", ["PUT"])))
            return 200, {"ok": True}
        if len(parts) == 3 and parts[0] == "flags" and parts[2] == "lock" and method in ("POST", "DELETE"):
            (self.flags.locked.add if method == "POST" else self.flags.locked.discard)(parts[1])
            return 200, {"ok": True, "locked": sorted(self.flags.locked)}
        if parts == ["fault"] and method == "DELETE":
            self.clear_faults()
            return 200, {"ok": True, "faults": []}
        if parts == ["fault"] and method in ("POST", "PUT"):
            allowed = {"flag", "error_rate", "latency_ms"}
            if set(body) - allowed:
                raise ValueError(f"unknown keys {sorted(set(body) - allowed)}; allowed: {sorted(allowed)}")
            flag = body.get("flag")
            if flag is not None and not isinstance(flag, str):
                raise ValueError("flag must be a flag name or null")
            number = {k: body.get(k) for k in ("error_rate", "latency_ms")}
            if any(isinstance(v, bool) or not isinstance(v, (int, float, type(None))) for v in number.values()):
                raise ValueError("error_rate and latency_ms must be numbers")
            self.set_fault(flag, **number)
            return 200, {"ok": True, "faults": self._faults_state()}
        return 404, {"error": "unknown control route; see cockpit/demo/target.py"}

    def state(self) -> dict[str, Any]:
        with self._lock:
            replies = {p: {"status_code": r.status_code, "delay": r.delay,
                           "body": r.body.decode("utf-8", "replace")} for p, r in self._replies.items()}
        values, at = self.smoke.items()
        error_rate, latency_s = self.faults.profile(self.flags.get)
        return {"url": self.url, "replies": replies, "smoke": {"generated_at": at, **values},
                "flags": self.flags.snapshot(), "puts": self.flags.puts(), "faults": self._faults_state(),
                "traffic": {"error_rate": error_rate, "latency_ms": round(latency_s * 1000, 3)}}

    def _faults_state(self) -> list[dict[str, Any]]:
        return [{"flag": f.flag, "error_rate": f.error_rate, "latency_ms": f.latency_ms} for f in self.faults.all()]

    def __repr__(self) -> str:
        return f"DemoTarget({self.url if self._server else 'stopped'})"


__all__ = ["DEMO_TOKEN", "DEMO_READ_TOKEN", "DemoTarget"]
