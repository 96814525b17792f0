"""The demo's stand-in for Prometheus: the demo runbook's own queries answered from the target's registry,
labelled as a stand-in, and every other question refused in Prometheus' error shape."""

from __future__ import annotations

import time

import httpx
import pytest

from cockpit.demo import DemoTarget
from cockpit.demo.promstandin import ERROR_RATIO, NOTE, PREFIX, QUERIES

API = PREFIX + "/api/v1/query"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_answers_them_labelled_as_a_stand_in(target: DemoTarget, client: httpx.Client, method: str) -> None:
    target.metrics.record(100)
    for q in QUERIES:
        r = (client.get(API, params={"query": q}) if method == "GET" else client.post(API, data={"query": q}))
        doc = r.json()
        assert r.status_code == 200 and doc["status"] == "success", doc
        assert doc["warnings"] == [NOTE] and "install prometheus" in NOTE
        (series,) = doc["data"]["result"]
        assert doc["data"]["resultType"] == "vector" and series["metric"] == {}
        at, value = series["value"]
        assert abs(at - time.time()) < 60 and 0.0 <= float(value) < 0.05


def test_its_error_ratio_follows_a_fault(target: DemoTarget, client: httpx.Client) -> None:
    q = ERROR_RATIO
    target.metrics.record(100)
    calm = float(client.get(API, params={"query": q}).json()["data"]["result"][0]["value"][1])
    target.set_fault(None, error_rate=0.5)
    target.metrics.record(400)
    hot = float(client.get(API, params={"query": q}).json()["data"]["result"][0]["value"][1])
    assert calm < 0.01 and hot > 0.3


@pytest.mark.parametrize("params, kind, said", [
    ({"query": "up"}, "bad_data", "does not know the query"),
    ({"query": 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'},
     "bad_data", "does not know the query"),
    ({}, "bad_data", "exactly one query"),
    ({"query": ERROR_RATIO, "time": "1000"}, "bad_data", "current time only"),
])
def test_anything_else_is_refused_as_prometheus_would(client: httpx.Client, params: dict, kind: str,
                                                      said: str) -> None:
    r = client.get(API, params=params)
    doc = r.json()
    assert r.status_code == 400
    assert doc["status"] == "error" and doc["errorType"] == kind and said in doc["error"]
    assert "stand-in" in doc["error"]


def test_other_api_paths_are_not_served(client: httpx.Client) -> None:
    r = client.get(PREFIX + "/api/v1/query_range", params={"query": "up"})
    assert r.status_code == 404 and r.json()["errorType"] == "not_found"
