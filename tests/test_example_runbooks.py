"""Every runbook in config/ is valid, expresses its seed, and its shell templates parse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.runbook.config import Runbook, load_runbook
from cockpit.runbook.placeholders import expand, names_in

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = sorted((ROOT / "config").glob("*.toml"))
SEEDS = ["000-marketplace-layers", "001-service-flags", "002-zero-downtime", "003-go-nogo-gate",
         "004-must-have-blockers", "demo"]


def cockpit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_one_runbook_per_seed_and_the_demo() -> None:
    assert [p.stem for p in RUNBOOKS] == SEEDS


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_loads(path: Path) -> None:
    rb = load_runbook(path)
    assert rb.checks and rb.environments


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_config_check_cli_accepts(path: Path) -> None:
    r = cockpit("config", "check", str(path))
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_shell_templates_parse(path: Path) -> None:
    """Command checks, flag commands and the rollback deploy are valid shell once placeholders are filled."""
    rb = load_runbook(path)
    templates = [(c.id, c.run) for c in rb.checks if c.kind == "command"]
    if rb.rollback.deploy:
        templates.append(("rollback.deploy", rb.rollback.deploy))
    if rb.flags is not None and rb.flags.backend == "command":
        templates += [(f"flags.{k}", getattr(rb.flags, k)) for k in ("get", "set", "list") if getattr(rb.flags, k)]
    for where, template in templates:
        command = expand(template, {n: f"value of {n}" for n in names_in(template)}, quote=True)
        r = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, f"{path.name} {where}: {r.stderr}"


def _rb(stem: str) -> Runbook:
    return load_runbook(ROOT / "config" / f"{stem}.toml")


def test_000_layers_chain_with_one_flag_each() -> None:
    rb = _rb("000-marketplace-layers")
    assert [s.id for s in rb.stages] == [f"layer-{i}" for i in range(5)]
    for prev, s in zip(rb.stages, rb.stages[1:]):
        assert s.after == [prev.id] and len(s.flags) == 1
    assert rb.stages[1].flags == ["MARKETPLACE_AVAILABILITY_ENABLED"]
    assert rb.stages[3].flags == ["MARKETPLACE_FEES_ENABLED"]
    for i in range(5):
        tag = [c for c in rb.checks if c.kind == "git" and c.stage == f"layer-{i}"]
        assert tag and tag[0].ref == f"pre-marketplace-layer-{i}"
        assert any(c.kind == "file" and c.stage == f"layer-{i}" for c in rb.checks)   # backup
    urls = {getattr(c, "url", "") for c in rb.checks}
    for sub in ("catalog", "availability", "booking", "payments"):
        assert f"{{env.url}}/health/{sub}" in urls
    assert set(rb.environments) == {"production", "staging"} and rb.release.tag_prefix


def test_001_service_flags_and_monitor_windows() -> None:
    rb = _rb("001-service-flags")
    assert rb.flags is not None and rb.flags.backend == "command"
    assert 'kubectl set env deploy/designia-backend "$COCKPIT_FLAG=$COCKPIT_VALUE"' in (rb.flags.set or "")
    windows = {s.id: s.monitor.total_seconds() / 3600 for s in rb.stages if s.flags and s.monitor}
    assert windows == {"products": 24, "cart": 24, "orders": 72}
    assert rb.all_flags == ["FEATURE_FLAG_USE_SERVICE_LAYER_PRODUCTS", "FEATURE_FLAG_USE_SERVICE_LAYER_CART",
                            "FEATURE_FLAG_USE_SERVICE_LAYER_ORDERS"]
    assert rb.flags.timeout.total_seconds() * (rb.flags.retries + 1) <= 240


def test_002_checklist_groups_and_spike_signals() -> None:
    rb = _rb("002-zero-downtime")
    order = {s.id: s.after for s in rb.stages}
    assert order == {"schema": [], "backend": ["schema"], "frontend": ["backend"]}   # backend before frontend
    manual = {c.stage for c in rb.checks if c.kind == "manual"}
    assert {None, "backend", "frontend"} <= manual
    assert any("5xx" in c.title for c in rb.checks) and any("latency" in c.title for c in rb.checks)


def test_003_gate_has_every_smoke_key_and_the_rollback_script() -> None:
    rb = _rb("003-go-nogo-gate")
    keys = {c.key for c in rb.checks if c.kind == "smoke"}
    assert keys == {"smoke_sso", "smoke_realtime", "reconnectOk", "smoke_web_e2e", "call_relay"}
    assert all(c.source == ".deploy/last-smoke-summary.env" and c.blocking for c in rb.checks if c.kind == "smoke")
    rules = {c.rule for c in rb.checks if c.kind == "git"}
    assert rules == {"target-on-main", "rollback-is-ancestor"}
    assert rb.rollback.deploy == "bash ./scripts/examples/deploy-prod-from-ref.sh {ref} ."
    assert rb.release.main == "origin/main"


def test_004_must_blocks_should_does_not() -> None:
    rb = _rb("004-must-have-blockers")
    blockers = [c for c in rb.checks if c.title.startswith("BLOCKER")]
    assert {c.title.split(":")[0] for c in blockers} == {f"BLOCKER {i}" for i in range(1, 6)}
    assert all(c.blocking for c in blockers)
    should = [c for c in rb.checks if c.title.startswith("SHOULD")]
    assert len(should) == 3 and not any(c.blocking for c in should)
    assert all(c.blocking for c in rb.checks if c.title.startswith("MUST"))
    load = [c for c in rb.checks if c.kind == "smoke" and "load test" in c.title]
    # The seed's own numbers: "Выдерживает 100 RPS, p95 < 500ms".
    assert {(c.key, str(c.expect)) for c in load} == {
        ("metrics.http_req_duration.values.p(95)", "{'lt': 500}"), ("metrics.http_reqs.values.rate", "{'ge': 100}")}


# -- a broken copy is refused with the key path and the line ------------------------------------


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    src = (ROOT / "config" / "003-go-nogo-gate.toml").read_text()
    assert old in src
    p = tmp_path / "broken.toml"
    p.write_text(src.replace(old, new, 1))
    return p


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_key_is_refused_with_path_and_line(tmp_path: Path) -> None:
    p = _broken(tmp_path, 'key = "smoke_realtime"', 'key = "smoke_realtime"\nexpcet = "PASS"')
    r = cockpit("config", "check", str(p))
    assert r.returncode == 2
    assert "checks[2].expcet" in r.stderr and f"line {_line_of(p, 'expcet')}" in r.stderr
    assert "unknown key" in r.stderr


def test_bad_duration_is_refused_with_path_and_line(tmp_path: Path) -> None:
    p = _broken(tmp_path, 'key = "smoke_sso"\nexpect = "PASS"\nmax_age = "24h"',
                'key = "smoke_sso"\nexpect = "PASS"\nmax_age = "a day"')
    r = cockpit("config", "check", str(p))
    assert r.returncode == 2
    assert "checks[1].max_age" in r.stderr and f"line {_line_of(p, 'a day')}" in r.stderr


def test_missing_required_key_is_refused_with_path_and_line(tmp_path: Path) -> None:
    p = _broken(tmp_path, 'name = "boltorezka"\n', "")
    r = cockpit("config", "check", str(p))
    assert r.returncode == 2
    assert "release.name" in r.stderr and "required key is missing" in r.stderr
    assert f"line {_line_of(p, '[release]')}" in r.stderr
