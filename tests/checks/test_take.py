"""take_all: every check at once, results in order, progress as each lands."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from cockpit.core.checks import take, take_all
from cockpit.core.evidence import Evidence, Status
from tests.checks.conftest import make_check


async def test_checks_run_concurrently_and_come_back_in_order(server, make_ctx):
    # Delays decrease along the list, so the checks finish in reverse order.
    checks = []
    for i in range(10):
        url = server.route(f"/h{i}", json={"status": "ok"}, delay=0.4 - i * 0.03)
        checks.append(make_check(kind="http", id=f"h{i}", url=url, json={"status": "ok"}))
    seen: list[str] = []
    results = await take_all(checks, make_ctx(), on_result=lambda ev: seen.append(ev.check_id))
    assert [e.check_id for e in results] == [f"h{i}" for i in range(10)]
    assert all(e.status is Status.PASS for e in results), [e.detail for e in results]
    assert sorted(seen) == sorted(e.check_id for e in results)
    # In reverse order only if they ran at once (one after another, h0 would land first); the
    # speed itself is bench_http_checks.py's to show.
    assert seen[0] == "h9" and seen[-1] == "h0"


async def test_mixed_kinds_and_failures_never_raise(server, make_ctx, tmp_path: Path):
    (tmp_path / "s.env").write_text("smoke_sso=PASS\n")
    checks = [
        make_check(kind="http", id="up", url=server.route("/up", body="ok")),
        make_check(kind="http", id="down", url=server.route("/down", status=502)),
        make_check(kind="smoke", id="sso", source="s.env", key="smoke_sso"),
        make_check(kind="command", id="cmd", run="exit 1"),
        make_check(kind="file", id="backup", path="missing.dump", blocking=False),
        make_check(kind="manual", id="comms", prompt="Status page"),
        make_check(kind="git", id="main", rule="target-on-main"),  # tmp_path is no repository
        make_check(kind="http", id="bad-placeholder", url="{env.url}/x"),
    ]
    results = await take_all(checks, make_ctx())
    got = {e.check_id: e.status for e in results}
    assert got == {"up": Status.PASS, "down": Status.FAIL, "sso": Status.PASS, "cmd": Status.FAIL,
                   "backup": Status.FAIL, "comms": Status.PENDING, "main": Status.ERROR,
                   "bad-placeholder": Status.ERROR}
    assert [e.blocking for e in results] == [True, True, True, True, False, True, True, True]
    for e in results:  # evidence goes into the release log as JSON
        assert Evidence.from_json(json.loads(json.dumps(e.to_json()))).status is e.status


async def test_a_broken_progress_callback_loses_nothing(server, make_ctx):
    checks = [make_check(kind="http", id=f"c{i}", url=server.route(f"/c{i}", body="ok")) for i in range(3)]

    def explode(ev: Evidence) -> None:
        raise RuntimeError("progress line broke")

    results = await take_all(checks, make_ctx(), on_result=explode)
    assert [e.status for e in results] == [Status.PASS] * 3


async def test_a_shared_client_is_used_and_left_open(server, make_ctx):
    checks = [make_check(kind="http", id=f"c{i}", url=server.route(f"/c{i}", body="ok")) for i in range(3)]
    ctx = make_ctx()
    async with httpx.AsyncClient(headers={"X-Shared": "yes"}) as client:
        ctx.http = client
        results = await take_all(checks, ctx)
        assert not client.is_closed
        assert all(e.ok for e in results)
    assert all(r.headers.get("X-Shared") == "yes" for r in server.requests)


async def test_take_all_of_nothing(make_ctx):
    assert await take_all([], make_ctx()) == []


async def test_evidence_round_trips_through_json(server, make_ctx):
    ev = await take(make_check(kind="http", url=server.route("/h", json={"status": "ok"}), json={"status": "ok"}),
                    make_ctx())
    again = Evidence.from_json(ev.to_json())
    assert again.status is ev.status and again.detail == ev.detail and again.data == ev.data
