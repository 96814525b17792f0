"""The suite's real Prometheus (tests/helpers/prometheus.py) and its instrumented target: a target added at
run time is scraped, a change in the target is seen through wait_for, and no binary is a failure."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import prometheus as helper
from tests.helpers.metrics_target import MetricsTarget
from tests.helpers.prometheus import Prometheus


def _families(text: str) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    out: dict[str, dict] = {}
    for fam in text_string_to_metric_families(text):
        out[fam.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in fam.samples}
    return out


def test_the_target_exposes_requests_and_latency_in_the_text_format() -> None:
    with MetricsTarget(error_rate=0.25, latency=0.3) as t:
        t.metrics.record(40)   # a batch now, besides the ticker's: the counts below do not wait for the clock
        fams = _families(httpx.get(t.url + "/metrics", timeout=5).text)
        total, errors = t.totals()
    requests = fams["http_requests"]
    ok = requests[("http_requests_total", (("code", "200"),))]
    err = requests[("http_requests_total", (("code", "500"),))]
    assert ok + err >= 40 and err >= 10
    assert err / (ok + err) == pytest.approx(0.25, abs=0.03)   # exact fraction, up to one batch's rounding
    hist = fams["http_request_duration_seconds"]
    count = hist[("http_request_duration_seconds_count", ())]
    assert count == ok + err
    assert hist[("http_request_duration_seconds_sum", ())] == pytest.approx(0.3 * count)
    assert hist[("http_request_duration_seconds_bucket", (("le", "0.25"),))] == 0
    assert hist[("http_request_duration_seconds_bucket", (("le", "0.5"),))] == count
    assert total >= ok + err and errors >= err


def test_a_target_added_at_run_time_is_scraped(prometheus_server: Prometheus) -> None:
    with MetricsTarget() as t:
        job = prometheus_server.scrape(t.hostport)
        up = prometheus_server.wait_for(f'up{{job="{job}"}}', lambda r: len(r) == 1)
        assert up[0]["metric"]["instance"] == t.hostport and up[0]["value"][1] == "1"
        got = prometheus_server.wait_for(f'http_requests_total{{job="{job}",code="200"}}',
                                         lambda r: r and float(r[0]["value"][1]) > 0)
        assert got[0]["metric"]["job"] == job
        prometheus_server.forget(job)
    assert job not in prometheus_server.jobs


def test_wait_for_sees_the_error_rate_move(prometheus_server: Prometheus) -> None:
    ratio = ('sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[3s])) / '
             'sum(rate(http_requests_total{{job="{job}"}}[3s]))')
    with MetricsTarget(error_rate=0.0) as t:
        job = prometheus_server.scrape(t.hostport, job="fixture-error-rate")
        q = ratio.format(job=job)
        prometheus_server.wait_for(q, lambda r: len(r) == 1 and float(r[0]["value"][1]) == 0.0)
        t.set_error_rate(0.5)
        seen = prometheus_server.wait_for(q, lambda r: len(r) == 1 and float(r[0]["value"][1]) > 0.4)
        assert float(seen[0]["value"][1]) <= 0.6
        assert prometheus_server.value(q) is not None
        t.set_latency(0.8)
        mean = (f'rate(http_request_duration_seconds_sum{{job="{job}"}}[3s]) / '
                f'rate(http_request_duration_seconds_count{{job="{job}"}}[3s])')
        prometheus_server.wait_for(mean, lambda r: len(r) == 1 and float(r[0]["value"][1]) > 0.7)
        prometheus_server.forget(job)


def test_wait_for_fails_with_the_last_result(prometheus_server: Prometheus) -> None:
    with pytest.raises(pytest.fail.Exception) as e:
        prometheus_server.wait_for('vector(1)', lambda r: float(r[0]["value"][1]) > 1, timeout=0.5)
    assert "vector(1)" in str(e.value) and '"1"' in str(e.value)
    with pytest.raises(pytest.fail.Exception) as e:
        prometheus_server.query("sum(")
    assert "bad_data" in str(e.value)


def test_without_the_binary_the_fixture_fails_and_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(pytest.fail.Exception) as e:
        helper.start(tmp_path / "prom")
    assert "apt-get install prometheus" in str(e.value)
    assert not (tmp_path / "prom" / "data").exists()   # nothing was started
