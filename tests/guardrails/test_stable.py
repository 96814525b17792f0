"""A stage with a guardrail is not marked stable while its window runs — headless too — except by an
override with a reason, which is logged with what the window showed; `stage start` says who must watch.
(The baseline here has no Prometheus to ask: the window opens all the same, without a baseline.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.open import open_log
from tests.guardrails.drill import FLAG, at_layer_1, guard_layer_1
from tests.helpers.demo import Demo, demo  # noqa: F401  (fixture)

RAIL = 'interval = "30s"\nwindow = "24h"\non_breach = "alert"\n'


def stage(demo: Demo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", "stage", *args, "--config", str(demo.scratch.runbook_path),
                           "--env", "production", "--as", "Ann"], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_stable_waits_for_the_window_unless_overridden_with_a_reason(demo: Demo) -> None:
    runbook = guard_layer_1(demo, "http://127.0.0.1:9", "nobody", rail=RAIL)
    log = open_log(runbook)
    session = asyncio.run(at_layer_1(runbook, log))
    session.close()

    p = stage(demo, "start", "layer-1")
    assert p.returncode == 0, p.stdout + p.stderr
    assert demo.target.flags.get(FLAG) is True
    assert "guardrail drill-errors watches until" in p.stdout and "cockpit watch --config" in p.stdout

    p = stage(demo, "stable", "layer-1")
    assert p.returncode == 1
    assert "guardrail 'drill-errors' is watching for" in p.stderr and "override with a reason" in p.stderr

    p = stage(demo, "stable", "layer-1", "--override", "the metric is watched in Grafana by the on-call")
    assert p.returncode == 0, p.stdout + p.stderr
    entries = list(log.entries(LogFilter(release_id=session.release_id)))
    opened = next(e for e in entries if e.kind == kinds.GUARDRAIL_OPENED)
    assert opened.payload["baseline"] is None and "no baseline" in opened.payload["baseline_detail"]
    stable = next(e for e in entries if e.kind == kinds.STAGE_STABLE and e.payload["stage"] == "layer-1")
    over = stable.payload["override"]
    assert over["reason"] == "the metric is watched in Grafana by the on-call"
    assert over["windows"][0]["check"] == "drill-errors" and over["windows"][0]["left_s"] > 23 * 3600
    assert asyncio.run(session.refresh()).windows["layer-1/drill-errors"].closed == "overridden"
