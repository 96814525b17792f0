"""Seed 002's surroundings on the harness: Go2Asia's services, its Prometheus and its Netlify site.

What is real and what stands in (see harness.py for the rest):
  - the services are deployments of the shop in namespace go2asia: pulse is the app (its database, Redis,
    schema and the EVENTS_V2_ENABLED env flag), user, atlas, blog and quest roll, auth, blockchain-gateway,
    points and notification have a `-green` slot next to them, and edge is the gateway whose env picks
    the slot; kubectl is the harness's TEST DOUBLE;
  - the §10 checks read recording rules (monitoring.md) that the suite's Prometheus does not have: their
    instant-query answers are the shop's programmed routes (Shop.prometheus), set to what the test says the
    metrics are. The guardrails' PromQL goes to the suite's real Prometheus (prometheus_url), which scrapes the
    shop's own /metrics when a test watches a window (Harness.scrape_metrics);
  - Netlify cannot run here either: NetlifySite stands in for it — when a branch it builds moves on the
    real git origin, it publishes that commit's build (the shop's programmed /web/ and /web/version.json
    routes). Its rollback is a person's click (the runbook's manual step), which the test performs the same
    way: `publish(sha)`.
  - staging and production are the one shop (the harness points every environment at it): before
    production's cutover the test returns the shop to what production runs, with the same tools.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import Any

from cockpit.core.log.entry import Actor
from cockpit.core.session import ReleaseSession
from tests.seeds.harness import Harness

NAMESPACE = "go2asia"
FLAG = "EVENTS_V2_ENABLED"
APP = "pulse"
ROLLING = ["user", "atlas", "pulse", "blog", "quest"]
CRITICAL = ["auth", "blockchain-gateway", "points", "notification"]
LIVE = ROLLING + CRITICAL
SERVICES = [s for s in LIVE if s != APP] + [f"{s}-green" for s in CRITICAL] + ["edge"]
UPSTREAMS = ["AUTH_UPSTREAM", "BLOCKCHAIN_GATEWAY_UPSTREAM", "POINTS_UPSTREAM", "NOTIFICATION_UPSTREAM"]

QUERIES = {"error-rate": "max(job:http_5xx_ratio:rate5m)",
           "latency-p95": "max(job:http_request_duration_seconds:p95_5m)",
           "client-errors": "max(pwa:client_error_ratio:rate5m)",
           "traffic-anomaly": "sum(job:http_requests:rate5m_ratio_1w)"}
QUIET = {"error-rate": 0.0002, "latency-p95": 0.21, "client-errors": 0.001, "traffic-anomaly": 1.04}

PEOPLE = {"Release Owner": "Ann", "Rollback Owner": "Bob", "Backend Owner": "Carol", "Frontend Owner": "Dan"}
TICKS = {
    "general-env-vars": "Carol compared the env of every changed service with staging's",
    "general-documented": "release notes: wiki/releases/events-v2",
    "backend-fallbacks": "events v2 falls back to v1 when its cache is cold; circuit breaker on points",
    "backend-contract": "API diff reviewed: /api/v2/events added, nothing removed from v1",
    "frontend-old-api": "PWA e2e run against the previous API: green (CI run 4812)",
}
SHORTENED = {'monitor = "30m"': 'monitor = "1s"', 'duration = "30m"': 'duration = "1s"'}
SAMPLED_EVERY_SECOND = {'interval = "30s"': 'interval = "1s"'}
"""The guardrails sampled every second instead of every 30 s (a test that watches a window); their 30-minute
windows, failure limits and thresholds stay as written."""
OVERRIDE = "the guardrails watch for 30 minutes; this test's soak was a second"


def make_go2asia(make_harness: Callable[..., Harness]) -> Harness:
    h = make_harness(app=APP, namespace=NAMESPACE, flags=[FLAG], flags_in="env", services=SERVICES)
    for check, value in QUIET.items():
        h.shop.prometheus(QUERIES[check], value)
    publish(h, h.shas["known_good"])   # what Netlify serves before the release
    return h


def runbook_text(source: str, *, sampled_every_second: bool = False) -> str:
    """The seed's runbook with its 30-minute soaks and monitor windows made one second, so that a test
    runs in seconds (and its guardrails sampled every second, when asked); nothing else changes."""
    for old, new in (SHORTENED | (SAMPLED_EVERY_SECOND if sampled_every_second else {})).items():
        assert source.count(old) >= 2, f"expected the frontend's and the backend's {old}"
        source = source.replace(old, new)
    return source


def install(h: Harness, source: str, *, sampled_every_second: bool = False) -> None:
    h.install_runbook(runbook_text(source, sampled_every_second=sampled_every_second), name="002-zero-downtime.toml",
                      vars={"web": "{url}/web", "prometheus": "{url}/prometheus", "namespace": NAMESPACE,
                            "registry": "registry.local"})


def publish(h: Harness, sha: str) -> None:
    """The PWA built from `sha` is what the site serves (Netlify's atomic switch, or its rollback)."""
    version = h.git("show", f"{sha}:VERSION")
    h.shop.route("/web/", f"<!doctype html><title>Go2Asia {version}</title>")
    h.shop.route("/web/version.json", {"version": version, "sha": sha})


class NetlifySite:
    """Stands in for Netlify while running: a push that moves one of its branches on the origin is built and
    then published (the previous build serves meanwhile)."""

    def __init__(self, h: Harness, branches: Iterable[str] = ("staging", "production")):
        self.h, self.branches = h, list(branches)
        self.seen = {b: self._head(b) for b in self.branches}
        self.published: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="netlify", daemon=True)

    def _head(self, branch: str) -> str | None:
        p = subprocess.run(["git", "--git-dir", str(self.h.origin), "rev-parse", "--verify", "-q",
                            f"refs/heads/{branch}"], capture_output=True, text=True)
        return p.stdout.strip() or None

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            for b in self.branches:
                head = self._head(b)
                if head and head != self.seen[b]:
                    self.seen[b] = head
                    publish(self.h, head)
                    self.published.append((b, head))

    def __enter__(self) -> NetlifySite:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)


def tick(h: Harness, env: str, ticks: dict[str, str], actor: str = "Ann") -> None:
    """The manual checklist items ticked with their notes. The cockpit has no headless tick, so this is
    done through ReleaseSession.tick, what the readiness screen's tick calls."""
    async def go() -> None:
        session = await ReleaseSession.open(h.runbook(), log, env, Actor(actor, actor.lower(), "laptop", ""))
        try:
            for check_id, note in ticks.items():
                await session.tick(check_id, note)
        finally:
            session.close()

    log = h.open_log()
    try:
        asyncio.run(go())
    finally:
        log.close()


def kubectl(h: Harness, *args: str) -> str:
    p = h.run(["kubectl", "-n", NAMESPACE, *args])
    assert p.returncode == 0, p.stderr
    return p.stdout


def as_production_runs_it(h: Harness) -> None:
    """Staging's release ran on the one shop: back to what production runs before its own cutover (1.0.0 on
    every slot, schema 2, the flag off, the previous PWA), with kubectl, migrate.sh and the site."""
    tag = h.shas["known_good"][:7]
    for s in LIVE + [f"{c}-green" for c in CRITICAL]:
        kubectl(h, "set", "image", f"deployment/{s}", f"*=registry.local/{s.removesuffix('-green')}:{tag}")
    kubectl(h, "set", "env", f"deployment/{APP}", f"{FLAG}=false")
    kubectl(h, "set", "env", "deployment/edge", *[f"{u}-" for u in UPSTREAMS])
    p = h.run(["bash", "scripts/migrate.sh", "down"])
    assert p.returncode == 0, p.stderr
    publish(h, h.shas["known_good"])


def edge_env(h: Harness) -> dict[str, str]:
    return h.shop.deployment("edge")["env"]


def image_of(h: Harness, deployment: str) -> str:
    return h.shop.deployment(deployment)["serving"]["image"]
