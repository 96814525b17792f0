"""Credentials in a redirect's query string never reach what is shown or logged.

A real loopback server (tests/checks/fleet.py, a child process) redirects to a URL that carries
a token, the way signed links and SSO callbacks do; the check's own URL carries none.
"""

from __future__ import annotations

import json
import logging

from cockpit.core.checks import take
from cockpit.core.checks.result import redact_url
from cockpit.core.evidence import Status
from tests.checks.conftest import make_check
from tests.checks.fleet import Fleet
from tests.helpers.httpserver import closed_port

SECRET = "s3cr3t-9f8e7d6c"


def everything(ev) -> str:  # noqa: ANN001
    return json.dumps(ev.to_json()) + ev.detail + ev.excerpt


async def test_a_redirect_not_followed_shows_where_with_the_token_masked(make_ctx):
    with Fleet(ports=1, delay=0, redirects={"/login": f"https://sso.example.com/x?token={SECRET}&a=1"}) as fleet:
        ev = await take(make_check(kind="http", url=fleet.url(0, "/login")), make_ctx())
    assert ev.status is Status.FAIL
    assert "redirect to https://sso.example.com/x?token=***&a=1" in ev.detail, ev.detail
    assert SECRET not in everything(ev)


async def test_a_followed_redirect_records_its_final_url_masked_and_logs_nothing_secret(make_ctx, caplog):
    caplog.set_level(logging.INFO, logger="httpx")  # httpx logs every hop's URL at INFO
    signed = "http://127.0.0.1:{port1}/health?token=" + SECRET + "&a=1"
    with Fleet(ports=2, delay=0, redirects={"/start": signed}) as fleet:
        check = make_check(kind="http", url=fleet.url(0, "/start"), follow_redirects=True, json={"status": "ok"})
        ev = await take(check, make_ctx())
    assert ev.status is Status.PASS, ev.detail
    assert ev.data["url"].endswith("/health?token=***&a=1"), ev.data
    assert SECRET not in everything(ev)
    logged = [r.getMessage() for r in caplog.records]
    assert any("token=***" in m for m in logged), logged  # the hop was logged, masked
    assert not any(SECRET in m for m in logged), logged


async def test_a_followed_redirect_that_fails_says_why_without_the_token(make_ctx):
    with Fleet(ports=1, delay=0, redirects={"/login": f"http://127.0.0.1:{closed_port()}/cb?access_token={SECRET}"}) as fleet:
        ev = await take(make_check(kind="http", url=fleet.url(0, "/login"), follow_redirects=True), make_ctx())
    assert ev.status is Status.FAIL and "connection refused" in ev.detail, ev.detail
    assert SECRET not in everything(ev)


def test_credential_parameters_are_masked_and_the_rest_kept():
    assert redact_url("https://h/x?token=SECRET&a=1") == "https://h/x?token=***&a=1"
    assert redact_url("https://u:pw@h/?X-Amz-Signature=ab&X-Amz-Credential=AK%2F1&b=2") == \
        "https://***@h/?X-Amz-Signature=***&X-Amz-Credential=***&b=2"
    assert redact_url("https://h/cb#access_token=zz&state=1") == "https://h/cb#access_token=***&state=1"
    assert redact_url("https://h/sas?sv=2024&sig=abc%3D") == "https://h/sas?sv=2024&sig=***"
    assert redact_url("https://h/login?next=/cb?token=SECRET") == "https://h/login?next=/cb?token=***"
    assert redact_url("https://login.example.com/sso?next=/health&page=2") == \
        "https://login.example.com/sso?next=/health&page=2"
