"""The demo runbook's Prometheus part: layer-2 guarded by its 5xx share, asked of the stand-in by default
and only with the queries the stand-in knows."""

from __future__ import annotations

from pathlib import Path

from cockpit.demo import DemoTarget
from cockpit.demo.promstandin import ERROR_RATIO, PREFIX, QUERIES
from cockpit.demo.scratch import make_scratch
from cockpit.runbook.config import load_runbook
from cockpit.runbook.placeholders import expand

ROOT = Path(__file__).resolve().parents[2]


def test_the_stand_in_knows_exactly_the_demo_runbooks_queries() -> None:
    rb = load_runbook(ROOT / "config" / "demo.toml")
    queries = [expand(c.query, {}, promql=True) for c in rb.checks if c.kind == "prometheus"]   # as the check sends them
    assert sorted(queries) == sorted(QUERIES) == [ERROR_RATIO]


def test_layer_2_is_guarded_and_asks_the_stand_in_without_a_prometheus(tmp_path: Path) -> None:
    with DemoTarget() as target:
        rb = load_runbook(make_scratch(tmp_path / "demo", target).runbook_path)
        assert rb.prometheus is not None and rb.prometheus.url == target.url + PREFIX
    (rail,) = [g for s in rb.stages for g in s.guardrails]
    assert [s.id for s in rb.stages if rail in s.guardrails] == ["layer-2"]
    assert rail.check == "error-rate" and rail.on_breach == "kill" and rail.max_increase == 0.02
    (check,) = [c for c in rb.checks if c.id == rail.check]
    assert check.kind == "prometheus" and check.stage == "layer-2"
