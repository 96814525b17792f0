"""An instrumented loopback service for Prometheus to scrape: GET /metrics in Prometheus' text format.

    with MetricsTarget() as t:                  # 20 requests/s, no errors, 50 ms
        prometheus_server.scrape(t.hostport, job="shop-x")
        t.set_error_rate(0.3)                   # from now on 3 in every 10 requests answer 500
        t.set_latency(0.8)                      # ... and take 800 ms

It serves no real traffic: a ticker thread records synthetic requests into its own prometheus-client
registry (cockpit/demo/metrics.py, the demo target's traffic too), with the error fraction and
latency set here, exactly (no randomness). Exposed: http_requests_total{code="200"|"500"} and the
http_request_duration_seconds histogram. Setters are thread-safe; every instance has its own registry.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from cockpit.demo.metrics import CONTENT_TYPE, RequestMetrics


class MetricsTarget:
    def __init__(self, *, error_rate: float = 0.0, latency: float = 0.05, rps: float = 20.0):
        self._lock = threading.Lock()
        self._error_rate, self._latency = error_rate, latency
        self.metrics = RequestMetrics(self._profile, rps=rps)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = outer.metrics.exposition()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="metrics-target", daemon=True)

    def _profile(self) -> tuple[float, float]:
        with self._lock:
            return self._error_rate, self._latency

    def set_error_rate(self, fraction: float) -> None:
        """The share of requests answered 500 from now on (0..1)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("the error rate is a fraction between 0 and 1")
        with self._lock:
            self._error_rate = fraction

    def set_latency(self, seconds: float) -> None:
        """How long each request takes from now on."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            self._latency = seconds

    def totals(self) -> tuple[int, int]:
        """(requests, errors) recorded so far."""
        return self.metrics.totals()

    @property
    def hostport(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.hostport}"

    def __enter__(self) -> MetricsTarget:
        self._thread.start()
        self.metrics.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.metrics.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


__all__ = ["MetricsTarget"]
