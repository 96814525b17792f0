"""Kill switch over 20 flags on a flag API that takes 100 ms per request: concurrent vs sequential.

    python3 tests/benchmarks/bench_killswitch.py [--flags 20] [--latency 0.1] [--runs 3]

What is measured (the demo target's §5 flag API on loopback, in its own process so that the server's
threads do not share the benchmark's GIL, each request delayed by --latency):
- one flip      : flip() of one flag = GET (read before) + PUT + GET (read back), i.e. 3 sequential
                  round trips, ≈ 3 × latency. This is "one flip's round trip" in the goal.
- kill switch   : kill_switch() over N flags, all flips at once, each logged to a real SQLite log. Its
                  phases run in lockstep: one GET /flags (every state before), N PUTs at once, one
                  GET /flags (every state after) — N + 2 requests, 3 round trips, not 3 × N requests.
- kill switch, no log: the same without the log, to show what the N serialised appends cost.
- sequential    : the same N flips one after another (what a script looping over flags does).
Goal: kill switch ≤ 2 × one flip. The bare PUT round trip (≈ 1 × latency) is printed too, so the
ratio against the single request is visible as well.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cockpit.core.flags.flip import flip, kill_switch  # noqa: E402
from cockpit.core.flags.http import HttpFlagBackend  # noqa: E402
from cockpit.core.log.entry import Actor  # noqa: E402
from cockpit.core.log.sqlite import SqliteLog  # noqa: E402
from cockpit.core.session import ReleaseSession  # noqa: E402
from cockpit.demo.target import DemoTarget  # noqa: E402

ACTOR = Actor("bench", "bench", "localhost")


def _serve(flags: list[str], latency: float, conn, stop) -> None:  # runs in the child process
    target = DemoTarget()
    for f in flags:
        target.flags.add(f, True)
    target.flags.delay = latency
    with target:
        conn.send((target.flags_url, target.token))
        stop.wait()


async def _all_on(backend: HttpFlagBackend, flags: list[str]) -> None:
    await asyncio.gather(*(backend.set(f, True, reason="bench reset", actor="bench") for f in flags))


async def _measure(args: argparse.Namespace, url: str, token: str, flags: list[str],
                   log: SqliteLog) -> dict[str, list[float]]:
    # Each flip is recorded as in the product, through a release's own writer (record() needs no runbook).
    release = ReleaseSession.writer(None, log, "bench", ACTOR, "bench")  # type: ignore[arg-type]
    kw = dict(reason="benchmark", actor=ACTOR, record=release.record, backoff=0.05)
    backend = HttpFlagBackend(url, token, timeout=10)
    times: dict[str, list[float]] = {"put": [], "one": [], "kill": [], "kill_nolog": [], "seq": []}
    try:
        await _all_on(backend, flags)  # also opens the pool's connections, as a long-running cockpit has them
        for _ in range(args.runs):
            t0 = time.perf_counter()
            await backend.set(flags[0], False, reason="bench", actor="bench")
            times["put"].append(time.perf_counter() - t0)
            await _all_on(backend, flags)

            t0 = time.perf_counter()
            r = await flip(backend, flags[0], False, **kw)
            times["one"].append(time.perf_counter() - t0)
            assert r.ok, r
            await _all_on(backend, flags)

            t0 = time.perf_counter()
            result = await kill_switch(backend, flags, **kw)
            times["kill"].append(time.perf_counter() - t0)
            assert result.ok, result.summary()
            await _all_on(backend, flags)

            t0 = time.perf_counter()
            result = await kill_switch(backend, flags, **{**kw, "record": None})
            times["kill_nolog"].append(time.perf_counter() - t0)
            assert result.ok, result.summary()
            await _all_on(backend, flags)

            t0 = time.perf_counter()
            for f in flags:
                r = await flip(backend, f, False, **kw)
                assert r.ok, r
            times["seq"].append(time.perf_counter() - t0)
            await _all_on(backend, flags)
    finally:
        await backend.aclose()
    return times


def _append_ms(log: SqliteLog) -> float:
    from cockpit.core.log.entry import NewEntry

    t0 = time.perf_counter()
    for _ in range(10):
        log.append(NewEntry("bench", "bench", "note", {"text": "x"}, ACTOR))
    return (time.perf_counter() - t0) / 10 * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flags", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every flag API request")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    flags = [f"BENCH_FLAG_{i:02d}" for i in range(args.flags)]
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(flags, args.latency, child, stop), daemon=True)
    server.start()
    try:
        if not parent.poll(30):
            print("the demo target did not start", file=sys.stderr)
            return 2
        url, token = parent.recv()
        with tempfile.TemporaryDirectory() as tmp:
            log = SqliteLog(Path(tmp) / "log.sqlite")
            try:
                times = asyncio.run(_measure(args, url, token, flags, log))
                append_ms = _append_ms(log)
            finally:
                log.close()
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.kill()
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["kill"] / med["one"]
    load = os.getloadavg()[0]
    print(f"kill switch benchmark: {args.flags} flags, {args.latency * 1000:.0f} ms per request, median of "
          f"{args.runs} runs, {os.cpu_count()} cores, load average {load:.1f}")
    print(f"  one PUT round trip                      {med['put'] * 1000:7.0f} ms")
    print(f"  one flip (GET + PUT + GET, logged)      {med['one'] * 1000:7.0f} ms   <- 'one flip's round trip'")
    print(f"  kill switch, {args.flags} flips at once, logged  {med['kill'] * 1000:7.0f} ms   "
          f"= {ratio:.2f} x one flip ({med['kill'] / med['put']:.2f} x one PUT)")
    print(f"  kill switch, {args.flags} flips, no log      {med['kill_nolog'] * 1000:7.0f} ms   "
          f"= {med['kill_nolog'] / med['one']:.2f} x one flip")
    print(f"  sequential loop, {args.flags} flips, logged   {med['seq'] * 1000:7.0f} ms   "
          f"= {med['seq'] / med['one']:.2f} x one flip")
    print(f"  speed-up of the kill switch over the loop   {med['seq'] / med['kill']:5.1f} x")
    print(f"  one durable SQLite log append            {append_ms:7.1f} ms (the {args.flags} entries are "
          "serialised: appends are one chain)")
    goal = ratio <= 2.0
    print(f"goal kill switch <= 2 x one flip: {'MET' if goal else 'MISSED'} ({ratio:.2f} x)")
    return 0 if goal else 1


if __name__ == "__main__":
    raise SystemExit(main())
