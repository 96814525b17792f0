"""Benchmark of the auditor's log browser on PostgreSQL: 10,000 vs 1,000,000 entries, one run.

    python3 tests/benchmarks/bench_browser.py                 # 10k and 1M
    python3 tests/benchmarks/bench_browser.py --sizes 10000 200000

For each size a scratch database is bulk-loaded with a sealed, verifiable chain (the COPY loader
of tests/benchmarks/bench_log.py: releases of 1,000 entries). Each measurement runs in a fresh subprocess, so imports
are cold and peak memory (ru_maxrss) belongs to that run alone:

- bare: a bare Textual app, from process start to its first paint (the baseline);
- browser: from process start to the first page of the log painted (store opened read-only,
  first keyset page fetched, rendered), then page-down at the start, middle and end of the log
  (each press until the new page is painted and settled), a filter by release (until its first
  page is painted, and until its count is known), and the process's peak RSS.

Goals (issue 7): first page within 0.5 s of a bare app's startup; page-down < 50 ms; peak memory
< 150 MB; none growing with the log's size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

T_START = time.perf_counter()  # before any import that the measured process pays for

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SIZE = (120, 40)
PRESSES = 12


# -- loading -------------------------------------------------------------------------------------


def load(dsn: str, n: int) -> float:
    """Bulk-load n sealed entries (a valid chain) with the log benchmark's COPY loader; seconds taken."""
    import psycopg

    from cockpit.core.log.postgres import PostgresLog
    from tests.benchmarks.bench_log import load as copy_sealed_chain

    PostgresLog(dsn).close()  # the schema (migrations), then COPY straight into it
    seconds, _ = copy_sealed_chain(dsn, n)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE log_entries")  # what a long-lived table looks like (visibility map)
    return seconds


def middle_release(n: int) -> str:
    from tests.benchmarks.bench_log import PER_RELEASE

    return f"shop-{(n // 2) // PER_RELEASE:05d}"


# -- measured subprocesses -----------------------------------------------------------------------


def peak_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec from the (large) parent.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure_bare() -> dict[str, float]:
    import asyncio

    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("hello")
            yield Footer()

    async def run() -> float:
        async with Bare().run_test(size=SIZE) as pilot:
            await pilot.pause()
            return time.perf_counter() - T_START

    return {"startup_s": asyncio.run(run()), "peak_mb": peak_mb()}


def measure_browser(dsn: str, release: str) -> dict:
    import asyncio

    from cockpit.core.log.base import LogFilter
    from cockpit.ui.browser import Source, open_store
    from cockpit.ui.browser_app import make_browser_app
    from cockpit.ui.browser.window import Fetch, fetch_rows
    from tests.browser.pilot import settle, view_of

    out: dict = {}

    async def wait_painted(pilot, view) -> None:  # noqa: ANN001
        # Until the first page is in, then one more idle cycle: the refresh that paints it.
        while not view.loaded:
            await pilot.pause()
        await pilot.pause()

    async def page_downs(pilot, view) -> dict[str, list[float]]:  # noqa: ANN001
        """Each page-down three ways: the event loop's own cost (the action, then rendering every
        visible line, as the compositor does); end to end through Pilot (key in → page painted and
        settled); and Pilot's overhead for a key that does nothing, to subtract."""
        loop, e2e, noop = [], [], []
        for i in range(PRESSES):
            if i % 2:
                t = time.perf_counter()
                view.action_page(1)
                for y in range(view._height()):
                    view.render_line(y)
                loop.append((time.perf_counter() - t) * 1000)
            else:
                t = time.perf_counter()
                await pilot.press("pagedown")
            while view.highlighted is None or view.window.pending is not None:
                await pilot.pause()
            if not i % 2:
                e2e.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await pilot.press("f12")  # bound to nothing
            noop.append((time.perf_counter() - t) * 1000)
        fetch = []
        for _ in range(5):  # the keyset query behind a page not yet in the window (runs in a worker)
            f = Fetch(view.window.query, "forward", view.window.entries[-1].seq, limit=view.window.page_size)
            t = time.perf_counter()
            fetch_rows(view.reader, f)
            fetch.append((time.perf_counter() - t) * 1000)
        return {"loop": loop, "e2e": e2e, "noop": noop, "fetch": fetch}

    async def run() -> None:
        t = time.perf_counter()
        reader = open_store(dsn=dsn)
        out["open_s"] = time.perf_counter() - t
        counter = open_store(dsn=dsn)  # what open_source does: counts on their own connection

        def close() -> None:
            reader.close()
            counter.close()

        app = make_browser_app(Source(reader, "bench", lambda: 0, close, counter))
        async with app.run_test(size=SIZE) as pilot:
            view = view_of(pilot)
            await wait_painted(pilot, view)
            out["first_page_s"] = time.perf_counter() - T_START
            await settle(pilot)
            out["count_known_s"] = time.perf_counter() - T_START
            total = view.window.total
            out["total"] = total
            out["pgdn_start_ms"] = await page_downs(pilot, view)
            for name, seq in (("pgdn_middle_ms", total // 2), ("pgdn_end_ms", 3 * SIZE[1] + PRESSES * SIZE[1])):
                view.seek(seq)  # newest first: a small seq is near the end of the list
                await settle(pilot)
                out[name] = await page_downs(pilot, view)
            await pilot.press("end")
            await settle(pilot)
            out["end_is_oldest"] = float(view.highlighted.seq == 1)
            t = time.perf_counter()
            pilot.app.screen.set_filter(LogFilter(release_id=release))
            await wait_painted(pilot, view)
            out["filter_release_first_page_ms"] = (time.perf_counter() - t) * 1000
            await settle(pilot)
            out["filter_release_counted_ms"] = (time.perf_counter() - t) * 1000
            out["filter_release_rows"] = view.window.total
            t = time.perf_counter()
            pilot.app.screen.set_filter(LogFilter(text="health-3"))
            await wait_painted(pilot, view)
            out["filter_text_first_page_ms"] = (time.perf_counter() - t) * 1000
            await settle(pilot)
            out["filter_text_counted_ms"] = (time.perf_counter() - t) * 1000
            out["window_entries"] = len(view.window.entries)

    asyncio.run(run())
    out["peak_mb"] = peak_mb()
    return out


def child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"measurement {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------------


def med(v: list[float]) -> float:
    s = sorted(v)
    return s[len(s) // 2]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    p.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement (medians)")
    p.add_argument("--measure-bare", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--measure", nargs=2, metavar=("DSN", "RELEASE"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.measure_bare:
        print(json.dumps(measure_bare()))
        return 0
    if a.measure:
        print(json.dumps(measure_browser(*a.measure)))
        return 0

    from tests.helpers.pg import create_database, drop_database

    results: dict[int, dict] = {}
    bare: list[dict] = []
    for n in a.sizes:
        dsn = create_database("cockpit_bench")
        try:
            print(f"loading {n:,} entries…", file=sys.stderr, flush=True)
            secs = load(dsn, n)
            print(f"  loaded in {secs:.1f}s", file=sys.stderr, flush=True)
            runs = []
            for _ in range(a.repeat):  # interleaved with the bare app: same machine load for both
                bare.append(child(["--measure-bare"]))
                runs.append(child(["--measure", dsn, middle_release(n)]))
            results[n] = {k: (med([r[k] for r in runs]) if isinstance(runs[0][k], (int, float)) else
                              {kk: sum((r[k][kk] for r in runs), []) for kk in runs[0][k]})
                          for k in runs[0]}
            results[n]["first_page_runs"] = [r["first_page_s"] for r in runs]
            results[n]["load_s"] = secs
        finally:
            drop_database(dsn)
    base = med([b["startup_s"] for b in bare])
    base_mb = med([b["peak_mb"] for b in bare])
    cols = a.sizes
    rows: list[tuple[str, list[str], str]] = [
        ("entries in the log", [f"{results[n]['total']:,.0f}" for n in cols], ""),
        ("bare Textual app: start → first paint", [f"{base * 1000:.0f} ms" for _ in cols], ""),
        ("browser: start → first page painted", [f"{results[n]['first_page_s'] * 1000:.0f} ms" for n in cols], ""),
        ("  … minus the bare app's startup", [f"{(results[n]['first_page_s'] - base) * 1000:+.0f} ms" for n in cols],
         "< 500 ms"),
        ("  … of which psycopg import + connect", [f"{results[n]['open_s'] * 1000:.0f} ms" for n in cols], ""),
        ("  … count known (virtual height)", [f"{results[n]['count_known_s'] * 1000:.0f} ms" for n in cols], ""),
    ]
    for key, label in (("pgdn_start_ms", "start"), ("pgdn_middle_ms", "middle"), ("pgdn_end_ms", "near the end")):
        d = {n: results[n][key] for n in cols}
        rows += [
            (f"page-down, {label}: event-loop cost (med/max)",
             [f"{med(d[n]['loop']):.1f} / {max(d[n]['loop']):.1f} ms" for n in cols], "< 50 ms"),
            ("  key → painted via Pilot, minus a no-op key",
             [f"{med(d[n]['e2e']) - med(d[n]['noop']):.1f} ms" for n in cols], "< 50 ms"),
            ("  (Pilot: pagedown / no-op key, medians)",
             [f"{med(d[n]['e2e']):.0f} / {med(d[n]['noop']):.0f} ms" for n in cols], ""),
            ("  keyset query of the next page (worker)",
             [f"{med(d[n]['fetch']):.1f} ms" for n in cols], ""),
        ]
    rows += [
        ("filter by release: first page painted", [f"{results[n]['filter_release_first_page_ms']:.0f} ms" for n in cols],
         ""),
        ("filter by release: counted", [f"{results[n]['filter_release_counted_ms']:.0f} ms "
                                        f"({results[n]['filter_release_rows']:.0f} rows)" for n in cols], ""),
        ("filter by free text: first page (full scan)", [f"{results[n]['filter_text_first_page_ms']:.0f} ms"
                                                         for n in cols], "(info)"),
        ("filter by free text: counted (full scan)", [f"{results[n]['filter_text_counted_ms']:.0f} ms" for n in cols],
         "(info)"),
        ("entries held by the window", [f"{results[n]['window_entries']:.0f}" for n in cols], ""),
        ("peak RSS of the process", [f"{results[n]['peak_mb']:.0f} MB" for n in cols], "< 150 MB"),
        ("  (bare Textual app's peak RSS)", [f"{base_mb:.0f} MB" for _ in cols], ""),
        ("End lands on seq 1", ["yes" if results[n]["end_is_oldest"] else "NO" for n in cols], ""),
        ("bulk load (COPY, sealed chain)", [f"{results[n]['load_s']:.0f} s" for n in cols], ""),
    ]
    w0 = max(len(r[0]) for r in rows)
    w = [max(len(f"{c:,} entries"), *(len(r[1][i]) for r in rows)) for i, c in enumerate(cols)]
    print(f"{'':<{w0}}  " + "  ".join(f"{f'{c:,} entries':>{w[i]}}" for i, c in enumerate(cols)) + "  goal")
    for label, vals, goal in rows:
        print(f"{label:<{w0}}  " + "  ".join(f"{v:>{w[i]}}" for i, v in enumerate(vals)) + f"  {goal}")
    print("\nfirst page per run (s): " + "; ".join(
        f"{n:,}: " + ", ".join(f"{x:.2f}" for x in results[n]["first_page_runs"]) for n in cols)
        + " · bare: " + ", ".join(f"{b['startup_s']:.2f}" for b in bare))
    print(f"\n(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; each column measured in fresh processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
