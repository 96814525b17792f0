"""`smoke` evidence from real files and real URLs: env summaries, JUnit XML, JSON."""

from __future__ import annotations

import os
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from cockpit.core.checks import take
from cockpit.core.checks.smoke import parse_env
from cockpit.core.evidence import Status
from tests.checks.conftest import make_check
from tests.helpers.httpserver import closed_port

# Seed 003's `.deploy/last-smoke-summary.env`, as a deploy script writes it.
SUMMARY = """\
# written by scripts/deploy-test-smoke.sh
export TEST_REF=origin/feature/web-header-profile-menu
DEPLOY_SHA="c52890d"
smoke_sso=PASS
smoke_realtime='PASS'
reconnectOk=true   # from SMOKE_RECONNECT=1
smoke_call_relay=FAIL
finished_at=2024-05-01T10:00:00Z
not an assignment line
"""


def smoke(source: str, **kw):  # noqa: ANN001, ANN201
    kw.setdefault("timeout", "2s")
    return make_check(kind="smoke", source=source, **kw)


@pytest.fixture
def summary(tmp_path: Path) -> Path:
    path = tmp_path / ".deploy" / "last-smoke-summary.env"
    path.parent.mkdir()
    path.write_text(SUMMARY)
    return path


def age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_parse_env_tolerates_comments_quotes_and_export():
    values = parse_env(SUMMARY)
    assert values["TEST_REF"] == "origin/feature/web-header-profile-menu"
    assert values["DEPLOY_SHA"] == "c52890d"
    assert values["smoke_realtime"] == "PASS"
    assert values["reconnectOk"] == "true"
    assert "not an assignment line" not in values and len(values) == 7


@pytest.mark.parametrize(("key", "expect"), [("smoke_sso", "PASS"), ("smoke_realtime", "pass"),
                                             ("reconnectOk", True), ("reconnectOk", "true")])
async def test_env_summary_keys_pass(summary, make_ctx, key, expect):
    ev = await take(smoke(".deploy/last-smoke-summary.env", key=key, expect=expect), make_ctx())
    assert ev.status is Status.PASS, ev.detail
    assert ev.detail.startswith(f"{key} = ")
    assert ev.data["source"] == ".deploy/last-smoke-summary.env"
    assert "smoke_sso=PASS" in ev.excerpt


async def test_env_failed_key_fails(summary, make_ctx):
    ev = await take(smoke(".deploy/last-smoke-summary.env", key="smoke_call_relay"), make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail == 'smoke_call_relay is FAIL, expected "PASS"'


async def test_env_missing_key_names_key_and_file(summary, make_ctx):
    ev = await take(smoke(".deploy/last-smoke-summary.env", key="smoke_web_e2e"), make_ctx())
    assert ev.status is Status.FAIL
    assert "key smoke_web_e2e not found in .deploy/last-smoke-summary.env" in ev.detail
    assert "smoke_sso" in ev.detail  # says which keys are there


async def test_missing_file_names_it(make_ctx, tmp_path):
    ev = await take(smoke(".deploy/last-smoke-summary.env", key="smoke_sso"), make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail.startswith("smoke results file not found: .deploy/last-smoke-summary.env")
    assert str(tmp_path) in ev.detail


async def test_directory_instead_of_file_is_an_error(make_ctx, tmp_path):
    (tmp_path / "results").mkdir()
    ev = await take(smoke("results", key="x"), make_ctx())
    assert ev.status is Status.ERROR and "is a directory" in ev.detail


async def test_env_without_key_is_an_error(summary, make_ctx):
    ev = await take(smoke(".deploy/last-smoke-summary.env"), make_ctx())
    assert ev.status is Status.ERROR
    assert "needs key" in ev.detail


async def test_old_file_is_stale_with_its_age(summary, make_ctx):
    age(summary, 2 * 3600 + 60)
    ev = await take(smoke(".deploy/last-smoke-summary.env", key="smoke_sso", max_age="15m"), make_ctx())
    assert ev.status is Status.STALE
    assert ev.detail == "smoke_sso = PASS, but the results are 2h 1m old (max_age 15m)"
    fresh = await take(smoke(".deploy/last-smoke-summary.env", key="smoke_sso", max_age="3h"), make_ctx())
    assert fresh.status is Status.PASS


async def test_old_failure_stays_a_failure(summary, make_ctx):
    age(summary, 86400)
    ev = await take(smoke(".deploy/last-smoke-summary.env", key="smoke_call_relay", max_age="15m"), make_ctx())
    assert ev.status is Status.FAIL


async def test_timestamp_key_beats_mtime(summary, make_ctx):
    # The file was just written, but the results inside it are from 2024.
    check = smoke(".deploy/last-smoke-summary.env", key="smoke_sso", max_age="1d", timestamp_key="finished_at")
    ev = await take(check, make_ctx())
    assert ev.status is Status.STALE
    assert ev.data["produced_at"].startswith("2024-05-01T10:00:00")


async def test_epoch_timestamp(tmp_path, make_ctx):
    (tmp_path / "s.env").write_text(f"smoke=PASS\nat={int(time.time()) - 60}\n")
    ev = await take(smoke("s.env", key="smoke", max_age="5m", timestamp_key="at"), make_ctx())
    assert ev.status is Status.PASS, ev.detail
    assert 55 <= ev.data["age_s"] <= 120


async def test_bad_or_missing_timestamp(tmp_path, make_ctx):
    (tmp_path / "s.env").write_text("smoke=PASS\nat=yesterday\n")
    ev = await take(smoke("s.env", key="smoke", max_age="5m", timestamp_key="at"), make_ctx())
    assert ev.status is Status.ERROR
    assert 'timestamp_key at in s.env holds "yesterday", not an ISO 8601 time or epoch seconds' == ev.detail
    ev = await take(smoke("s.env", key="smoke", max_age="5m", timestamp_key="when"), make_ctx())
    assert ev.status is Status.FAIL and "timestamp_key when not found in s.env" in ev.detail


# -- JSON -----------------------------------------------------------------------------


async def test_json_dotted_key(tmp_path, make_ctx):
    (tmp_path / "smoke.json").write_text('{"results": {"sso": "pass", "e2e": {"passed": true}}, "at": "2099-01-01T00:00:00"}')
    ev = await take(smoke("smoke.json", key="results.e2e.passed", expect=True), make_ctx())
    assert ev.status is Status.PASS and ev.data["format"] == "json", ev.detail
    ev = await take(smoke("smoke.json", key="results.sso", expect="FAIL"), make_ctx())
    assert ev.status is Status.FAIL and ev.detail == 'results.sso is pass, expected "FAIL"'
    ev = await take(smoke("smoke.json", key="results.voice"), make_ctx())
    assert ev.status is Status.FAIL and "key results.voice not found in smoke.json" in ev.detail


async def test_malformed_json_names_the_file(tmp_path, make_ctx):
    (tmp_path / "smoke.json").write_text('{"results": ')
    ev = await take(smoke("smoke.json", key="results"), make_ctx())
    assert ev.status is Status.ERROR
    assert ev.detail.startswith("smoke.json is not valid JSON")


# -- JUnit ----------------------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1">
  <testsuite name="web-e2e" timestamp="2099-01-01T10:00:00" tests="4">
    <testcase classname="smoke.web" name="login" time="1.2"/>
    <testcase classname="smoke.web" name="join" time="0.4"/>
    <testcase classname="smoke.web" name="voice"><failure message="relay timed out">trace</failure></testcase>
    <testcase classname="smoke.web" name="reconnect"><skipped message="flaky"/></testcase>
  </testsuite>
</testsuites>
"""


@pytest.fixture
def junit(tmp_path: Path) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    return path


async def test_junit_all_tests_must_pass(junit, make_ctx):
    ev = await take(smoke("junit.xml"), make_ctx())
    assert ev.status is Status.FAIL
    assert ev.detail == "2 passed, 1 failed, 1 skipped — smoke.web.voice failed: relay timed out"
    assert ev.data["tests"] == 4 and ev.data["failed"] == 1 and ev.data["format"] == "junit"


async def test_junit_single_test_by_full_name_or_name(junit, make_ctx):
    ev = await take(smoke("junit.xml", key="smoke.web.login"), make_ctx())
    assert ev.status is Status.PASS and ev.detail == "test smoke.web.login: 1 passed"
    ev = await take(smoke("junit.xml", key="join"), make_ctx())
    assert ev.status is Status.PASS
    ev = await take(smoke("junit.xml", key="voice"), make_ctx())
    assert ev.status is Status.FAIL and "relay timed out" in ev.detail
    ev = await take(smoke("junit.xml", key="reconnect"), make_ctx())
    assert ev.status is Status.FAIL and ev.detail == "test reconnect was skipped"
    ev = await take(smoke("junit.xml", key="call.hangup"), make_ctx())
    assert ev.status is Status.FAIL and ev.detail == "test call.hangup not found in junit.xml (4 tests there)"


async def test_junit_testsuite_root_and_errors(tmp_path, make_ctx):
    (tmp_path / "r.xml").write_text(
        '<testsuite name="api"><testcase name="a"/><testcase name="b"><error message="boom"/></testcase></testsuite>')
    ev = await take(smoke("r.xml"), make_ctx())
    assert ev.status is Status.FAIL and "b errored: boom" in ev.detail
    (tmp_path / "ok.xml").write_text('<testsuite name="api"><testcase name="a"/><testcase name="b"/></testsuite>')
    ev = await take(smoke("ok.xml"), make_ctx())
    assert ev.status is Status.PASS and ev.detail == "all tests: 2 passed"


async def test_junit_nothing_passed_is_not_a_pass(tmp_path, make_ctx):
    (tmp_path / "empty.xml").write_text('<testsuites/>')
    ev = await take(smoke("empty.xml"), make_ctx())
    assert ev.status is Status.FAIL and "no test cases" in ev.detail
    (tmp_path / "skipped.xml").write_text('<testsuite><testcase name="a"><skipped/></testcase></testsuite>')
    ev = await take(smoke("skipped.xml"), make_ctx())
    assert ev.status is Status.FAIL and "no test passed" in ev.detail


async def test_junit_timestamp_attribute_for_freshness(junit, make_ctx):
    ev = await take(smoke("junit.xml", key="login", max_age="1h", timestamp_key="timestamp"), make_ctx())
    assert ev.status is Status.PASS  # 2099: not old
    junit.write_text(JUNIT.replace("2099-01-01", "2020-01-01"))
    ev = await take(smoke("junit.xml", key="login", max_age="1h", timestamp_key="timestamp"), make_ctx())
    assert ev.status is Status.STALE and "old (max_age 1h)" in ev.detail


async def test_malformed_xml(tmp_path, make_ctx):
    (tmp_path / "r.xml").write_text("<testsuite><testcase name='a'></testsuite")
    ev = await take(smoke("r.xml"), make_ctx())
    assert ev.status is Status.ERROR and ev.detail.startswith("r.xml is not well-formed XML")


async def test_not_junit_xml(tmp_path, make_ctx):
    (tmp_path / "r.xml").write_text("<html><body>CI is down</body></html>")
    ev = await take(smoke("r.xml"), make_ctx())
    assert ev.status is Status.ERROR and ev.detail == "r.xml is not a JUnit report (root element <html>)"


@pytest.mark.parametrize("doc", [
    # billion laughs
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    '<testsuite><testcase name="&lol2;"/></testsuite>',
    # external entity (XXE) reading a local file
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&x;"/></testsuite>',
    # a bare DTD
    '<?xml version="1.0"?><!DOCTYPE testsuite SYSTEM "http://127.0.0.1:1/x.dtd"><testsuite/>',
])
async def test_unsafe_xml_is_refused(tmp_path, make_ctx, doc):
    (tmp_path / "r.xml").write_text(doc)
    ev = await take(smoke("r.xml"), make_ctx())
    assert ev.status is Status.ERROR
    assert "refused unsafe XML" in ev.detail
    assert "root:" not in ev.detail


# -- from URLs --------------------------------------------------------------------------


async def test_env_summary_from_url_with_placeholder(server, make_ctx):
    server.route("/smoke.env", body=SUMMARY)
    ev = await take(smoke("{env.url}/smoke.env", key="smoke_sso"), make_ctx(env_url=server.base_url))
    assert ev.status is Status.PASS, ev.detail
    assert ev.data["source"] == server.url("/smoke.env")


async def test_url_freshness_from_last_modified(server, make_ctx):
    url = server.route("/smoke.env", body=SUMMARY, headers={"Last-Modified": formatdate(time.time() - 7200, usegmt=True)})
    ev = await take(smoke(url, key="smoke_sso", max_age="1h"), make_ctx())
    assert ev.status is Status.STALE and "2h 0m old" in ev.detail
    bare = server.route("/fresh.env", body=SUMMARY)  # no Last-Modified: as of now
    ev = await take(smoke(bare, key="smoke_sso", max_age="1h"), make_ctx())
    assert ev.status is Status.PASS


async def test_junit_from_url(server, make_ctx):
    url = server.route("/ci/report.xml", body=JUNIT, headers={"Content-Type": "application/xml"})
    ev = await take(smoke(url, key="login"), make_ctx())
    assert ev.status is Status.PASS and ev.data["format"] == "junit"


async def test_url_errors(server, make_ctx):
    missing = server.url("/nope.env")
    ev = await take(smoke(missing, key="smoke_sso"), make_ctx())
    assert ev.status is Status.FAIL and ev.detail == f"smoke results not fetched from {missing}: HTTP 404"
    port = closed_port()
    ev = await take(smoke(f"http://127.0.0.1:{port}/s.env", key="smoke_sso"), make_ctx())
    assert ev.status is Status.FAIL and "connection refused" in ev.detail
    hang = server.route("/hang.env", hang=True)
    ev = await take(smoke(hang, key="smoke_sso", timeout="300ms"), make_ctx())
    assert ev.status is Status.FAIL and "timed out after 0.3s" in ev.detail


async def test_oversize_documents_are_refused(tmp_path, make_ctx, server, monkeypatch):
    from cockpit.core.checks import smoke as smoke_module

    monkeypatch.setattr(smoke_module, "MAX_BYTES", 10_000)  # the real cap is 20 MB; same code path
    (tmp_path / "big.env").write_text("smoke_sso=PASS\n" + "#" * 20_000)
    ev = await take(smoke("big.env", key="smoke_sso"), make_ctx())
    assert ev.status is Status.ERROR and ev.detail == "smoke results file big.env is larger than 10000 bytes"
    url = server.route("/endless.env", endless=True)
    ev = await take(smoke(url, key="smoke_sso"), make_ctx())
    assert ev.status is Status.ERROR and ev.detail == f"smoke results at {url} are larger than 10000 bytes"
