"""Request metrics from synthetic traffic, in Prometheus' text format (PyPI prometheus-client).

    m = RequestMetrics(profile=lambda: (0.3, 0.8))   # 30 % errors, 800 ms per request, read each tick
    m.start(); m.exposition(); m.stop()

No real requests are served: a ticker thread records `rps` requests a second into the metrics, as if
they had been answered with the profile's error fraction and latency. The fraction is exact, not
random (an accumulator turns 0.3 into 3 errors in every 10 requests), so a rate Prometheus computes
from it is what was set. Each instance has its own CollectorRegistry, never the global one: two demo
targets in one process (the tests) keep their own counts.

Exposed:
    http_requests_total{code="200"|"500"}   counter; both series exist from the start (a 5xx rate
                                            over no errors is 0, not an empty result)
    http_request_duration_seconds           histogram, the default buckets (5 ms .. 10 s)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus 2.x's classic text format (what prometheus-client writes for plain metric names)."""
TICK_S = 0.1
HISTORY_S = 600
"""Seconds of (time, total, errors) points kept for the stand-in's rates (cockpit/demo/promstandin.py)."""

Profile = Callable[[], "tuple[float, float]"]
"""Returns (error fraction 0..1, latency in seconds) for the requests recorded now."""


class RequestMetrics:
    """A registry with a request counter and a latency histogram, fed by a synthetic traffic thread."""

    def __init__(self, profile: Profile, *, rps: float = 20.0):
        self.profile = profile
        self.rps = rps
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter("http_requests_total", "Requests answered, by status code",
                                 ["code"], registry=self.registry)
        self._ok, self._err = self._requests.labels(code="200"), self._requests.labels(code="500")
        self._duration = Histogram("http_request_duration_seconds", "Time to answer a request",
                                   registry=self.registry)
        self._lock = threading.Lock()
        self._error_debt = 0.0
        self.history: deque[tuple[float, int, int]] = deque(maxlen=HISTORY_S + 5)
        """(monotonic time, total, errors) once a second, and a point at 0 when the counters start."""
        self.history.append((time.monotonic(), 0, 0))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> RequestMetrics:
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        started, done = time.monotonic(), 0
        last_point = started
        while not self._stopping.wait(TICK_S):
            now = time.monotonic()
            due = int((now - started) * self.rps)   # by the clock, so a late tick catches up
            self.record(due - done)
            done = due
            if now - last_point >= 1.0:
                last_point = now
                self.history.append((now, *self.totals()))

    # -- recording ---------------------------------------------------------------------------
    def record(self, n: int) -> None:
        """Record n requests with the profile of this moment."""
        if n <= 0:
            return
        error_rate, latency_s = self.profile()
        error_rate = min(max(error_rate, 0.0), 1.0)
        with self._lock:   # one batch at a time: totals() never sees its errors without its successes
            errors = 0
            for _ in range(n):
                self._error_debt += error_rate
                if self._error_debt >= 1.0 - 1e-9:
                    self._error_debt -= 1.0
                    errors += 1
            self._err.inc(errors)
            self._ok.inc(n - errors)
            for _ in range(n):
                self._duration.observe(max(latency_s, 0.0))

    def totals(self) -> tuple[int, int]:
        """(requests, errors) recorded so far, read from the registry."""
        with self._lock:
            ok = self.registry.get_sample_value("http_requests_total", {"code": "200"}) or 0.0
            err = self.registry.get_sample_value("http_requests_total", {"code": "500"}) or 0.0
        return int(ok + err), int(err)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (what GET /metrics answers)."""
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE", "RequestMetrics"]
