"""Comparison expectations (seed 004's "p95 < 500ms", seed 002's "error rate < 0.1%"), through
real http and smoke evidence, and refused at load when a table mixes operators with other keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.runbook.config import ConfigError, parse_runbook
from cockpit.core.checks import take
from cockpit.core.evidence import Status
from tests.checks.conftest import make_check

LOADTEST = {"rps": 100, "p95_ms": 310, "error_rate": 0.002, "passed": True}


async def test_http_json_comparisons_pass_and_fail_in_words(server, make_ctx):  # noqa: ANN001
    url = server.route("/loadtest", json=LOADTEST)
    ok = make_check(kind="http", url=url, json={"p95_ms": {"lt": 500}, "rps": {"ge": 100}, "passed": True})
    ev = await take(ok, make_ctx())
    assert ev.status is Status.PASS, ev.detail

    strict = make_check(kind="http", url=url, json={"error_rate": {"ge": 0, "le": 0.001}})
    ev = await take(strict, make_ctx())
    assert ev.status is Status.FAIL
    assert "error_rate is 0.002, expected ≥ 0 and ≤ 0.001" in ev.detail


async def test_smoke_key_compared_with_a_bound(tmp_path: Path, make_ctx) -> None:  # noqa: ANN001
    (tmp_path / "load.env").write_text("p95_ms=612\nrps=140\n")
    slow = make_check(kind="smoke", source=str(tmp_path / "load.env"), key="p95_ms", expect={"lt": 500})
    ev = await take(slow, make_ctx())
    assert ev.status is Status.FAIL and "p95_ms is 612, expected < 500" in ev.detail
    fast_enough = make_check(kind="smoke", source=str(tmp_path / "load.env"), key="rps", expect={"gt": 100})
    assert (await take(fast_enough, make_ctx())).status is Status.PASS


async def test_a_non_number_never_satisfies_an_ordering(server, make_ctx):  # noqa: ANN001
    url = server.route("/weird", json={"p95_ms": "fast"})
    ev = await take(make_check(kind="http", url=url, json={"p95_ms": {"lt": 500}}), make_ctx())
    assert ev.status is Status.FAIL and 'p95_ms is "fast", expected < 500' in ev.detail


BASE = '[release]\nname = "x"\n[log]\npath = "l"\n[environments.p]\nurl = "http://x"\n'


@pytest.mark.parametrize("check,message", [
    ('kind = "http"\nurl = "{env.url}"\njson = { p95 = { lt = 500, below = 3 } }',
     "json.p95: a comparison table takes only lt, le, gt, ge, eq, ne (not below)"),
    ('kind = "smoke"\nsource = "s.env"\nkey = "k"\nexpect = { lt = 1, less = 2 }',
     "expect: a comparison table takes only lt, le, gt, ge, eq, ne (not less)"),
])
def test_mixed_tables_are_refused_at_load(check: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_runbook(BASE + f'[[checks]]\nid = "c"\n{check}\n', "rb.toml")
    assert any(message in p for p in e.value.problems), e.value.problems
