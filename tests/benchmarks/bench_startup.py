"""Startup: time to the first painted readiness screen, next to a bare Textual app, in one run.

Each sample is a fresh interpreter running the real command line (`cockpit run --config F`,
imports included), headless. The child writes the monotonic clock (system-wide on Linux) the
moment its first screen has painted; the sample is that moment minus the moment the parent
started the process, so interpreter teardown is counted for neither. Samples of the two
alternate, so machine noise hits both alike. Also measured: until the release is opened from the
log and its state is on screen (runbook validated, log read, git asked).

    python3 tests/benchmarks/bench_startup.py [--runs 11]
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

# Writes to fd 1 directly: a running Textual app captures sys.stdout.
MARK = "import os, time\ndef mark():\n    os.write(1, f'{time.monotonic()}\\n'.encode())\n"

BARE = MARK + """
from textual.app import App
from textual.widgets import Static, Footer
class Bare(App):
    def compose(self):
        yield Static("hello")
        yield Footer()
async def pilot(p):
    def painted():
        mark()
        p.app.exit()
    p.app.call_after_refresh(painted)  # runs once the first screen has painted
Bare().run(headless=True, auto_pilot=pilot)
"""

# The cockpit's own command line; only App.run is wrapped, to run headless and say when it painted.
COCKPIT = MARK + """
import sys
from textual.app import App
wait_open = sys.argv[2] == "opened"
_run = App.run
def run(self, *args, **kw):
    async def pilot(p):
        while wait_open and p.app.session is None and not (p.app.open_error or p.app.startup_error):
            await p.pause(0.005)
        assert not wait_open or p.app.session is not None, p.app.open_error or p.app.startup_error
        def painted():
            mark()
            p.app.exit()
        p.app.call_after_refresh(painted)
    return _run(self, headless=True, auto_pilot=pilot)
App.run = run
from cockpit.cli import main
sys.exit(main(["run", "--config", sys.argv[1], "--refresh", "0"]))
"""


def sample(code: str, *args: str) -> float:
    # Bytecode is written and reused, as for an installed cockpit (any value of the variable,
    # even "0", would stop Python writing it, and every module would be compiled every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"COCKPIT_ACTOR": "bench"}
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, text=True).stdout
    return float(out.split()[-1]) - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from cockpit.demo.scratch import make_scratch
    from cockpit.demo.target import DemoTarget

    with tempfile.TemporaryDirectory() as tmp, DemoTarget() as target:
        scratch = make_scratch(Path(tmp) / "demo", target)
        cfg = str(scratch.runbook_path)
        # One warm-up of each (bytecode caches, page cache, the release created in the log), not counted.
        sample(BARE), sample(COCKPIT, cfg, "opened")
        bare, painted, opened = [], [], []
        for _ in range(args.runs):
            bare.append(sample(BARE))
            painted.append(sample(COCKPIT, cfg, "painted"))
            opened.append(sample(COCKPIT, cfg, "opened"))
    b, p, o = (statistics.median(x) for x in (bare, painted, opened))
    print(f"runs: {args.runs} each, interleaved; median time from process start to first paint, headless")
    print(f"  bare Textual app, first paint               {b * 1000:7.0f} ms")
    print(f"  cockpit run: readiness screen, first paint  {p * 1000:7.0f} ms   ratio {p / b:.2f}x (goal <= 1.3x)")
    print(f"  cockpit run: release opened, state painted  {o * 1000:7.0f} ms   ratio {o / b:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
