"""The demo target serves health, metrics and smoke results over real HTTP, and can be programmed."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import httpx
import pytest

from cockpit.demo import DemoTarget
from cockpit.demo.state import HEALTH_NAMES


@pytest.mark.parametrize("name", HEALTH_NAMES)
def test_every_health_endpoint_answers_ok(client: httpx.Client, name: str) -> None:
    r = client.get("/health" if name == "api" else f"/health/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"status": "ok", "service": name}


def test_set_health_failure_and_reset(target: DemoTarget, client: httpx.Client) -> None:
    target.set_health("db", status_code=503)
    r = client.get("/health/db")
    assert r.status_code == 503 and r.json()["status"] == "error"
    assert client.get("/health/redis").status_code == 200  # only the one endpoint
    target.reset_health("db")
    assert client.get("/health/db").json()["status"] == "ok"


def test_untrusted_bodies_are_served_verbatim(target: DemoTarget, client: httpx.Client) -> None:
    target.set_health("payments", body="[bold red]x[/] \x1b[2J\x1b]0;pwned\x07")
    r = client.get("/health/payments")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text == "[bold red]x[/] \x1b[2J\x1b]0;pwned\x07"
    target.set_health("booking", body=b"\xff\xfe not utf-8")
    assert client.get("/health/booking").content == b"\xff\xfe not utf-8"
    target.set_health("catalog", body={"status": "degraded", "detail": "[link=http://evil]click[/link]"})
    assert client.get("/health/catalog").json()["detail"] == "[link=http://evil]click[/link]"


def test_slow_and_hanging_endpoints(target: DemoTarget, client: httpx.Client) -> None:
    target.set_health("availability", delay=0.3)
    started = time.monotonic()
    assert client.get("/health/availability").status_code == 200
    assert time.monotonic() - started >= 0.3
    target.set_health("booking", delay=3600)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/health/booking", timeout=0.2)
    assert client.get("/health").status_code == 200  # a hanging endpoint blocks nothing else


def test_new_health_names_add_endpoints(target: DemoTarget, client: httpx.Client) -> None:
    assert client.get("/health/svc-7").status_code == 404
    target.set_health("svc-7")
    assert client.get("/health/svc-7").json() == {"status": "ok", "service": "svc-7"}


def test_smoke_summary_env(target: DemoTarget, client: httpx.Client) -> None:
    text = client.get("/smoke/last-smoke-summary.env").text
    values = dict(line.split("=", 1) for line in text.splitlines())
    assert values["smoke_sso"] == "PASS" and values["reconnectOk"] == "true"
    assert {"smoke_realtime", "smoke_web_e2e", "call_relay", "generated_at"} <= set(values)
    assert values["generated_at"].endswith("Z")
    target.set_smoke("reconnectOk", False)
    target.set_smoke("smoke_sso", "FAIL")
    values = dict(line.split("=", 1) for line in client.get("/smoke/last-smoke-summary.env").text.splitlines())
    assert values["reconnectOk"] == "false" and values["smoke_sso"] == "FAIL"


def test_smoke_json_and_junit_variants(target: DemoTarget, client: httpx.Client) -> None:
    target.set_smoke("call_relay", "FAIL")
    doc = client.get("/smoke/last-smoke-summary.json").json()
    assert doc["results"]["call_relay"] == "FAIL" and doc["results"]["smoke_sso"] == "PASS"
    suite = ET.fromstring(client.get("/smoke/junit.xml").content)
    assert suite.get("tests") == "5" and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["call_relay"]


def test_metrics_and_load_test_documents(client: httpx.Client) -> None:
    assert client.get("/metrics.json").json()["error_rate"] < 0.01   # /metrics is Prometheus' text format
    lt = client.get("/loadtest/result.json").json()
    assert lt["rps"] >= 100 and lt["p95_ms"] < 500 and lt["passed"] is True


def test_control_api_over_http(target: DemoTarget, client: httpx.Client) -> None:
    assert client.post("/_demo/health/redis", json={"status_code": 500, "body": "down"}).status_code == 200
    r = client.get("/health/redis")
    assert (r.status_code, r.text) == (500, "down")
    client.delete("/_demo/health/redis")
    assert client.get("/health/redis").status_code == 200
    client.post("/_demo/smoke", json={"smoke_realtime": "FAIL"})
    assert "smoke_realtime=FAIL" in client.get("/smoke/last-smoke-summary.env").text
    client.post("/_demo/flags/fail-next", json={"n": 1, "status": 502})
    put = client.put("/admin/flags/MARKETPLACE_FEES_ENABLED", json={"enabled": True, "reason": "r", "actor": "a"},
                     headers={"Authorization": f"Bearer {target.token}"})
    assert put.status_code == 502
    state = client.get("/_demo/state").json()
    assert state["smoke"]["smoke_realtime"] == "FAIL" and state["puts"][0]["status"] == 502
    assert client.post("/_demo/reset").status_code == 200
    assert "smoke_realtime=PASS" in client.get("/smoke/last-smoke-summary.env").text


def test_control_api_refuses_bad_input(client: httpx.Client) -> None:
    assert client.post("/_demo/health/db", content=b"not json").status_code == 400
    assert client.post("/_demo/health/db", json={"status": 500}).status_code == 400   # unknown key
    assert client.post("/_demo/health/db", json={"status_code": "abc"}).status_code == 400
    assert client.post("/_demo/health/db", json=[1, 2]).status_code == 400
    assert client.post("/_demo/nope").status_code == 404
    assert client.get("/health/db").status_code == 200


def test_unknown_paths_and_methods(client: httpx.Client) -> None:
    assert client.get("/nope").status_code == 404
    assert client.post("/health").status_code == 405
    assert client.head("/health").status_code == 200


def test_two_targets_get_different_ports_and_stop_frees_the_port() -> None:
    with DemoTarget() as a, DemoTarget() as b:
        assert a.port != b.port
        url = a.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=1)
    with pytest.raises(RuntimeError):
        _ = a.url
