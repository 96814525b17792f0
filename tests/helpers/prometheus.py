"""A real Prometheus server for the test suite (Debian's `prometheus`, v2.42 here), one per session.

    def test_x(prometheus_server, ...):          # a test dir's conftest imports the fixture
        with MetricsTarget() as t:
            job = prometheus_server.scrape(t.hostport, job="shop-x")    # returns once the target is up
            t.set_error_rate(0.3)
            prometheus_server.wait_for(f'sum(rate(http_requests_total{{job="{job}",code="500"}}[5s]))',
                                       lambda r: r and float(r[0]["value"][1]) > 0)

It scrapes every 1s (rules evaluated every 1s) whatever `file_sd_configs` finds in its own temp
folder: scrape() adds a target at run time by writing a file there. The server lives for the whole
session, so give each test its own job name (scrape() makes one when none is given); a job's series
go stale when forget() removes its file or its target stops answering.

Costs measured here: the server is ready 0.11-0.23 s after spawning and stops in ~0.02 s; a new
target is up 3.4-5.9 s after scrape() writes its file (Prometheus hands service-discovery updates on
at most every 5 s; no flag changes that), and a change in the target shows in a rate ~1 s later. Without the binary on PATH the fixture FAILS with how
to get it: a skip would hide that the guardrails never met a real Prometheus.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from cockpit.demo.prometheus import BINARY, INSTALL_HINT, PrometheusError, PrometheusServer, find_binary

SCRAPE_INTERVAL = "1s"
UP_TIMEOUT_S = 30.0
_jobs = itertools.count(1)


def config(sd_dir: Path) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL,
                   "scrape_timeout": SCRAPE_INTERVAL},
        "scrape_configs": [{
            "job_name": "file-sd",   # each target file sets its own `job` label
            "file_sd_configs": [{"files": [str(sd_dir / "*.json")], "refresh_interval": "1s"}],
        }],
    }


def start(root: Path) -> Prometheus:
    """Start a Prometheus in `root`; pytest.fail (never skip) when the binary is missing or it won't start."""
    if find_binary() is None:
        pytest.fail(f"`{BINARY}` is required and not on PATH: the guardrail tests query a real Prometheus "
                    f"server (install it: {INSTALL_HINT})", pytrace=False)
    sd_dir = root / "file_sd"
    sd_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = PrometheusServer.launch(config(sd_dir), root)
    except PrometheusError as e:
        pytest.fail(str(e), pytrace=False)
    return Prometheus(server.url, server=server, sd_dir=sd_dir)


@dataclass
class PrometheusAPI:
    """Queries against any Prometheus at `url` (the suite's, or one a test did not start)."""

    url: str

    def query(self, query: str) -> dict[str, Any]:
        """The `data` of an instant query (resultType, result); a refused query fails the test."""
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": query}, timeout=10)
        doc = r.json()
        if doc.get("status") != "success":
            pytest.fail(f"Prometheus refused {query!r}: {doc.get('errorType')}: {doc.get('error')}", pytrace=False)
        return doc["data"]

    def value(self, query: str) -> float | None:
        """The query's one number (a scalar or a single-series vector); None when it has no series."""
        data = self.query(query)
        result = data["result"]
        if data["resultType"] == "scalar":
            return float(result[1])
        if not result:
            return None
        assert len(result) == 1, f"{query!r} gives {len(result)} series"
        return float(result[0]["value"][1])

    def wait_for(self, query: str, predicate: Callable[[list[Any]], bool], timeout: float = 30.0) -> list[Any]:
        """Poll the query until predicate(result) holds (result: the vector's series, or a scalar's
        [time, "value"]); return that result. Fails the test with the last result at the deadline."""
        deadline = time.monotonic() + timeout
        result: list[Any] = []
        while True:
            result = self.query(query)["result"]
            if predicate(result):
                return result
            if time.monotonic() >= deadline:
                pytest.fail(f"Prometheus did not see {query!r} hold within {timeout:.0f}s; last result: "
                            f"{json.dumps(result)[:500]}", pytrace=False)
            time.sleep(0.2)   # a scrape and a rule evaluation happen once a second


@dataclass
class Prometheus(PrometheusAPI):
    """The suite's server: queries, plus targets added at run time."""

    server: PrometheusServer | None = None
    sd_dir: Path = Path()
    jobs: dict[str, str] = field(default_factory=dict)
    """job -> target (host:port) of every file written by scrape()."""

    @property
    def started_in_s(self) -> float:
        assert self.server is not None
        return self.server.started_in_s

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    # -- targets ----------------------------------------------------------------------------------
    def scrape(self, target: str, job: str | None = None, labels: dict[str, str] | None = None,
               timeout: float = UP_TIMEOUT_S) -> str:
        """Scrape `target` (host:port, path /metrics) as `job`; return the job once Prometheus has it up."""
        job = job or f"t{os.getpid()}-{next(_jobs)}"
        doc = [{"targets": [target], "labels": {**(labels or {}), "job": job}}]
        path = self.sd_dir / f"{job}.json"
        tmp = path.with_name(f".{path.name}.tmp")   # not matched by *.json: Prometheus never reads half a file
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
        self.jobs[job] = target
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = [t for t in self.targets() if t["labels"].get("job") == job
                    and t["labels"].get("instance") == target]
            if seen and seen[0]["health"] == "up":
                return job
            time.sleep(0.1)   # polling the targets API: Prometheus sends no event
        pytest.fail(f"Prometheus did not report {target} (job {job}) up within {timeout:.0f}s: "
                    f"{seen[0] if seen else 'not discovered'}", pytrace=False)

    def forget(self, job: str) -> None:
        """Stop scraping `job` (its series go stale at once)."""
        (self.sd_dir / f"{job}.json").unlink(missing_ok=True)
        self.jobs.pop(job, None)

    def targets(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v1/targets", params={"state": "active"}, timeout=10)
        r.raise_for_status()
        return r.json()["data"]["activeTargets"]


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    prom = start(tmp_path_factory.mktemp("prometheus"))
    try:
        yield prom
    finally:
        prom.stop()


__all__ = ["Prometheus", "PrometheusAPI", "prometheus_server", "start"]
