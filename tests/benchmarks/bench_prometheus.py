"""The real Prometheus the tests and `cockpit demo` run: what it costs, next to what it is compared with.

- start: spawning `prometheus` until /-/ready answers, and stopping it (cockpit/demo/prometheus.py);
- a new target: scrape() writing its file_sd file until Prometheus reports it up (tests/helpers/prometheus.py),
  then a change in the target (its error rate) until a 3s rate shows it;
- `cockpit demo --check-only` wall time with the real Prometheus started and with the stand-in
  (PATH without the binary), alternating so machine noise hits both alike.

    python3 tests/benchmarks/bench_prometheus.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cockpit.demo.prometheus import PrometheusServer, scrape_config  # noqa: E402
from tests.helpers.metrics_target import MetricsTarget  # noqa: E402
from tests.helpers.prometheus import start  # noqa: E402


def med(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.3f} s (min {min(xs):.3f}, max {max(xs):.3f}, n={len(xs)})"


def bench_start(runs: int) -> None:
    ready, stop = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            s = PrometheusServer.launch(scrape_config("bench", ["127.0.0.1:1"]), Path(d))
            ready.append(s.started_in_s)
            t = time.monotonic()
            s.stop()
            stop.append(time.monotonic() - t)
    print(f"prometheus spawn -> ready   {med(ready)}")
    print(f"prometheus stop             {med(stop)}")


def bench_targets(runs: int) -> None:
    up, seen = [], []
    with tempfile.TemporaryDirectory() as d:
        prom = start(Path(d))
        try:
            for i in range(runs):
                with MetricsTarget() as t:
                    t0 = time.monotonic()
                    job = prom.scrape(t.hostport, job=f"bench-{i}")
                    up.append(time.monotonic() - t0)
                    t.set_error_rate(0.5)
                    t1 = time.monotonic()
                    prom.wait_for(f'sum(rate(http_requests_total{{job="{job}",code="500"}}[3s]))',
                                  lambda r: bool(r) and float(r[0]["value"][1]) > 0)
                    seen.append(time.monotonic() - t1)
                    prom.forget(job)
        finally:
            prom.stop()
    print(f"scrape(): file written -> target up      {med(up)}   (service discovery hands on every 5 s)")
    print(f"error rate set -> visible in a 3s rate  {med(seen)}   (scrape interval 1 s)")


def path_without_prometheus(tmp: Path) -> str:
    for d in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(d):
            for name in os.listdir(d):
                src, dst = os.path.join(d, name), tmp / name
                if name != "prometheus" and not dst.exists() and os.path.isfile(src) and os.access(src, os.X_OK):
                    dst.symlink_to(src)
    return str(tmp)


def bench_demo(runs: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        without = path_without_prometheus(Path(d))
        real, stand_in = [], []
        for _ in range(runs):
            for path, out in ((os.environ["PATH"], real), (without, stand_in)):
                t = time.monotonic()
                r = subprocess.run([sys.executable, "-m", "cockpit", "demo", "--check-only"], cwd=ROOT,
                                   env={**os.environ, "PATH": path}, capture_output=True, text=True, timeout=120)
                out.append(time.monotonic() - t)
                assert r.returncode == 0, r.stdout + r.stderr
    print(f"cockpit demo --check-only, real Prometheus  {med(real)}")
    print(f"cockpit demo --check-only, stand-in         {med(stand_in)}")
    print(f"ratio real / stand-in                       {statistics.median(real) / statistics.median(stand_in):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    n = ap.parse_args().runs
    bench_start(n)
    bench_targets(max(2, n // 2))
    bench_demo(n)


if __name__ == "__main__":
    main()
