"""Fixtures for the guardrail tests: a real Prometheus server for the session (tests/helpers/prometheus.py)
and instrumented loopback targets for it to scrape (tests/helpers/metrics_target.py)."""

from __future__ import annotations

from tests.helpers.prometheus import prometheus_server  # noqa: F401  (session fixture)
