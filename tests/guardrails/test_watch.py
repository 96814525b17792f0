"""Watched windows against a real Prometheus scraping the demo target: with the screen closed and only
`cockpit watch` running, a breach turns the stage's flags off by itself; a baseline that was already high
is not a breach; a watcher killed mid-window is replaced without acting twice; two watchers act once.

The target's error rate follows its flag once a fault is injected (cockpit/demo/metrics.py); Prometheus
scrapes it every second, so a rate over 3 s moves within a few seconds of the flip.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.open import open_log
from cockpit.core.release import StageStatus
from cockpit.core.watch import Watcher, watch_actor
from tests.guardrails.drill import ANN, FLAG, at_layer_1, guard_layer_1
from tests.helpers.demo import Demo, demo  # noqa: F401  (fixture)

KILL_RAIL = 'interval = "1s"\nwindow = "2m"\nfailure_limit = 3\nconsecutive = true\non_breach = "kill"\n'


def watch(demo: Demo, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cockpit", "watch", "--config", str(demo.scratch.runbook_path),
                             "--env", "production", "--as", "ops", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))


def kinds_of(log: object, release_id: str, prefix: str = "") -> list[object]:
    return [e for e in log.entries(LogFilter(release_id=release_id)) if e.kind.startswith(prefix)]  # type: ignore[attr-defined]


def wait_until(what: str, cond: Callable[[], bool], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def scrape(demo: Demo, prometheus_server: object) -> str:
    job = prometheus_server.scrape(f"127.0.0.1:{demo.target.port}")  # type: ignore[attr-defined]
    # A rate needs two scrapes inside its range: wait until the drill's query has a number.
    prometheus_server.wait_for(f'sum(rate(http_requests_total{{job="{job}"}}[3s]))',  # type: ignore[attr-defined]
                               lambda r: bool(r) and float(r[0]["value"][1]) > 0)
    return job


def test_the_breach_drill_turns_the_stage_off_with_only_the_watcher_running(demo: Demo, prometheus_server) -> None:
    job = scrape(demo, prometheus_server)
    runbook = guard_layer_1(demo, prometheus_server.url, job, rail=KILL_RAIL)
    log = open_log(runbook)
    session = asyncio.run(at_layer_1(runbook, log))
    demo.target.set_fault(FLAG, error_rate=0.4)  # bites once the flag is on
    asyncio.run(session.start_stage("layer-1"))
    assert demo.target.flags.get(FLAG) is True
    session.close()  # the screen is closed: from here only the watcher acts

    w = watch(demo)
    out, _ = w.communicate(timeout=90)
    assert w.returncode == 0, out
    assert "BREACHED" in out and f"flags off: {FLAG}" in out

    assert demo.target.flags.get(FLAG) is False  # off by itself
    entries = kinds_of(log, session.release_id)
    by_kind = [e.kind for e in entries]
    opened = next(e for e in entries if e.kind == kinds.GUARDRAIL_OPENED)
    assert opened.payload["baseline"] == 0, opened.payload  # sampled before the flip: no errors yet
    assert by_kind.index(kinds.GUARDRAIL_OPENED) < next(i for i, e in enumerate(entries)
                                                        if e.kind == kinds.FLAG_FLIPPED and e.payload["after"])
    failing = [e.payload["failures"] for e in entries if e.kind == kinds.GUARDRAIL_CHANGED]
    assert failing[-3:] == [1, 2, 3]
    breach = next(e for e in entries if e.kind == kinds.GUARDRAIL_BREACHED)
    assert breach.payload["action"] == "kill" and breach.payload["failures"] == 3
    assert [v for v in breach.payload["samples"] if v is not None][-1] > 0.05
    off = [e for e in entries if e.kind == kinds.FLAG_FLIPPED and e.payload["after"] is False]
    assert len(off) == 1 and off[0].actor.name.startswith("ops (watch ")
    assert "guardrail drill-errors breached (automatic)" in off[0].payload["reason"]
    assert by_kind.count(kinds.STAGE_KILLED) == 1 and by_kind.count(kinds.GUARDRAIL_ACTED) == 1
    assert by_kind.index(kinds.GUARDRAIL_BREACHED) < by_kind.index(kinds.STAGE_KILLED) < by_kind.index(kinds.GUARDRAIL_ACTED)
    assert kinds.WATCH_STARTED in by_kind and by_kind[-1] == kinds.WATCH_STOPPED
    assert log.verify().ok


def test_a_baseline_already_high_is_no_breach_but_a_rise_is(demo: Demo, prometheus_server) -> None:
    job = scrape(demo, prometheus_server)
    rail = 'interval = "1s"\nwindow = "8s"\nfailure_limit = 3\nmax_increase = 0.1\non_breach = "alert"\n'
    runbook = guard_layer_1(demo, prometheus_server.url, job, rail=rail, expect="{}")
    demo.target.set_fault(None, error_rate=0.3)  # high before the flip, and it stays there
    prometheus_server.wait_for(f'sum(rate(http_requests_total{{job="{job}",code="500"}}[3s])) / '
                               f'sum(rate(http_requests_total{{job="{job}"}}[3s]))',
                               lambda r: bool(r) and abs(float(r[0]["value"][1]) - 0.3) < 0.02)
    log = open_log(runbook)
    session = asyncio.run(at_layer_1(runbook, log))

    async def drive() -> None:
        await session.start_stage("layer-1")
        await Watcher(session, watch_actor(ANN), sleep=asyncio.sleep).run()

    asyncio.run(drive())
    w = session.windows("layer-1")[0]
    assert abs(w.baseline - 0.3) < 0.05 and w.closed == "clean" and w.breached_at is None
    assert session.stable_refusal("layer-1") is None  # clean: the stage may be marked stable

    # The same stage started again; now the rate rises once the flag is on: a relative breach.
    asyncio.run(session.kill_stage("layer-1", "again, with a fault that follows the flag"))
    demo.target.set_fault(FLAG, error_rate=0.6)
    asyncio.run(drive())
    w = session.windows("layer-1")[0]
    assert w.breached_at is not None and "above the baseline" in w.breach_detail
    assert demo.target.flags.get(FLAG) is True  # alert only: nothing flipped by itself
    acted = [e for e in kinds_of(log, session.release_id, "guardrail.acted")]
    assert acted[-1].payload["action"] == "alert" and acted[-1].payload["flags_off"] == []
    assert "breached" in (session.stable_refusal("layer-1") or "")


def test_a_watcher_killed_mid_window_is_replaced_without_acting_twice(demo: Demo, prometheus_server) -> None:
    job = scrape(demo, prometheus_server)
    rail = 'interval = "1s"\nwindow = "3m"\nfailure_limit = 6\nconsecutive = true\non_breach = "kill"\n'
    runbook = guard_layer_1(demo, prometheus_server.url, job, rail=rail)
    log = open_log(runbook)
    session = asyncio.run(at_layer_1(runbook, log))
    demo.target.set_fault(FLAG, error_rate=0.5)
    asyncio.run(session.start_stage("layer-1"))
    session.close()

    first = watch(demo)
    changed = lambda: [e.payload["failures"] for e in kinds_of(log, session.release_id, "guardrail.changed")]  # noqa: E731
    wait_until("two failed samples", lambda: changed()[-1:] >= [2] if changed() else False)
    first.send_signal(signal.SIGKILL)  # no goodbye: its lease runs on until it lapses
    first.wait(timeout=10)
    seen = changed()[-1]
    assert seen < 6

    second, third = watch(demo), watch(demo)  # two at once: one takes the lease, the other waits
    outs = [p.communicate(timeout=120)[0] for p in (second, third)]
    assert [p.returncode for p in (second, third)].count(0) >= 1, outs
    entries = kinds_of(log, session.release_id)
    counts = [e.payload["failures"] for e in entries if e.kind == kinds.GUARDRAIL_CHANGED]
    assert counts == sorted(counts) and counts[-1] == 6  # resumed from the log's count, not from 0
    assert [e.kind for e in entries].count(kinds.GUARDRAIL_BREACHED) == 1
    assert [e.kind for e in entries].count(kinds.GUARDRAIL_ACTED) == 1
    assert len([e for e in entries if e.kind == kinds.FLAG_FLIPPED and e.payload["after"] is False]) == 1
    assert session.state.stage("layer-1").status is StageStatus.STARTED  # this session's view: stale
    assert asyncio.run(session.refresh()).stage("layer-1").status is StageStatus.KILLED
    assert log.verify().ok
