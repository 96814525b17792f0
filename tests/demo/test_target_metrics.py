"""The demo target's /metrics: Prometheus' text format from its own registry, and faults that follow flags."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cockpit.demo import DemoTarget
from cockpit.demo.state import BASE_ERROR_RATE, BASE_LATENCY_S

REQ = "MARKETPLACE_REQUESTS_ENABLED"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def counts(client: httpx.Client) -> tuple[float, float]:
    """(requests, 5xx) as /metrics says."""
    got = samples(client.get("/metrics").text)
    ok, err = got[("http_requests_total", (("code", "200"),))], got[("http_requests_total", (("code", "500"),))]
    return ok + err, err


def flip(client: httpx.Client, target: DemoTarget, on: bool) -> None:
    r = client.put(f"/admin/flags/{REQ}", json={"enabled": on, "reason": "test", "actor": "t"},
                   headers={"Authorization": f"Bearer {target.token}"})
    assert r.status_code == 200, r.text


def test_metrics_is_the_prometheus_text_format(target: DemoTarget, client: httpx.Client) -> None:
    target.metrics.record(500)
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = samples(r.text)
    total, errors = counts(client)
    assert total >= 500
    assert errors == pytest.approx(total * BASE_ERROR_RATE, abs=1)   # the base: 0.2 % errors, exactly
    count = got[("http_request_duration_seconds_count", ())]
    assert count >= 500
    assert got[("http_request_duration_seconds_sum", ())] == pytest.approx(count * BASE_LATENCY_S)
    assert got[("http_request_duration_seconds_bucket", (("le", "0.1"),))] == 0
    assert got[("http_request_duration_seconds_bucket", (("le", "0.25"),))] == count
    assert client.get("/metrics.json").json()["p95_ms"] == 120   # the old JSON answer, still served


def test_the_ticker_records_traffic_by_itself(target: DemoTarget, client: httpx.Client) -> None:
    before, _ = counts(client)
    deadline_polls = 100
    while counts(client)[0] < before + 10 and deadline_polls:   # 20 requests/s: a few tenths of a second
        deadline_polls -= 1
        target.wait_or_stopping(0.05)
    assert counts(client)[0] >= before + 10


def test_each_target_has_its_own_registry() -> None:
    with DemoTarget() as a, DemoTarget() as b:
        a.metrics.record(1000)
        assert a.metrics.totals()[0] >= 1000
        assert b.metrics.totals()[0] < 1000


def test_a_fault_moves_the_error_rate_and_latency_while_its_flag_is_on(target: DemoTarget,
                                                                       client: httpx.Client) -> None:
    r = client.post("/_demo/fault", json={"flag": REQ, "error_rate": 0.2, "latency_ms": 900})
    assert r.status_code == 200 and r.json()["faults"] == [{"flag": REQ, "error_rate": 0.2, "latency_ms": 900}]
    assert client.get("/_demo/state").json()["traffic"] == {"error_rate": BASE_ERROR_RATE, "latency_ms": 120.0}

    def share_of_errors(n: int = 1000) -> float:
        # a batch recorded now, with the profile of now; the ticker's few requests change it by < 1 %
        t0, e0 = counts(client)
        target.metrics.record(n)
        t1, e1 = counts(client)
        return (e1 - e0) / (t1 - t0)

    assert share_of_errors() < 0.01                       # flag off: the fault waits
    flip(client, target, True)
    assert client.get("/_demo/state").json()["traffic"] == {"error_rate": 0.2, "latency_ms": 900.0}
    assert share_of_errors() == pytest.approx(0.2, abs=0.01)
    lat = samples(client.get("/metrics").text)
    assert lat[("http_request_duration_seconds_bucket", (("le", "0.75"),))] < lat[
        ("http_request_duration_seconds_bucket", (("le", "1.0"),))]   # 900 ms requests were recorded
    flip(client, target, False)
    assert share_of_errors() < 0.01
    flip(client, target, True)
    assert client.delete("/_demo/fault").json() == {"ok": True, "faults": []}
    assert share_of_errors() < 0.01                       # cleared: the flag alone changes nothing


def test_a_fault_without_a_flag_is_always_on_and_reset_clears_it(target: DemoTarget, client: httpx.Client) -> None:
    assert client.post("/_demo/fault", json={"error_rate": 1.0}).status_code == 200
    _, e0 = counts(client)
    target.metrics.record(50)
    assert counts(client)[1] - e0 >= 50
    assert client.post("/_demo/reset").status_code == 200
    assert client.get("/_demo/state").json()["faults"] == []


@pytest.mark.parametrize("body, said", [
    ({"flag": "NO_SUCH_FLAG", "error_rate": 0.2}, "unknown flag"),
    ({"flag": REQ, "error_rate": 1.5}, "between 0 and 1"),
    ({"flag": REQ, "error_rate": "lots"}, "must be numbers"),
    ({"flag": REQ, "error_rate": True}, "must be numbers"),
    ({"flag": REQ}, "give error_rate, latency_ms or both"),
    ({"flag": REQ, "error_rate": 0.1, "colour": "red"}, "unknown keys"),
])
def test_a_bad_fault_is_refused(client: httpx.Client, body: dict, said: str) -> None:
    r = client.post("/_demo/fault", json=body)
    assert r.status_code == 400 and said in r.json()["error"]
    assert client.get("/_demo/state").json()["faults"] == []
