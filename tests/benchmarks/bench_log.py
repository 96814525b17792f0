"""Release log at scale, in PostgreSQL: append latency, verify vs raw sha256, keyset page time.

    python tests/benchmarks/bench_log.py [--entries 1000000] [--small 10000]

For each size a fresh database is bulk-loaded with pre-sealed entries (one COPY), then measured:
- append latency p50 / p99 of real appends (PostgresLog.append: one call of log_entries_append; bench_append.py
  puts them next to a plain INSERT + commit);
- verify time (PostgresLog.verify) next to plain sha256 over the same bytes (prev_hash || canonical JSON of
  every entry: the physical limit of any verifier), and their ratio;
- one page of 100 by keyset at the start, middle and end of the log, unfiltered and filtered.
Page times are printed side by side for both sizes: they must not grow with the log.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cockpit.core.log.base import LogFilter  # noqa: E402
from cockpit.core.log.chain import canonical_fields  # noqa: E402
from cockpit.core.log.entry import GENESIS, Actor, NewEntry, format_at  # noqa: E402
from cockpit.core.log.postgres import PostgresLog  # noqa: E402
from cockpit.core.log.sqlstore import COLUMNS  # noqa: E402
from tests.helpers.pg import create_database, drop_database  # noqa: E402

KINDS = ["session.opened", "evidence.taken", "item.ticked", "signoff.recorded", "decision.go", "flag.flipped",
         "flag.flipped", "stage.started", "deploy.started", "deploy.finished", "note", "evidence.taken"]
ACTORS = [Actor(f"user{i}", f"user{i}", f"host-{i}", f"user{i}@example.com").to_json() for i in range(5)]
PER_RELEASE = 1000


def payload(i: int, kind: str) -> dict:
    if kind == "evidence.taken":
        return {"evidence": [{"check_id": f"health-{i % 7}", "status": "pass", "duration_ms": 12.5 + i % 90,
                              "detail": "HTTP 200 in 41 ms", "taken_at": "2026-03-01T10:00:00.000000Z"}]}
    if kind == "flag.flipped":
        return {"flag": f"LAYER_{i % 5}_ENABLED", "before": False, "after": True, "reason": "layer rollout",
                "backend": "http", "ok": True}
    return {"text": f"entry {i}: operator note with some words in it", "target_sha": f"{i:040x}"}


def generate(n: int, t0: datetime):
    """Yield (row for COPY, bytes hashed) of a sealed chain of n entries."""
    prev = GENESIS
    sha = hashlib.sha256
    for seq in range(1, n + 1):
        kind = KINDS[seq % len(KINDS)]
        at = format_at(t0 + timedelta(milliseconds=seq * 50))
        release = f"shop-{(seq - 1) // PER_RELEASE:05d}"
        env = "prod" if (seq // PER_RELEASE) % 3 else "staging"
        actor = ACTORS[seq % len(ACTORS)]
        p = payload(seq, kind)
        hashed = prev.encode("ascii") + canonical_fields(seq, at, release, env, actor, kind, p)
        h = sha(hashed).hexdigest()
        yield (seq, at, release, env, json.dumps(actor), kind, json.dumps(p), prev, h, f"bulk-{seq}",
               hashed[64:].decode("utf-8")), hashed
        prev = h


def load(dsn: str, n: int) -> tuple[float, list[bytes]]:
    import psycopg

    hashed_bytes: list[bytes] = []
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY log_entries ({COLUMNS}) FROM STDIN") as copy:
            for row, hashed in generate(n, datetime(2025, 1, 1, tzinfo=UTC)):
                copy.write_row(row)
                hashed_bytes.append(hashed)
        conn.commit()
        cur.execute("ANALYZE log_entries")
    return time.perf_counter() - started, hashed_bytes


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(fn, repeat: int = 21) -> float:  # type: ignore[no-untyped-def]
    """Median wall time in ms."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(n: int, appends: int) -> dict[str, float]:
    dsn = create_database("cockpit_bench")
    try:
        log = PostgresLog(dsn)
        load_s, hashed = load(dsn, n)
        r: dict[str, float] = {"load_s": load_s, "bytes_mb": sum(map(len, hashed)) / 1e6}

        actor = Actor("bench", "bench", "bench-host")
        lat = []
        for i in range(appends):
            t = time.perf_counter()
            log.append(NewEntry(f"shop-{n // PER_RELEASE:05d}", "prod", "note", {"text": f"append {i}"}, actor))
            lat.append((time.perf_counter() - t) * 1000)
        r["append_p50_ms"], r["append_p99_ms"] = pct(lat, 0.5), pct(lat, 0.99)

        sha = hashlib.sha256
        t = time.perf_counter()
        for b in hashed:
            sha(b).hexdigest()
        r["sha256_s"] = time.perf_counter() - t
        del hashed
        t = time.perf_counter()
        result = log.verify()
        r["verify_s"] = time.perf_counter() - t
        assert result.ok and result.checked == n + appends, result
        r["verify_ratio"] = r["verify_s"] / r["sha256_s"]

        mid = n // 2
        mid_release = f"shop-{mid // PER_RELEASE:05d}"
        r["page_start_ms"] = timed(lambda: log.page(limit=100))
        r["page_middle_ms"] = timed(lambda: log.page(after_seq=mid, limit=100))
        r["page_end_ms"] = timed(lambda: log.page(limit=100, newest_first=True))
        r["page_release_mid_ms"] = timed(lambda: log.page(LogFilter(release_id=mid_release), after_seq=mid, limit=100))
        r["page_kind_prefix_mid_ms"] = timed(lambda: log.page(LogFilter(kind="flag."), after_seq=mid, limit=100))
        r["page_actor_mid_ms"] = timed(lambda: log.page(LogFilter(actor="user3"), after_seq=mid, limit=100))
        r["page_env_end_ms"] = timed(lambda: log.page(LogFilter(environment="staging"), limit=100, newest_first=True))
        log.close()
        return r
    finally:
        drop_database(dsn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--appends", type=int, default=300)
    args = ap.parse_args()
    sizes = [args.small, args.entries]
    results = {}
    for n in sizes:
        print(f"loading and measuring {n:,} entries ...", file=sys.stderr, flush=True)
        results[n] = measure(n, args.appends)
    rows = [("bulk load (COPY) s", "load_s"), ("hashed bytes MB", "bytes_mb"),
            ("append p50 ms", "append_p50_ms"), ("append p99 ms", "append_p99_ms"),
            ("sha256 only s", "sha256_s"), ("verify s", "verify_s"), ("verify / sha256", "verify_ratio"),
            ("page 100 start ms", "page_start_ms"), ("page 100 middle ms", "page_middle_ms"),
            ("page 100 end ms", "page_end_ms"), ("page release=mid ms", "page_release_mid_ms"),
            ("page kind='flag.' mid ms", "page_kind_prefix_mid_ms"), ("page actor mid ms", "page_actor_mid_ms"),
            ("page env newest ms", "page_env_end_ms")]
    head = f"{'PostgreSQL release log':<26}" + "".join(f"{n:>14,}" for n in sizes) + f"{'ratio':>10}"
    print(head)
    print("-" * len(head))
    for label, key in rows:
        a, b = results[sizes[0]][key], results[sizes[1]][key]
        print(f"{label:<26}" + "".join(f"{results[n][key]:>14.3f}" for n in sizes) + f"{b / a if a else 0:>10.2f}")


if __name__ == "__main__":
    main()
