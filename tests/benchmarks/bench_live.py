"""Live across terminals: from an entry appended by process B to its paint in cockpit A, SQLite and PostgreSQL.

    python3 tests/benchmarks/bench_live.py [--samples 50] [--store sqlite|postgres|both]

On the demo release (its log on SQLite, or on a throwaway PostgreSQL database via COCKPIT_LOG_DSN),
process B — one Python process kept alive, fed over stdin — appends notes to the release and prints
time.time() right after each append commits. Measured from that instant (same machine, same clock):
- follower alone : a bare thread in this process waiting on follower_for(log), no app running — the floor
                   (LISTEN/NOTIFY on PostgreSQL, PRAGMA data_version probed every 50 ms on SQLite);
- A's follower   : cockpit A (Textual, headless, 120x40) running; its follower thread wakes;
- A folded it    : ReleaseSession.catch_up has read the note and release_changed is called;
- A painted it   : after view.publish() and the notification, the screen has refreshed (call_after_refresh);
                   "of which fold → paint" is that last step alone, per sample.
Samples are spaced by a random pause (so they do not fall in step with the SQLite probe); the first few
are warm-up and dropped. Notifications are cleared after each sample: at one note every ~0.2 s they would
otherwise pile up in a way no operator's screen does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import cockpit.core.log.follow as follow  # noqa: E402
from cockpit.core import kinds  # noqa: E402
from cockpit.core.log.entry import Actor, Entry  # noqa: E402
from cockpit.core.log.open import DSN_ENV, open_log  # noqa: E402
from cockpit.demo.scratch import make_scratch  # noqa: E402
from cockpit.demo.target import DemoTarget  # noqa: E402
from cockpit.runbook.config import Runbook, load_runbook  # noqa: E402
from cockpit.ui.app import CockpitApp, make_app  # noqa: E402
from tests.helpers.pg import create_database, drop_database  # noqa: E402
from tests.ui.fixtures import workers_done  # noqa: E402

ANN = Actor("Ann", "ann", "terminal-a")
WARMUP = 3
follower_for = follow.follower_for
"""The real one: in_cockpit swaps follow.follower_for for a recording wrapper around it."""
PAINT_TIMEOUT = 5.0
B_SCRIPT = r"""
import sys, time
from pathlib import Path
from cockpit.core.log.entry import Actor, NewEntry
from cockpit.core.log.open import open_log
from cockpit.runbook.config import load_runbook

log = open_log(load_runbook(Path(sys.argv[1])))
bob = Actor("Bob", "bob", "terminal-b")
print("ready", flush=True)
for line in sys.stdin:
    release, env, text = line.rstrip("\n").split("\t")
    log.append(NewEntry(release, env, "note", {"text": text}, bob))
    print(repr(time.time()), flush=True)
"""


class ProcessB:
    """The other terminal: appends one note per line it is sent, answers with the commit's wall time."""

    def __init__(self, runbook_path: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", B_SCRIPT, str(runbook_path)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in, self._out = self.proc.stdin, self.proc.stdout

    def ready(self) -> None:
        line = self._out.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"process B did not start (said {line!r}, exit {self.proc.poll()})")

    def send(self, release: str, env: str, text: str) -> None:
        self._in.write(f"{release}\t{env}\t{text}\n")
        self._in.flush()

    def committed(self) -> float:
        line = self._out.readline()
        if not line:
            raise RuntimeError(f"process B ended (exit {self.proc.poll()})")
        return float(line)

    def close(self) -> None:
        self._in.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Wakes:
    """Wall times at which a follower said "changed" (its thread appends; the benchmark reads)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._cond = threading.Condition()

    def add(self) -> None:
        with self._cond:
            self.times.append(time.time())
            self._cond.notify_all()

    def first_after(self, t: float, timeout: float = PAINT_TIMEOUT) -> float | None:
        with self._cond:
            self._cond.wait_for(lambda: any(w >= t for w in self.times), timeout)
            return next((w for w in self.times if w >= t), None)


class Recording:
    """A follower that notes when each of its waits says "changed"."""

    def __init__(self, inner: follow.Follower, wakes: Wakes):
        self.inner, self.wakes = inner, wakes

    def wait(self, timeout: float) -> bool:
        changed = self.inner.wait(timeout)
        if changed:
            self.wakes.add()
        return changed

    def close(self) -> None:
        self.inner.close()


@dataclass
class Pending:
    folded: float = 0.0
    painted: float = 0.0
    told: bool = False
    done: asyncio.Event | None = None


class Watch:
    """Wraps a cockpit's release_changed: notes when a note from elsewhere is folded in and when the
    screen shows it (the app stays the product's class, its CSS and all)."""

    def __init__(self, app: CockpitApp):
        self.app = app
        self.waiting: dict[str, Pending] = {}
        self._release_changed = app.release_changed
        app.release_changed = self.release_changed  # type: ignore[method-assign]

    def release_changed(self, news: list[Entry]) -> None:
        folded = time.time()
        self._release_changed(news)
        for e in news:
            p = self.waiting.get(e.payload.get("text", "")) if e.kind == kinds.NOTE else None
            if p is not None:
                p.folded = folded
                self.app.call_after_refresh(self._painted, p, e.payload["text"])

    def _painted(self, p: Pending, text: str) -> None:
        p.painted = time.time()
        # The notification is a message of its own: handled before this callback, after release_changed.
        p.told = any(n.message.startswith("Bob: ") and text in n.message for n in self.app._notifications)
        assert p.done is not None
        p.done.set()


def bare_follower(runbook: Runbook, b: ProcessB, samples: int) -> list[float]:
    """B's commit → follower.wait returning True, in a thread of this otherwise idle process."""
    log = open_log(runbook)
    wakes, stop = Wakes(), threading.Event()
    follower = follower_for(log)

    def run() -> None:
        try:
            while not stop.is_set():
                if follower.wait(0.5):
                    wakes.add()
        finally:
            follower.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        wakes.first_after(0.0)  # a StoreFollower's first wait only says it is in touch
        time.sleep(0.3)  # the inner follower has taken its first reading (data_version / LISTEN)
        out = []
        for i in range(samples + WARMUP):
            time.sleep(random.uniform(0.1, 0.3))
            sent = time.time()
            b.send("bench-baseline", "production", f"baseline {i}")
            committed = b.committed()
            woke = wakes.first_after(sent)
            if woke is None:
                raise RuntimeError(f"the bare follower missed baseline note {i}")
            if i >= WARMUP:
                out.append(woke - committed)
        return out
    finally:
        stop.set()
        thread.join(2)
        log.close()



async def in_cockpit(runbook: Runbook, b: ProcessB, samples: int) -> tuple[dict[str, list[float]], int]:
    """B's commit → A's follower wakes / A folds the note / A's screen has refreshed."""
    wakes = Wakes()
    follow.follower_for = lambda log: Recording(follower_for(log), wakes)  # read by the app's follow thread
    log = open_log(runbook)
    app = make_app(runbook, log, actor=ANN, refresh_every=None)
    watch = Watch(app)
    out: dict[str, list[float]] = {"woke": [], "folded": [], "painted": [], "refresh": []}
    untold = 0
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            opening = time.monotonic()  # the release opens after the first paint, then evidence is taken
            while app.session is None and app.open_error is None and time.monotonic() - opening < 30:
                await pilot.pause(0.05)
            session = app.session
            if session is None:
                raise RuntimeError(f"cockpit A did not open the release: {app.open_error}")
            for _ in range(3):  # the evidence take starts after the release's state is painted
                await pilot.pause(0.2)
                await workers_done(app)
            await pilot.pause(0.5)  # the follow thread is in its first wait
            for i in range(samples + WARMUP):
                await asyncio.sleep(random.uniform(0.1, 0.3))
                text = f"note {i} from B"
                p = watch.waiting[text] = Pending(done=asyncio.Event())
                sent = time.time()
                b.send(session.release_id, session.environment, text)
                committed = await asyncio.to_thread(b.committed)
                try:
                    await asyncio.wait_for(p.done.wait(), PAINT_TIMEOUT)
                except TimeoutError:
                    raise RuntimeError(f"cockpit A did not show {text!r} within {PAINT_TIMEOUT}s") from None
                woke = wakes.first_after(sent, 0.0)
                if i >= WARMUP:
                    out["woke"].append((woke or p.folded) - committed)
                    out["folded"].append(p.folded - committed)
                    out["painted"].append(p.painted - committed)
                    out["refresh"].append(p.painted - p.folded)
                    untold += not p.told
                app.clear_notifications()
    finally:
        follow.follower_for = follower_for
        log.close()
    return out, untold


def measure(store: str, tmp: Path, target: DemoTarget, samples: int) -> dict[str, Any]:
    dsn = create_database("cockpit_bench") if store == "postgres" else None
    if dsn:
        os.environ[DSN_ENV] = dsn  # overrides the runbook's [log], for A and for B alike
    else:
        os.environ.pop(DSN_ENV, None)
    try:
        scratch = make_scratch(tmp / store, target)
        runbook = load_runbook(scratch.runbook_path)
        b = ProcessB(scratch.runbook_path)
        try:
            b.ready()
            print(f"{store}: follower alone ...", file=sys.stderr, flush=True)
            base = bare_follower(runbook, b, samples)
            print(f"{store}: cockpit A ...", file=sys.stderr, flush=True)
            app, untold = asyncio.run(in_cockpit(runbook, b, samples))
        finally:
            b.close()
        return {"alone": base, **app, "untold": untold}
    finally:
        os.environ.pop(DSN_ENV, None)
        if dsn:
            drop_database(dsn)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=50, help="notes measured per store and per row")
    ap.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = ap.parse_args()
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    results: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    with DemoTarget() as target, tempfile.TemporaryDirectory() as tmp:
        os.environ["COCKPIT_SECRET_DEMO_FLAGS"] = target.token
        for store in stores:
            results[store] = measure(store, Path(tmp), target, args.samples)

    print(f"live benchmark: B appends a note, A shows it; ms from B's commit, {args.samples} samples per row, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, {time.monotonic() - started:.0f} s")
    rows = [("follower alone (bare thread)", "alone"), ("A's follower woke", "woke"),
            ("A folded it (release_changed)", "folded"), ("A painted it", "painted"),
            ("  of which fold → paint", "refresh")]
    head = f"{'':<32}" + "".join(f"{s:>26}" for s in stores)
    sub = f"{'':<32}" + f"{'median':>10}{'p95':>8}{'max':>8}" * len(stores)
    print(head)
    print(sub)
    print("-" * len(sub))
    for label, key in rows:
        line = f"{label:<32}"
        for s in stores:
            v = [x * 1000 for x in results[s][key]]
            line += f"{statistics.median(v):>10.1f}{pct(v, 0.95):>8.1f}{max(v):>8.1f}"
        print(line)
    line = f"{'A painted − follower alone':<32}"
    for s in stores:
        cost = statistics.median(results[s]["painted"]) - statistics.median(results[s]["alone"])
        line += f"{cost * 1000:>10.1f}{'':>16}"
    print(line)
    line = f"{'A painted / follower alone':<32}"
    for s in stores:
        floor = statistics.median(results[s]["alone"])
        # A near-zero floor (NOTIFY can arrive before B has read its clock) makes the ratio meaningless.
        ratio = f"{statistics.median(results[s]['painted']) / floor:.1f}x" if floor >= 0.001 else "n/a"
        line += f"{ratio:>10}{'':>16}"
    print(line)
    line = f"{'painted within 1 s':<32}"
    for s in stores:
        v = results[s]["painted"]
        line += f"{f'{sum(x < 1.0 for x in v)}/{len(v)}':>10}{'':>16}"
    print(line)
    for s in stores:
        if results[s]["untold"]:
            print(f"  {s}: {results[s]['untold']} notes painted without B's notification yet")
    if any(statistics.median(results[s]["alone"]) < 0.001 for s in stores):
        print("  n/a: the NOTIFY reaches a listener about when B's commit returns, so that floor is ~0 ms and "
              "A's cost is the difference, not a ratio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
