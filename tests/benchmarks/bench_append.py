"""Append latency on PostgreSQL next to a plain INSERT + commit into a table of the same shape.

    python3 tests/benchmarks/bench_append.py [--appends 1000]

One fresh database, one connection each, the same server: the measurements are interleaved (an append,
then a plain insert, then an append by the shared path) so machine noise hits all three alike.
- plain: `INSERT INTO plain_entries ...` + `commit()` (psycopg, not autocommit), plain_entries being
  `CREATE TABLE (LIKE log_entries INCLUDING ALL)`: the same columns, keys and indexes, no triggers;
- append: PostgresLog.append — prepare, seal, and one call of log_entries_append (lock, idempotency by uid,
  head, insert, the NOTIFY trigger, commit): one round trip;
- shared path: the same append through SqlStore's transaction (advisory lock, uid check, head, insert,
  commit as separate statements), what guarded appends and lock entries still take, and every append
  took before.
PostgreSQL is COCKPIT_TEST_DSN's server, else a throwaway cluster (tests/helpers/pg.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cockpit.core.log.entry import Actor, NewEntry, seal  # noqa: E402
from cockpit.core.log.postgres import PostgresLog  # noqa: E402
from cockpit.core.log.sqlstore import COLUMNS  # noqa: E402
from tests.helpers.pg import create_database, drop_database  # noqa: E402

ACTOR = Actor("bench", "bench", "bench-host", "bench@example.com")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def entry(i: int) -> NewEntry:
    return NewEntry("shop-1", "prod", "note", {"text": f"append {i}: operator note with some words in it",
                                               "target_sha": f"{i:040x}"}, ACTOR)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--appends", type=int, default=1000)
    args = ap.parse_args()
    import psycopg

    dsn = create_database("cockpit_bench_append")
    try:
        log = PostgresLog(dsn)
        shared = PostgresLog(dsn)
        shared._append_in_one = lambda new: None  # type: ignore[method-assign]  (the path before)
        plain = psycopg.connect(dsn)
        plain.execute("CREATE TABLE plain_entries (LIKE log_entries INCLUDING ALL)")
        plain.commit()
        marks = ", ".join(["%s"] * len(COLUMNS.split(",")))
        insert = f"INSERT INTO plain_entries ({COLUMNS}) VALUES ({marks})"
        times: dict[str, list[float]] = {"plain INSERT + commit": [], "append (one round trip)": [],
                                         "append (shared path)": []}
        for i in range(args.appends + 20):
            warm = i < 20  # connections, prepared statements, caches
            t = time.perf_counter()
            log.append(entry(i))
            a = time.perf_counter() - t
            row = log._insert_params(seal(entry(i), i + 1, "0" * 64))
            t = time.perf_counter()
            plain.execute(insert, row)
            plain.commit()
            b = time.perf_counter() - t
            t = time.perf_counter()
            shared.append(entry(i))
            c = time.perf_counter() - t
            if not warm:
                times["append (one round trip)"].append(a * 1000)
                times["plain INSERT + commit"].append(b * 1000)
                times["append (shared path)"].append(c * 1000)
        assert log.verify().ok
        plain.close()
        log.close()
        shared.close()
    finally:
        drop_database(dsn)
    base = times["plain INSERT + commit"]
    b50, b99 = pct(base, 0.5), pct(base, 0.99)
    head = f"{'PostgreSQL, ' + str(args.appends) + ' each':<28}{'p50 ms':>9}{'p99 ms':>9}{'p50 ×':>8}{'p99 ×':>8}"
    print(head)
    print("-" * len(head))
    for label, values in times.items():
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        print(f"{label:<28}{p50:>9.3f}{p99:>9.3f}{p50 / b50:>8.2f}{p99 / b99:>8.2f}")


if __name__ == "__main__":
    main()
