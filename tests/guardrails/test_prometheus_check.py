"""The `prometheus` evidence kind against the suite's real Prometheus (and, for what a real one never
sends, a hostile loopback server): values compared like JSON checks, vectors picked or aggregated, no
data is inconclusive, Prometheus' own errors shown as it said them, made safe; the token never shown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from cockpit.core.checks import take
from cockpit.core.checks.context import CheckContext
from cockpit.core.evidence import Status
from cockpit.core.target import Target
from cockpit.runbook.config import CheckConfig, ConfigError, Runbook, load_runbook
from tests.helpers.httpserver import LoopbackServer
from tests.helpers.metrics_target import MetricsTarget

_CHECK = TypeAdapter(CheckConfig)


def ctx(tmp_path: Path, url: str, token_secret: str | None = None) -> CheckContext:
    rb = Runbook.model_validate({
        "release": {"name": "shop", "repo": "."}, "log": {"path": "log.sqlite"},
        "environments": {"prod": {"url": "http://127.0.0.1:1", "vars": {"job": "x"}}},
        "prometheus": {"url": url, "token_secret": token_secret, "timeout": "3s"},
    }).model_copy(update={"base_dir": tmp_path})
    return CheckContext(runbook=rb, environment="prod", target=Target("origin/main", "0" * 40))


def check(query: str, **kw: Any) -> Any:
    return _CHECK.validate_python({"id": "p", "kind": "prometheus", "query": query, "timeout": "3s", **kw})


@pytest.fixture(scope="module")
def scraped(prometheus_server: Any) -> Any:
    with MetricsTarget(error_rate=0.25) as t:
        job = prometheus_server.scrape(t.hostport)
        prometheus_server.wait_for(f'sum(rate(http_requests_total{{job="{job}"}}[3s]))',
                                   lambda r: bool(r) and float(r[0]["value"][1]) > 0)
        yield prometheus_server, job


def test_a_value_is_compared_like_a_json_check(scraped: Any, tmp_path: Path) -> None:
    prom, job = scraped
    q = f'sum(rate(http_requests_total{{job="{job}",code="500"}}[3s])) / sum(rate(http_requests_total{{job="{job}"}}[3s]))'
    ok = asyncio.run(take(check(q, expect={"gt": 0.2, "lt": 0.3}), ctx(tmp_path, prom.url)))
    assert ok.status is Status.PASS and 0.2 < ok.data["value"] < 0.3, ok
    bad = asyncio.run(take(check(q, expect={"lt": 0.01}), ctx(tmp_path, prom.url)))
    assert bad.status is Status.FAIL and "expected < 0.01" in bad.detail


def test_a_vector_is_picked_by_label_or_aggregated_and_several_series_need_a_choice(scraped: Any, tmp_path: Path) -> None:
    prom, job = scraped
    q = f'sum by (code) (http_requests_total{{job="{job}"}})'
    c = ctx(tmp_path, prom.url)
    several = asyncio.run(take(check(q), c))
    assert several.status is Status.FAIL and "2 series" in several.detail and "aggregate" in several.detail
    picked = asyncio.run(take(check(q, select={"code": "500"}, expect={"gt": 0}), c))
    summed = asyncio.run(take(check(q, aggregate="sum", expect={"gt": 0}), c))
    assert picked.status is summed.status is Status.PASS
    assert summed.data["value"] > picked.data["value"] and "sum of 2 series" in summed.detail


def test_no_data_is_inconclusive_never_a_pass(scraped: Any, tmp_path: Path) -> None:
    prom, _ = scraped
    none = asyncio.run(take(check('http_requests_total{job="no-such-job"}', expect={"lt": 1}), ctx(tmp_path, prom.url)))
    assert none.status is Status.INCONCLUSIVE and "no series" in none.detail
    nan = asyncio.run(take(check("0/0", expect={"lt": 1}), ctx(tmp_path, prom.url)))
    assert nan.status is Status.INCONCLUSIVE and "NaN" in nan.detail


def test_cockpit_check_keeps_its_columns_when_a_check_has_no_data(scraped: Any, tmp_path: Path, repo: Any) -> None:
    """"NO DATA" takes the status column's width, and a long kind ("prometheus") widens its column."""
    prom, _ = scraped
    (tmp_path / "rb.toml").write_text(f"""
[release]
name = "shop"
repo = "{repo.path}"
[log]
path = "log.sqlite"
[prometheus]
url = "{prom.url}"
[environments.prod]
url = "http://127.0.0.1:1"
[[checks]]
id = "errors-gone"
kind = "prometheus"
query = 'http_requests_total{{job="no-such-job"}}'
expect = {{ lt = 1 }}
[[checks]]
id = "up"
kind = "prometheus"
query = "vector(1)"
expect = {{ lt = 2 }}
[[checks]]
id = "page"
kind = "http"
url = "http://127.0.0.1:1/"
blocking = false
""")
    r = subprocess.run([sys.executable, "-m", "cockpit", "check", "--config", str(tmp_path / "rb.toml")],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "COCKPIT_ACTOR": "ci"})
    nodata, passed, failed = (next(ln for ln in r.stdout.splitlines() if f" {i} " in ln) for i in ("errors-gone", "up", "page"))
    assert "? NO DATA MUST" in nodata and "✔ PASS    MUST" in passed, r.stdout
    # every column starts where it starts on the other rows: status, MUST/SHOULD, id, kind, detail
    assert nodata.index("MUST") == passed.index("MUST") == failed.index("SHOULD"), r.stdout
    assert nodata.index("errors-gone") == passed.index("up") == failed.index("page"), r.stdout
    assert nodata.index("prometheus") == failed.index("http"), r.stdout
    detail = failed.index("http") + len("prometheus ")
    assert failed[detail - 1] == " " and failed[detail] != " ", r.stdout  # the http row's detail starts after the padding


def test_bad_promql_fails_with_prometheus_own_words(scraped: Any, tmp_path: Path) -> None:
    prom, _ = scraped
    ev = asyncio.run(take(check("sum(rate(http_requests_total[1m]"), ctx(tmp_path, prom.url)))
    assert ev.status is Status.FAIL and "Prometheus refused the query (HTTP 400, bad_data)" in ev.detail
    assert "parse error" in ev.detail


def test_an_unreachable_or_hanging_prometheus_fails_in_time(tmp_path: Path) -> None:
    ev = asyncio.run(take(check("up"), ctx(tmp_path, "http://127.0.0.1:9")))
    assert ev.status is Status.FAIL and ev.detail.startswith("Prometheus did not answer")
    with LoopbackServer() as srv:
        srv.route("/api/v1/query", hang=True)
        ev = asyncio.run(take(check("up", timeout="1s"), ctx(tmp_path, srv.url(""))))
    assert ev.status is Status.FAIL and "timed out" in ev.detail


def test_hostile_error_text_is_made_safe_and_the_token_is_sent_but_never_shown(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = "prom-secret-token-0123456789"
    monkeypatch.setenv("COCKPIT_SECRET_PROM_TOKEN", token)
    with LoopbackServer() as srv:
        srv.route("/api/v1/query", status=422, json={
            "status": "error", "errorType": "execution",
            "error": f"\x1b[31m[bold]boom[/bold]\x1b]0;pwned\x07 token={token}\nsecond line"})
        ev = asyncio.run(take(check("up"), ctx(tmp_path, srv.url(""), token_secret="prom-token")))
        sent = srv.requests[-1].headers.get("Authorization")
    assert sent == f"Bearer {token}"
    assert ev.status is Status.FAIL and "HTTP 422, execution" in ev.detail
    assert "\x1b" not in ev.detail and "\n" not in ev.detail and token not in ev.detail and token not in str(ev.data)
    assert "[bold]boom[/bold]" in ev.detail  # markup stays text; the screen renders it as such


def test_the_warnings_of_an_answer_are_said_with_its_value_made_safe(tmp_path: Path) -> None:
    # A real Prometheus warns of a partial answer from its remote storage, which this suite does not run.
    with LoopbackServer() as srv:
        srv.route("/api/v1/query", json={
            "status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "0.002"]}]},
            "warnings": ["remote_read: \x1b[31mpartial\x1b[0m response\nfrom store-2", "w2", "w3", "w4", "w5"]})
        ev = asyncio.run(take(check("up", expect={"lt": 0.01}), ctx(tmp_path, srv.url(""))))
    assert ev.status is Status.PASS, ev.detail  # the value is still judged
    assert "Prometheus warns: remote_read:" in ev.detail and "and 2 more" in ev.detail
    assert "\x1b" not in ev.detail and "\n" not in ev.detail
    assert ev.data["warnings"][0].startswith("remote_read:") and len(ev.data["warnings"]) == 4


def test_a_missing_token_secret_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COCKPIT_SECRET_PROM_TOKEN", raising=False)
    ev = asyncio.run(take(check("up"), ctx(tmp_path, "http://127.0.0.1:9", token_secret="prom-token")))
    assert ev.status is Status.ERROR and "prom-token" in ev.detail


def test_the_runbook_refuses_a_prometheus_check_without_its_server_and_names_unknown_placeholders(tmp_path: Path) -> None:
    base = ('[release]\nname = "x"\nrepo = "."\n[log]\npath = "l.sqlite"\n[environments.prod]\nurl = "http://h"\n'
            '[[checks]]\nid = "p"\nkind = "prometheus"\nquery = \'rate(x{code=~"5.."}[1m]) {nope}\'\n')
    (tmp_path / "a.toml").write_text(base.replace(" {nope}", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[prometheus\] section"):
        load_runbook(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text(base + '[prometheus]\nurl = "http://p"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown placeholder \{nope\}"):
        load_runbook(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text(base.replace(" {nope}", " + {env.name}") + '[prometheus]\nurl = "http://p"\n',
                                     encoding="utf-8")
    assert load_runbook(tmp_path / "c.toml").checks[0].query.startswith('rate(x{code=~"5.."}')
