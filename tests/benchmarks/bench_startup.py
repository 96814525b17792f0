"""Startup: time to the first painted readiness screen, next to a bare Textual app, in one run.

Each sample is a fresh interpreter (imports included), run headless until the first screen has
painted, then exiting; samples of the two alternate so machine noise hits both alike.
Also measured: until the release is opened from the log (its state on screen).

    python3 tests/benchmarks/bench_startup.py [--runs 7]
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

BARE = """
from textual.app import App
from textual.widgets import Static, Footer
class Bare(App):
    def compose(self):
        yield Static("hello")
        yield Footer()
async def pilot(p):
    p.app.call_after_refresh(p.app.exit)  # exit as soon as the first screen has painted
Bare().run(headless=True, auto_pilot=pilot)
"""

COCKPIT = """
import sys
from cockpit.config import load_runbook
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.ui.app import make_app
runbook = load_runbook(sys.argv[1])
wait_open = sys.argv[2] == "opened"
async def pilot(p):
    if not wait_open:
        p.app.call_after_refresh(p.app.exit)  # exit as soon as the readiness screen has painted
        return
    while p.app.session is None and p.app.open_error is None:
        await p.pause(0.01)
    await p.pause()
    assert p.app.session is not None, p.app.open_error
    p.app.exit()
log = open_log(runbook)
make_app(runbook, log, actor=Actor("bench", "bench", "bench"), refresh_every=None,
         take_on_open=False).run(headless=True, auto_pilot=pilot)
log.close()
"""


def sample(code: str, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "0"})
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from cockpit.demo.scratch import make_scratch
    from cockpit.demo.target import DemoTarget

    with tempfile.TemporaryDirectory() as tmp, DemoTarget() as target:
        scratch = make_scratch(Path(tmp) / "demo", target)
        cfg = str(scratch.runbook_path)
        # One warm-up of each (bytecode caches, page cache), not counted.
        sample(BARE), sample(COCKPIT, cfg, "painted")
        bare, painted, opened = [], [], []
        for _ in range(args.runs):
            bare.append(sample(BARE))
            painted.append(sample(COCKPIT, cfg, "painted"))
            opened.append(sample(COCKPIT, cfg, "opened"))
    b, p, o = (statistics.median(x) for x in (bare, painted, opened))
    print(f"runs: {args.runs} each, interleaved; median wall time of a fresh process, headless")
    print(f"  bare Textual app, first paint          {b * 1000:7.0f} ms")
    print(f"  cockpit readiness screen, first paint  {p * 1000:7.0f} ms   ratio {p / b:.2f}x (goal <= 1.3x)")
    print(f"  cockpit release opened from the log    {o * 1000:7.0f} ms   ratio {o / b:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
