"""Many checks at once: admission per origin and overall, timeouts that measure the check itself.

The endpoints are a real asyncio HTTP server in a child process (tests/checks/fleet.py), which
counts the requests it holds at once: the bounds are read from the server's side.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from cockpit.core.checks import Admission, Limits, take_all
from cockpit.core.checks.admission import Lane
from cockpit.core.evidence import Status, utcnow
from cockpit.core.gate import evaluate
from cockpit.runbook.config import Runbook
from tests.checks.conftest import make_check
from tests.checks.fleet import Fleet
from tests.helpers.gitrepos import make_repo

ROOT = Path(__file__).resolve().parents[2]


def runbook_of(checks: list[dict[str, Any]]) -> Runbook:
    return Runbook.model_validate({"release": {"name": "shop"}, "log": {"path": "log.sqlite"},
                                   "environments": {"prod": {}}, "checks": checks})


def health(i: int, url: str, timeout: str = "2s", **kw: Any) -> dict[str, Any]:
    return {"id": f"c{i:04d}", "kind": "http", "url": url, "json": {"status": "ok"}, "timeout": timeout, **kw}


async def test_a_thousand_checks_on_one_origin_all_pass(make_ctx):
    # Each answer takes 50 ms; 1,000 of them through 100 connections take at least 0.5 s, and the
    # client's own work on top. Before admission, every one of them timed out in httpcore's queue.
    with Fleet(ports=1, delay=0.05) as fleet:
        checks = [make_check(**health(i, fleet.url(0, f"/health/{i}"))) for i in range(1000)]
        results = await take_all(checks, make_ctx())
        stats = fleet.stats()
    failed = [f"{e.check_id}: {e.detail}" for e in results if e.status is not Status.PASS]
    assert failed == [], failed[:5]
    assert stats["served"] == 1000
    assert stats["peak_per_port"][str(fleet.ports[0])] <= Limits().per_origin


async def test_a_hanging_check_times_out_on_its_own_clock_while_500_queue_elsewhere(make_ctx):
    # 500 checks on one origin answering after 0.5 s, 100 at a time: the last start 2 s after the
    # first, yet each takes 0.5 s of its own 2 s. The hanging one, on its own origin, is not queued
    # behind them: it fails after its 1 s, and only it.
    with Fleet(ports=2, delay=0.5) as fleet:
        rows = [health(i, fleet.url(1, f"/health/{i}")) for i in range(500)]
        rows.append({"id": "hang", "kind": "http", "url": fleet.url(0, "/hang"), "timeout": "1s"})
        rb = runbook_of(rows)
        seen: list[str] = []
        results = await take_all(rb.checks, make_ctx(), on_result=lambda ev: seen.append(ev.check_id))
    by_id = {e.check_id: e for e in results}
    hang = by_id.pop("hang")
    assert hang.status is Status.FAIL and hang.detail.startswith("timed out after 1s"), hang.detail
    failed = [f"{e.check_id}: {e.detail}" for e in by_id.values() if e.status is not Status.PASS]
    assert failed == [], failed[:5]
    assert seen.index("hang") < len(seen) - 100  # it came in before the last round of the queue
    verdict = evaluate(rb, {e.check_id: e for e in results}, now=utcnow(), environment="prod")
    assert not verdict.go
    assert len(verdict.reasons) == 1 and "hang" in verdict.reasons[0], verdict.reasons


async def test_bounds_per_origin_and_overall_are_kept_and_waiting_is_not_timed(make_ctx):
    # 2 origins x 40 checks, at most 5 per origin and 8 in all: 10 rounds of 0.2 s. Every check's
    # 1 s timeout is shorter than the whole queue, so passing means the wait was not on its clock.
    with Fleet(ports=2, delay=0.2) as fleet:
        checks = [make_check(**health(i, fleet.url(i % 2, f"/health/{i}"), timeout="1s")) for i in range(80)]
        ctx = make_ctx()
        ctx.admission = Admission(Limits(per_origin=5, overall=8))
        results = await take_all(checks, ctx)
        stats = fleet.stats()
    failed = [f"{e.check_id}: {e.detail}" for e in results if e.status is not Status.PASS]
    assert failed == [], failed[:5]
    assert max(stats["peak_per_port"].values()) <= 5
    assert 5 < stats["peak_in_flight"] <= 8  # both origins at once, never more than the overall bound


async def test_smoke_results_from_a_url_wait_for_a_slot_of_their_origin_too(make_ctx):
    with Fleet(ports=1, delay=0.15) as fleet:
        checks = [make_check(kind="smoke", id=f"s{i}", source=fleet.url(0, f"/smoke/{i}.json"), key="db.ok",
                             expect=True, timeout="1s") for i in range(10)]
        checks += [make_check(**health(i, fleet.url(0, f"/health/{i}"), timeout="1s")) for i in range(10)]
        ctx = make_ctx()
        ctx.admission = Admission(Limits(per_origin=2, overall=10))
        results = await take_all(checks, ctx)  # 10 rounds of 0.15 s: longer than each 1 s timeout
        stats = fleet.stats()
    assert [e.status for e in results] == [Status.PASS] * 20, [e.detail for e in results]
    assert stats["peak_per_port"][str(fleet.ports[0])] == 2


async def test_a_redirect_to_another_origin_takes_and_gives_back_a_slot_there(make_ctx):
    # One slot per origin: had the hop to origin 1 kept its slot, the second check would wait for it
    # until its timeout.
    with Fleet(ports=2, delay=0.01) as fleet:
        hop = quote(fleet.url(1, "/health"), safe="")
        checks = [make_check(**health(i, fleet.url(0, f"/redirect?to={hop}"), follow_redirects=True))
                  for i in range(5)]
        ctx = make_ctx()
        ctx.admission = Admission(Limits(per_origin=1, overall=10))
        results = await take_all(checks, ctx)
        stats = fleet.stats()
    assert [e.status for e in results] == [Status.PASS] * 5, [e.detail for e in results]
    assert stats["served"] == 10 and max(stats["peak_per_port"].values()) == 1


async def test_an_origin_with_no_check_left_has_its_connections_closed(make_ctx):
    # Three quick checks on origin 0 while one hangs on origin 1 (until its 2 s timeout): once the
    # quick ones are done, origin 0's connections are closed, not kept until the whole run ends.
    with Fleet(ports=3, delay=0) as fleet:
        checks = [make_check(**health(i, fleet.url(0, f"/health/{i}"))) for i in range(3)]
        checks.append(make_check(kind="http", id="hang", url=fleet.url(1, "/hang"), timeout="2s"))
        quick_done = asyncio.Event()
        seen: list[str] = []

        def landed(ev: Any) -> None:
            seen.append(ev.check_id)
            if len(seen) == 3:
                quick_done.set()

        run = asyncio.create_task(take_all(checks, make_ctx(), on_result=landed))
        await asyncio.wait_for(quick_done.wait(), 5)
        for _ in range(30):  # the server sees the close a moment later
            stats = await asyncio.to_thread(fleet.stats, 2)
            if stats["open_per_port"].get(str(fleet.ports[0])) == 0:
                break
            await asyncio.sleep(0.05)
        still_running, landed_then = not run.done(), list(seen)
        results = await run
    assert still_running and "hang" not in landed_then
    assert stats["open_per_port"][str(fleet.ports[0])] == 0, stats
    assert stats["open_per_port"][str(fleet.ports[1])] == 1, stats  # the hanging check's connection
    assert [e.status for e in results] == [Status.PASS] * 3 + [Status.FAIL]


# -- the lane: first come, first served; cancelled waiters lose no place -----------------------


async def test_lane_lets_waiters_in_first_come_first_served():
    lane = Lane(2)
    order: list[int] = []

    async def hold(i: int) -> None:
        await lane.acquire()
        order.append(i)
        await asyncio.sleep(0.01)
        lane.release()

    await asyncio.gather(*(hold(i) for i in range(10)))
    assert order == list(range(10))
    assert lane.held == 0 and lane.waiting == 0


async def test_a_cancelled_waiter_gives_its_place_back():
    lane = Lane(1)
    await lane.acquire()
    waiter = asyncio.create_task(lane.acquire())
    await asyncio.sleep(0)
    lane.release()  # the place is handed to the waiter...
    waiter.cancel()  # ...which is cancelled before it runs: the place must come back
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert lane.held == 0
    await asyncio.wait_for(lane.acquire(), 1)  # free again


async def test_cancelled_waiters_are_skipped():
    lane = Lane(1)
    await lane.acquire()
    gone = [asyncio.create_task(lane.acquire()) for _ in range(3)]
    last = asyncio.create_task(lane.acquire())
    await asyncio.sleep(0)
    for t in gone:
        t.cancel()
    await asyncio.gather(*gone, return_exceptions=True)
    lane.release()
    await asyncio.wait_for(last, 1)
    assert lane.held == 1 and lane.waiting == 0


# -- the real command line on a terminal ------------------------------------------------------


def _run_on_a_terminal(argv: list[str], cwd: Path, env: dict[str, str], limit_s: float = 120) -> tuple[int, str]:
    """Run argv with a pseudo-terminal as stdout and stderr (as a person would); all it wrote, and its exit."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    out = bytearray()
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed its side
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return proc.returncode, out.decode(errors="replace")


def test_cockpit_check_on_a_terminal_shows_progress_and_the_right_verdict(tmp_path: Path):
    n = 300
    repo = make_repo(tmp_path / "git").path
    with Fleet(ports=1, delay=0.05) as fleet:
        lines = ['[release]\nname = "many"\nrepo = "."\nmain = "origin/main"\n', '[log]\npath = "log.sqlite"\n',
                 '[environments.prod]\nurl = "http://127.0.0.1"\n']
        for i in range(n - 1):
            lines.append(f'[[checks]]\nid = "c{i:04d}"\nkind = "http"\nurl = "{fleet.url(0, f"/health/{i}")}"\n'
                         'json = { status = "ok" }\ntimeout = "2s"\n')
        lines.append(f'[[checks]]\nid = "down"\nkind = "http"\nurl = "{fleet.url(0, "/status/503")}"\n')
        (repo / "runbook.toml").write_text("\n".join(lines))
        env = {**os.environ, "COCKPIT_ACTOR": "ci-bot", "PYTHONPATH": str(ROOT), "TERM": "xterm"}
        code, out = _run_on_a_terminal([sys.executable, "-m", "cockpit", "check", "--config", "runbook.toml"],
                                       repo, env)
    counts = [int(m) for m in re.findall(rf"taking evidence (\d+)/{n}", out)]
    assert counts[:1] == [1] and counts[-1:] == [n], out[-2000:]  # N/M as each result lands
    assert counts == sorted(counts)
    assert code == 1, out[-2000:]
    assert "NO-GO — 1 reason:" in out and "down" in out.split("NO-GO", 1)[1], out[-2000:]
    assert len(re.findall(r"✔ PASS", out)) == n - 1, out[-2000:]
    assert "timed out" not in out
