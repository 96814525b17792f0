"""Fixtures for the seed cutovers (see harness.py for what is real and what is a double).

    harness          the default target: app "shop", every seed flag in the flag API's store
    make_harness     a factory for a seed's own shape: make_harness(app=…, flags=…, flags_in="env", …)

Every harness knows the suite's real Prometheus (tests/helpers/prometheus.py, one server for the session):
the seed runbooks' [prometheus] url and their queries' job are pointed at it, and h.scrape_metrics() has it
scrape the shop's /metrics (a test that watches a window does; the others leave the job unscraped, so a
guardrail's baseline is "no data" there, never a made-up number).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.pg import create_database, drop_database
from tests.helpers.prometheus import Prometheus, prometheus_server  # noqa: F401  (session fixture)
from tests.seeds.harness import Harness


@pytest.fixture
def make_harness(tmp_path: Path, prometheus_server: Prometheus) -> Iterator[Callable[..., Harness]]:
    made: list[tuple[Harness | None, str]] = []

    def make(**options: Any) -> Harness:
        dsn = create_database("shop")
        made.append((None, dsn))
        h = Harness(tmp_path / f"h{len(made)}", dsn, prometheus=prometheus_server, **options)
        made[-1] = (h, dsn)
        return h

    yield make
    for h, dsn in reversed(made):
        if h is not None:
            h.close()
            prometheus_server.forget(h.metrics_job)
        drop_database(dsn)


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
