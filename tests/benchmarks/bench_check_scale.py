"""Benchmark: `cockpit check` with 100, 1,000 and 10,000 http checks, next to `curl -Z` over the same URLs.

    python3 tests/benchmarks/bench_check_scale.py [--sizes 100,1000,10000] [--origins 50] [--delay 0.05]

For each size, the checks all on one loopback origin, then spread over `--origins` origins (ports).
The cockpit side is the real command line, `python3 -m cockpit check --config F --json`, on a
generated runbook (a real git repository, a SQLite log); the other is
`curl -Z --parallel --parallel-max 100` fetching the same URLs. Each is a fresh process, measured
from the parent: wall time, CPU (user+sys of the child and what it waited for, from wait4) and
peak RSS. The two alternate, so noise hits both alike; the median of `--runs` is kept per size
(10,000 runs once).

The endpoints are an asyncio HTTP server in their own processes (tests/checks/fleet.py; several
processes share the ports through SO_REUSEPORT), answering after `--delay`. One check of each
runbook asks a path that answers 503: the verdict must be NO-GO for exactly that reason, and every
other check must pass (a check that timed out while queued would show up here). curl's status
codes are checked the same way. Exits 1 when a verdict is wrong or the ratio at 1,000 or 10,000
misses the goal (cockpit wall <= 3 x curl wall).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.checks.fleet import Fleet  # noqa: E402 - after the path is set
from tests.helpers.gitrepos import make_repo  # noqa: E402

GOAL = 3.0
GOAL_SIZES = (1000, 10000)
DOWN_ID = "down"
LIMIT_S = 600  # no single command may take longer than this


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mb: float
    code: int
    out: str


def measure(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run argv to its end; wall clock from the parent, CPU and peak RSS from wait4."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = start + LIMIT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        text = out.read().decode(errors="replace")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, text)


def urls_for(fleet: Fleet, n: int, origins: int) -> list[str]:
    urls = [fleet.url(i % origins, f"/health/{i}") for i in range(n - 1)]
    return urls + [fleet.url((n - 1) % origins, "/status/503")]


def write_runbook(repo: Path, name: str, urls: list[str]) -> Path:
    lines = ['[release]\nname = "scale"\nrepo = "."\nmain = "origin/main"\n',
             f'[log]\npath = "{name}.sqlite"\n', '[environments.prod]\nurl = "http://127.0.0.1"\n']
    for i, url in enumerate(urls):
        cid = DOWN_ID if i == len(urls) - 1 else f"c{i:05d}"
        lines.append(f'[[checks]]\nid = "{cid}"\nkind = "http"\nurl = "{url}"\njson = {{ status = "ok" }}\ntimeout = "20s"\n')
    path = repo / f"{name}.toml"
    path.write_text("\n".join(lines))
    return path


def verdict_problem(run: Run, n: int) -> str | None:
    """None when the verdict is right: NO-GO (exit 1) for the one down check only, all else passing."""
    try:
        doc = json.loads(run.out[run.out.index("{"):])
    except ValueError:
        return f"no JSON verdict (exit {run.code}): {run.out[-300:]!r}"
    checks = {c["id"]: c for c in doc["checks"]}
    failed = [c for c in checks.values() if c["status"] != "pass"]
    if run.code != 1 or doc["decision"].upper().replace("_", "-") != "NO-GO":
        return f"exit {run.code}, decision {doc['decision']}: expected NO-GO (exit 1)"
    if len(checks) != n:
        return f"{len(checks)} checks in the verdict, expected {n}"
    if [c["id"] for c in failed] != [DOWN_ID]:
        details = "; ".join(f"{c['id']}: {c['detail']}" for c in failed[:3])
        return f"{len(failed)} checks not passing, expected only {DOWN_ID!r}: {details}"
    if len(doc["reasons"]) != 1 or DOWN_ID not in doc["reasons"][0]:
        return f"reasons {doc['reasons'][:3]}: expected exactly the one for {DOWN_ID!r}"
    return None


def curl_problem(run: Run, n: int) -> str | None:
    codes = run.out.split()
    want = ["200"] * (n - 1) + ["503"]
    if sorted(codes) != sorted(want):
        return f"curl: {codes.count('200')} x 200, {codes.count('503')} x 503 of {len(codes)} (exit {run.code})"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--origins", type=int, default=50)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=3, help="runs per size below 10,000 (median kept)")
    ap.add_argument("--server-procs", type=int, default=2)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    curl = shutil.which("curl")
    if curl is None:
        print("curl is required: apt-get install curl", file=sys.stderr)
        return 2
    version = subprocess.run([curl, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    env = {**os.environ, "COCKPIT_ACTOR": "bench", "PYTHONPATH": str(ROOT)}

    rows, problems = [], []
    with tempfile.TemporaryDirectory() as tmp, Fleet(ports=a.origins, delay=a.delay, procs=a.server_procs) as fleet:
        repo = make_repo(Path(tmp) / "git").path
        print(f"endpoints: {a.origins} loopback ports, {a.server_procs} server processes, answering after "
              f"{a.delay * 1000:.0f} ms; {version}; cores: {os.cpu_count()}", flush=True)
        for n in sizes:
            for origins in (1, a.origins):
                name = f"n{n}-o{origins}"
                urls = urls_for(fleet, n, origins)
                runbook = write_runbook(repo, name, urls)
                config = Path(tmp) / f"{name}.curl"
                config.write_text("".join(f'url = "{u}"\noutput = "/dev/null"\n' for u in urls))
                curl_argv = [curl, "-Z", "--parallel", "--parallel-max", "100", "--no-progress-meter",
                             "-w", "%{http_code}\\n", "--config", str(config)]
                cockpit_argv = [sys.executable, "-m", "cockpit", "check", "--config", str(runbook), "--json"]
                ours, theirs = [], []
                for _ in range(1 if n >= 10000 else a.runs):
                    theirs.append(measure(curl_argv, repo))
                    ours.append(measure(cockpit_argv, repo, env))
                    for problem in (verdict_problem(ours[-1], n), curl_problem(theirs[-1], n)):
                        if problem:
                            problems.append(f"{name}: {problem}")
                            print(f"  {name}: {problem}", flush=True)
                mid = lambda runs, attr: statistics.median(getattr(r, attr) for r in runs)  # noqa: E731
                row = (n, origins, mid(ours, "wall"), mid(ours, "cpu"), max(r.rss_mb for r in ours),
                       mid(theirs, "wall"), mid(theirs, "cpu"), max(r.rss_mb for r in theirs),
                       all(verdict_problem(r, n) is None for r in ours))
                rows.append(row)
                print(f"  {name}: cockpit {row[2]:.2f}s wall {row[3]:.2f}s cpu {row[4]:.0f} MB; "
                      f"curl {row[5]:.2f}s wall {row[6]:.2f}s cpu {row[7]:.0f} MB; "
                      f"{row[2] / row[5]:.2f}x", flush=True)

    print()
    print(f"`cockpit check` (whole command: start-up, runbook, git, checks, log, verdict) vs curl -Z --parallel-max 100;")
    print(f"endpoints answer after {a.delay * 1000:.0f} ms; median of {a.runs} runs below 10,000 (one at 10,000)")
    print(f"{'checks':>7} {'origins':>7} | {'cockpit wall':>12} {'cpu':>7} {'rss':>6} | {'curl wall':>9} {'cpu':>6} {'rss':>5} | "
          f"{'wall ratio':>10} {'verdict':>8}")
    failed_goal = False
    for n, origins, w, c, r, cw, cc, cr, right in rows:
        ratio = w / cw
        goal = ""
        if n in GOAL_SIZES:
            goal = "  goal met" if ratio <= GOAL else "  GOAL MISSED"
            failed_goal |= ratio > GOAL
        print(f"{n:>7,} {origins:>7} | {w:>11.2f}s {c:>6.2f}s {r:>4.0f}MB | {cw:>8.2f}s {cc:>5.2f}s {cr:>3.0f}MB | "
              f"{ratio:>9.2f}x {'right' if right else 'WRONG':>8}{goal}")
    print(f"goal: cockpit wall <= {GOAL:g} x curl at {' and '.join(f'{s:,}' for s in GOAL_SIZES)}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if problems:
        print("WRONG VERDICTS:\n  " + "\n  ".join(problems))
    return 1 if problems or failed_goal else 0


if __name__ == "__main__":
    sys.exit(main())
