"""What the demo target serves, held in memory and safe to change from any thread.

The HTTP handler (server.py) reads it; tests and the `/_demo/` control API change it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

# Every flag the example runbooks and the demo runbook name; all start OFF (seed 000: "фича-флаг по умолчанию OFF").
SEED_FLAGS: tuple[str, ...] = (
    "MARKETPLACE_AVAILABILITY_ENABLED",
    "MARKETPLACE_REQUESTS_ENABLED",
    "MARKETPLACE_FEES_ENABLED",
    "MARKETPLACE_POLICY_ENFORCEMENT_ENABLED",
    "FEATURE_FLAG_USE_SERVICE_LAYER_PRODUCTS",
    "FEATURE_FLAG_USE_SERVICE_LAYER_CART",
    "FEATURE_FLAG_USE_SERVICE_LAYER_ORDERS",
)

HEALTH_NAMES: tuple[str, ...] = ("api", "catalog", "availability", "booking", "payments", "db", "redis")
"""`api` is the bare `/health`; the others are `/health/<name>`."""

SMOKE_DEFAULTS: dict[str, str] = {
    # seed 003's smoke summary keys, all passing
    "smoke_sso": "PASS",
    "smoke_realtime": "PASS",
    "reconnectOk": "true",
    "smoke_web_e2e": "PASS",
    "call_relay": "PASS",
}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Reply:
    """A programmed answer of one endpoint."""

    status_code: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    """Seconds to wait before answering; a large value makes the endpoint hang."""


def health_reply(name: str, status_code: int = 200, body: str | bytes | dict | None = None,
                 delay: float = 0.0, content_type: str | None = None) -> Reply:
    if body is None:
        body = {"status": "ok" if status_code < 400 else "error", "service": name}
    if isinstance(body, dict):
        raw, ctype = json.dumps(body).encode(), "application/json"
    elif isinstance(body, str):
        raw, ctype = body.encode("utf-8", "surrogateescape"), "text/plain; charset=utf-8"
    else:
        raw, ctype = bytes(body), "application/octet-stream"
    return Reply(status_code=status_code, body=raw, content_type=content_type or ctype, delay=delay)


@dataclass(frozen=True)
class FlagRequest:
    """One request to PUT {base}/flags/{name}, kept for assertions (whatever its outcome)."""

    name: str
    enabled: bool | None
    reason: str | None
    actor: str | None
    idempotency_key: str | None
    status: int
    """What the target answered."""
    replayed: bool = False
    """True when the Idempotency-Key had been seen: the stored answer was returned, nothing changed."""
    at: str = field(default_factory=_now)


@dataclass
class _Failure:
    remaining: int
    status: int
    delay: float
    methods: tuple[str, ...]
    flag: str | None


class FlagStore:
    """The flags, the PUT record, the idempotency cache and programmed failures."""

    def __init__(self, names: tuple[str, ...] = SEED_FLAGS):
        self._lock = threading.Lock()
        self.flags: dict[str, bool] = {n: False for n in names}
        self.changes: dict[str, int] = {n: 0 for n in names}
        self.requests: list[FlagRequest] = []
        self._idem: dict[str, tuple[str, int, dict]] = {}   # key -> (request fingerprint, status, body)
        self._failures: list[_Failure] = []
        self.locked: set[str] = set()
        self.delay: float = 0.0

    # -- programming (tests, control API) ----------------------------------------
    def fail_next(self, n: int, status: int = 503, *, delay: float = 0.0,
                  methods: tuple[str, ...] = ("PUT",), flag: str | None = None) -> None:
        if n <= 0:
            return
        with self._lock:
            self._failures.append(_Failure(n, status, delay, tuple(m.upper() for m in methods), flag))

    def take_failure(self, method: str, flag: str | None) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.remaining > 0 and method in f.methods and (f.flag is None or f.flag == flag):
                    f.remaining -= 1
                    if f.remaining == 0:
                        self._failures.remove(f)
                    return f
        return None

    def add(self, name: str, enabled: bool = False) -> None:
        with self._lock:
            self.flags[name] = enabled
            self.changes.setdefault(name, 0)

    def reset(self) -> None:
        with self._lock:
            for n in self.flags:
                self.flags[n] = False
                self.changes[n] = 0
            self.requests.clear()
            self._idem.clear()
            self._failures.clear()
            self.locked.clear()
            self.delay = 0.0

    # -- serving --------------------------------------------------------------------
    def snapshot(self) -> list[dict]:
        with self._lock:
            return [{"name": n, "enabled": v} for n, v in self.flags.items()]

    def get(self, name: str) -> bool | None:
        with self._lock:
            return self.flags.get(name)

    def put(self, name: str, enabled: bool, reason: str | None, actor: str | None,
            key: str | None) -> tuple[int, dict]:
        """Apply one validated PUT atomically; the same Idempotency-Key replays the first answer."""
        fingerprint = json.dumps([name, enabled])
        with self._lock:
            if key is not None and key in self._idem:
                seen, status, body = self._idem[key]
                if seen != fingerprint:
                    status, body = 422, {"error": "Idempotency-Key was already used for a different request"}
                    self.requests.append(FlagRequest(name, enabled, reason, actor, key, status))
                    return status, body
                self.requests.append(FlagRequest(name, enabled, reason, actor, key, status, replayed=True))
                return status, body
            if name not in self.flags:
                status, body = 404, {"error": f"unknown flag {name}"}
            elif name in self.locked:
                status, body = 409, {"error": f"flag {name} is locked by a pending change request"}
            else:
                if self.flags[name] != enabled:
                    self.changes[name] += 1
                self.flags[name] = enabled
                status, body = 200, {"name": name, "enabled": enabled}
            if key is not None and status < 500:
                self._idem[key] = (fingerprint, status, body)
            self.requests.append(FlagRequest(name, enabled, reason, actor, key, status))
            return status, body

    def record(self, req: FlagRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def puts(self) -> list[dict]:
        with self._lock:
            return [asdict(r) for r in self.requests]


class SmokeState:
    """seed 003's `last-smoke-summary.env`, also served as JSON and JUnit XML."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, str] = dict(SMOKE_DEFAULTS)
        self.generated_at: str = _now()
        self.listeners: list[Callable[[dict[str, str], str], None]] = []
        """Called with (values, generated_at) after every change (the scratch mirrors them into its file)."""

    def _changed(self) -> None:
        values, at = self.items()
        for listener in list(self.listeners):
            listener(values, at)

    def set(self, key: str, value: str | bool) -> None:
        with self._lock:
            self.values[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
            self.generated_at = _now()
        self._changed()

    def set_generated_at(self, when: str) -> None:
        with self._lock:
            self.generated_at = when

    def reset(self) -> None:
        with self._lock:
            self.values = dict(SMOKE_DEFAULTS)
            self.generated_at = _now()
        self._changed()

    def items(self) -> tuple[dict[str, str], str]:
        with self._lock:
            return dict(self.values), self.generated_at

    def env_text(self) -> str:
        values, at = self.items()
        return render_env(values, at)

    def json_doc(self) -> dict:
        values, at = self.items()
        return {"generated_at": at, "results": values}

    def junit_xml(self) -> str:
        from xml.sax.saxutils import quoteattr  # startup: it pulls in urllib.request; only the JUnit view needs it

        values, at = self.items()
        failures = [k for k, v in values.items() if not passed(v)]
        cases = []
        for k, v in values.items():
            inner = "" if passed(v) else f"<failure message={quoteattr(v)}/>"
            cases.append(f'  <testcase classname="smoke" name={quoteattr(k)} time="0.1">{inner}</testcase>')
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<testsuite name="smoke" tests="{len(values)}" failures="{len(failures)}" '
                f'timestamp="{at}">\n' + "\n".join(cases) + "\n</testsuite>\n")


def passed(value: str) -> bool:
    return value.strip().upper() in ("PASS", "TRUE", "OK", "1")


def render_env(values: dict[str, str], generated_at: str) -> str:
    lines = [f"generated_at={generated_at}"] + [f"{k}={v}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


BASE_ERROR_RATE = 0.002
BASE_LATENCY_S = 0.120
"""The demo shop's traffic without a fault: 0.2 % errors, 120 ms (the old /metrics JSON's numbers)."""


@dataclass(frozen=True)
class Fault:
    """While `flag` is on (or always, when None), the demo traffic has this error fraction and latency."""

    flag: str | None
    error_rate: float | None
    latency_ms: float | None


class FaultTable:
    """Faults injected per flag; the traffic profile is the worst of the base and every active fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str | None, Fault] = {}

    def set(self, flag: str | None, error_rate: float | None = None, latency_ms: float | None = None) -> Fault:
        if error_rate is not None and not 0.0 <= error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if latency_ms is not None and not 0.0 <= latency_ms <= 60_000:
            raise ValueError("latency_ms must be between 0 and 60000")
        if error_rate is None and latency_ms is None:
            raise ValueError("give error_rate, latency_ms or both")
        fault = Fault(flag, error_rate, latency_ms)
        with self._lock:
            self._faults[flag] = fault
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def profile(self, flag_on: Callable[[str], bool | None]) -> tuple[float, float]:
        """(error fraction, latency in seconds) of the traffic now, given the flags' states."""
        error_rate, latency_s = BASE_ERROR_RATE, BASE_LATENCY_S
        for f in self.all():
            if f.flag is None or flag_on(f.flag):
                if f.error_rate is not None:
                    error_rate = max(error_rate, f.error_rate)
                if f.latency_ms is not None:
                    latency_s = max(latency_s, f.latency_ms / 1000)
        return error_rate, latency_s
