"""Watched windows: how fast a breach turns the flags off, and what a 72-hour window costs.

    python3 tests/benchmarks/bench_watch.py [--trials 5] [--interval 5] [--hours 72]

1. Breach → flags off. A real Prometheus (Debian's, scraping every 1 s) watches the demo target; layer-1
   is flipped with a guardrail (failure_limit 1, on_breach kill) and `cockpit watch` runs as its own
   process. Then the target's 5xx share jumps. Measured, on one clock: from the first moment Prometheus
   answers the guardrail's query with a value over the limit (polled every 20 ms by this script) to the
   moment the target reports the flag off. The goal is at most one interval plus one round trip; the
   round trip is measured too (one query + one flag PUT, median of 20). Printed per trial and as the
   ratio median / (interval + round trip).
2. A 72-hour window at 30-second samples, on a compressed clock: the watcher runs in this process with a
   clock that jumps to each next sample (8,640 real queries to the real Prometheus), the target's rate
   flapping over the limit for a few minutes twice a day. Printed: entries written to the log (goal:
   bounded by the changes and the hourly summaries, not by the samples) and this process's RSS at hour 1,
   24, 48, 72 (goal: flat).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cockpit.core import kinds  # noqa: E402
from cockpit.core.evidence import utcnow  # noqa: E402
from cockpit.core.log.base import LogFilter  # noqa: E402
from cockpit.core.log.entry import Actor  # noqa: E402
from cockpit.core.log.open import open_log  # noqa: E402
from cockpit.core.session import ReleaseSession  # noqa: E402
from cockpit.core.watch import Watcher, watch_actor  # noqa: E402
from cockpit.demo.scratch import make_scratch  # noqa: E402
from cockpit.demo.target import DemoTarget  # noqa: E402
from tests.guardrails.drill import FLAG, guard_layer_1  # noqa: E402
from tests.helpers.demo import Demo  # noqa: E402
from tests.helpers.prometheus import start as start_prometheus  # noqa: E402

ANN = Actor("Ann", "ann", "bench")


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def query_of(job: str) -> str:
    return (f'sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[3s])) / '
            f'sum(rate(http_requests_total{{job="{job}"}}[3s]))')


async def to_layer_1(runbook, log, clock=utcnow) -> ReleaseSession:  # type: ignore[no-untyped-def]
    s = await ReleaseSession.open(runbook, log, "production", ANN, clock=clock)
    await s.sign_off("Ann", "Bob", "v1.0.0")
    await s.tick("overlap-tested", "bench")
    await s.take_evidence()
    await s.go(s.target.short)
    await s.start_stage("layer-0")
    await s.mark_stable("layer-0", "bench")
    return s


def scraped_release(where: Path, target: DemoTarget, prom, rail: str, clock=utcnow):  # type: ignore[no-untyped-def]
    """The demo release at layer-1, guarded by `rail`, its target scraped by `prom` (data there already)."""
    os.environ["COCKPIT_SECRET_DEMO_FLAGS"] = target.token
    scratch = make_scratch(where, target)
    job = prom.scrape(f"127.0.0.1:{target.port}")
    prom.wait_for(f'sum(rate(http_requests_total{{job="{job}"}}[3s]))', lambda r: bool(r) and float(r[0]["value"][1]) > 0)
    runbook = guard_layer_1(Demo(target, scratch, None), prom.url, job, rail=rail)  # type: ignore[arg-type]
    log = open_log(runbook)
    return scratch, job, log, asyncio.run(to_layer_1(runbook, log, clock=clock))


def breach_latency(tmp: Path, prom, trials: int, interval: float) -> None:  # type: ignore[no-untyped-def]
    with DemoTarget() as target:
        rail = f'interval = "{interval:g}s"\nwindow = "1h"\nfailure_limit = 1\non_breach = "kill"\n'
        scratch, job, log, session = scraped_release(tmp / "latency", target, prom, rail)
        q = query_of(job)
        client = httpx.Client(timeout=5)
        # The round trip a breach costs on top of the wait for the next sample: one query, one flag PUT.
        rtts = []
        for _ in range(20):
            t0 = time.perf_counter()
            client.get(f"{prom.url}/api/v1/query", params={"query": q})
            client.put(f"{target.flags_url}/flags/BENCH_RTT", json={"enabled": False, "reason": "rtt", "actor": "bench"},
                       headers={"Authorization": f"Bearer {target.token}"})
            rtts.append(time.perf_counter() - t0)
        rtt = statistics.median(rtts)
        results = []
        for i in range(trials):
            target.clear_faults()
            prom.wait_for(q, lambda r: bool(r) and float(r[0]["value"][1]) < 0.01)
            if i:
                asyncio.run(session.refresh())
            asyncio.run(session.start_stage("layer-1"))
            watcher = subprocess.Popen([sys.executable, "-m", "cockpit", "watch", "--config", str(scratch.runbook_path),
                                        "--env", "production", "--as", "ops", "-q"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # Let the watcher take its lease and sample the clean window a couple of times.
            time.sleep(max(2.0, 2 * interval))
            target.set_fault(None, error_rate=0.5)
            visible = None
            while True:
                now = time.perf_counter()
                if visible is None:
                    r = client.get(f"{prom.url}/api/v1/query", params={"query": q}).json()["data"]["result"]
                    if r and float(r[0]["value"][1]) > 0.05:
                        visible = now
                if target.flags.get(FLAG) is False:
                    off = now
                    break
                if now - (visible or now) > 10 * interval + 30:
                    raise SystemExit("the watcher did not turn the flag off")
                time.sleep(0.02)
            watcher.communicate(timeout=60)
            assert visible is not None
            results.append(off - visible)
            print(f"  trial {i + 1}: breach visible → flag off {1000 * (off - visible):7.0f} ms")
        budget = interval + rtt
        med = statistics.median(results)
        print(f"breach → flags off: median {med * 1000:.0f} ms, max {max(results) * 1000:.0f} ms; "
              f"one interval + one round trip = {interval * 1000:.0f} + {rtt * 1000:.0f} ms; "
              f"ratio median/budget {med / budget:.2f}, max/budget {max(results) / budget:.2f}")


def long_window(tmp: Path, prom, hours: int) -> None:  # type: ignore[no-untyped-def]
    with DemoTarget() as target:
        rail = f'interval = "30s"\nwindow = "{hours}h"\nfailure_limit = 20\nconsecutive = true\non_breach = "alert"\n'
        fake = [utcnow()]
        _, _, log, session = scraped_release(tmp / "long", target, prom, rail, clock=lambda: fake[0])
        start = fake[0]
        before = len(list(log.entries(LogFilter(release_id=session.release_id))))
        marks: dict[int, float] = {}
        flaps = {(12, 0), (12, 5), (36, 0), (36, 5), (60, 0), (60, 5)}  # hour, minute: a few minutes over the limit

        async def sleep(seconds: float) -> None:
            fake[0] += timedelta(seconds=seconds)
            elapsed = fake[0] - start
            h, m = int(elapsed.total_seconds() // 3600), int(elapsed.total_seconds() % 3600 // 60)
            if (h, m) in flaps:
                target.set_fault(None, error_rate=0.3 if (h, m) in {(12, 0), (36, 0), (60, 0)} else 0.0)
                if m == 5:
                    target.clear_faults()
                await asyncio.sleep(3.5)  # real seconds for Prometheus' 3 s rate to see it
            for mark in (1, 24, 48, hours):
                if h >= mark and mark not in marks:
                    marks[mark] = rss_mb()

        async def run() -> int:
            await session.start_stage("layer-1")
            w = Watcher(session, watch_actor(ANN), sleep=sleep)
            await w.run()
            return w.session.windows("layer-1")[0].sample_count

        t0 = time.perf_counter()
        samples = asyncio.run(run())
        took = time.perf_counter() - t0
        entries = list(log.entries(LogFilter(release_id=session.release_id)))[before:]
        by_kind: dict[str, int] = {}
        for e in entries:
            by_kind[e.kind] = by_kind.get(e.kind, 0) + 1
        print(f"{hours} h window at 30 s ({samples} samples, {took:.0f} s real): {len(entries)} entries written "
              f"({', '.join(f'{k} {n}' for k, n in sorted(by_kind.items()))}); entries per sample "
              f"{len(entries) / max(samples, 1):.3f}")
        print("RSS: " + ", ".join(f"hour {h}: {mb:.1f} MB" for h, mb in sorted(marks.items())))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--hours", type=int, default=72)
    ap.add_argument("--only", choices=["latency", "long"], default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        prom = start_prometheus(tmp / "prometheus")
        try:
            if args.only in (None, "latency"):
                breach_latency(tmp, prom, args.trials, args.interval)
            if args.only in (None, "long"):
                long_window(tmp, prom, args.hours)
        finally:
            prom.stop()


if __name__ == "__main__":
    main()
