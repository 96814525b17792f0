"""Benchmark: evidence from 50 health endpoints that each answer after 300 ms.

    python3 tests/benchmarks/bench_http_checks.py [--endpoints 50] [--delay 0.3] [--rounds 3]

In one run, repeated: take_all over 50 http checks (all at once, one shared client it makes
itself) against a sequential loop of take() (given one shared client too, so the comparison
is fair). The physical limit is the slowest endpoint; the goal is concurrent <= 1.3 x that.

The endpoints are 50 real HTTP servers (asyncio, one port each) in a child process: real
services are remote, so they must not share this process's GIL with the client being measured.
Exits 1 when the median concurrent round misses the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GOAL = 1.3
BODY = b'{"status": "ok", "db": {"ok": true}}'


# -- the endpoints (child process) -------------------------------------------------------


async def serve(endpoints: int, delay: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one connection may carry several requests
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512) for _ in range(endpoints)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


# -- the measurement ---------------------------------------------------------------------


async def measure(ports: list[int], delay: float, rounds: int) -> int:
    import httpx
    from pydantic import TypeAdapter

    from cockpit.runbook.config import CheckConfig, Runbook
    from cockpit.core.checks import take, take_all
    from cockpit.core.checks.context import CheckContext, Target

    rb = Runbook.model_validate({"release": {"name": "bench"}, "log": {"path": "x.sqlite"}, "environments": {"prod": {}}})
    adapter = TypeAdapter(CheckConfig)
    checks = [
        adapter.validate_python({
            "id": f"health-{i}", "kind": "http", "url": f"http://127.0.0.1:{port}/health",
            "json": {"status": "ok", "db.ok": True}, "timeout": "10s",
        })
        for i, port in enumerate(ports)
    ]

    def ctx() -> CheckContext:
        return CheckContext(runbook=rb, environment="prod", target=Target("origin/main", "0" * 40))

    # The first take_all in a process also pays one-time costs (importing the HTTP stack,
    # first connections): reported on its own, not mixed into the repeated rounds.
    start = time.perf_counter()
    cold_results = await take_all(checks, ctx())
    cold = time.perf_counter() - start
    assert all(e.ok for e in cold_results), [e.detail for e in cold_results if not e.ok]
    print(f"cold:    concurrent {cold * 1000:6.0f} ms   (first take_all in this process)", flush=True)

    conc_times, seq_times, slowest, cpu = [], [], [], []
    for r in range(rounds):
        start, cpu_start = time.perf_counter(), time.process_time()
        results = await take_all(checks, ctx())  # makes and closes its own client, as `cockpit check` does
        conc_times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)  # this process only: the endpoints run in the child
        assert all(e.ok for e in results), [e.detail for e in results if not e.ok]

        seq_ctx = ctx()
        async with httpx.AsyncClient() as client:
            seq_ctx.http = client
            start = time.perf_counter()
            seq = [await take(c, seq_ctx) for c in checks]
            seq_times.append(time.perf_counter() - start)
        assert all(e.ok for e in seq), [e.detail for e in seq if not e.ok]
        # The physical limit: the slowest endpoint, timed one request at a time.
        slowest.append(max(e.data["latency_ms"] for e in seq) / 1000)
        print(f"round {r + 1}: concurrent {conc_times[-1] * 1000:6.0f} ms   sequential {seq_times[-1] * 1000:6.0f} ms   "
              f"slowest endpoint {slowest[-1] * 1000:4.0f} ms", flush=True)

    n = len(ports)
    conc, seq_t, slow = statistics.median(conc_times), statistics.median(seq_times), max(slowest)
    print()
    print(f"{n} http checks, each endpoint answering after {delay * 1000:.0f} ms; median of {rounds} rounds")
    print(f"  slowest endpoint (alone)      {slow * 1000:7.0f} ms")
    print(f"  take_all, concurrent          {conc * 1000:7.0f} ms   (best {min(conc_times) * 1000:.0f}, worst {max(conc_times) * 1000:.0f}; cold {cold * 1000:.0f})")
    print(f"  ratio to slowest endpoint     {conc / slow:7.2f}      (goal <= {GOAL})")
    print(f"  ratio to {delay * 1000:.0f} ms                {conc / delay:7.2f}      (goal <= {GOAL})")
    print(f"  client CPU per take_all       {statistics.median(cpu) * 1000:7.0f} ms   (what contention for the cores stretches)")
    print(f"  sequential loop of take()     {seq_t * 1000:7.0f} ms")
    print(f"  speed-up                      {seq_t / conc:7.1f} x")
    print(f"  load average                  {' '.join(f'{x:.2f}' for x in os.getloadavg())}   (cores: {os.cpu_count()})")
    ok = conc / slow <= GOAL
    print("  goal met" if ok else "  GOAL MISSED")
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=50)
    ap.add_argument("--delay", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        asyncio.run(serve(a.endpoints, a.delay))
        return 0
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--endpoints", str(a.endpoints), "--delay", str(a.delay)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            print("the endpoint servers did not start", file=sys.stderr)
            return 2
        return asyncio.run(measure(json.loads(line), a.delay, a.rounds))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
