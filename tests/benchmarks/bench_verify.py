"""`cockpit log verify` next to reading the same columns with COPY and hashing them with sha256sum.

    python3 tests/benchmarks/bench_verify.py [--sizes 10000,100000,1000000] [--runs 3] [--no-sqlite] [--signing]

For each size a fresh PostgreSQL database gets a sealed chain in one COPY (hashes computed here), then,
side by side and alternating so machine noise hits both alike, the median wall time of:
- `cockpit log verify --config F`, a real process (start-up, runbook, connection, walk, head);
- `psql DSN -c "COPY (<the rows verify reads>) TO STDOUT" | sha256sum`: the disk-and-wire floor of the
  same columns (postgres.verify_query: the hashed text and the queryable columns it is checked against);
- for reference, the same pipeline over the hashed columns alone (seq, prev_hash, hash, body).
The same chain is then written to a SQLite file and verified there, next to `sqlite3 F "<its rows>" |
sha256sum`. PostgreSQL is COCKPIT_TEST_DSN's server, else a throwaway cluster (tests/helpers/pg.py).
The cockpit runs as installed (bytecode cached: PYTHONDONTWRITEBYTECODE is dropped for it); `python3 -c pass`
is timed too, the interpreter's own start on this machine.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cockpit.core.log.entry import GENESIS, format_at  # noqa: E402
from cockpit.core.log.postgres import PostgresLog, verify_query  # noqa: E402
from cockpit.core.log.sqlite import SqliteLog  # noqa: E402
from cockpit.core.log.sqlite import verify_query as sqlite_verify_query  # noqa: E402
from tests.helpers.pg import create_database, drop_database  # noqa: E402

KINDS = ["session.opened", "evidence.taken", "item.ticked", "signoff.recorded", "decision.go", "flag.flipped",
         "flag.flipped", "stage.started", "deploy.started", "deploy.finished", "note", "evidence.taken"]
ACTORS = [f'{{"git_email":"user{i}@example.com","host":"host-{i}","name":"user{i}","os_user":"user{i}"}}'
          for i in range(5)]
PER_RELEASE = 1000
HASHED_ONLY = "SELECT seq, prev_hash, hash, body FROM log_entries ORDER BY seq"


def payload(i: int, kind: str) -> str:
    """Canonical JSON written out by hand (sorted keys, no spaces): building 1M entries stays quick."""
    if kind == "evidence.taken":
        return ('{"evidence":[{"check_id":"health-%d","detail":"HTTP 200 in 41 ms","duration_ms":%r,'
                '"status":"pass","taken_at":"2026-03-01T10:00:00.000000Z"}]}' % (i % 7, 12.5 + i % 90))
    if kind == "flag.flipped":
        return ('{"after":true,"backend":"http","before":false,"flag":"LAYER_%d_ENABLED","ok":true,'
                '"reason":"layer rollout"}' % (i % 5))
    return '{"target_sha":"%040x","text":"entry %d: operator note with some words in it"}' % (i, i)


def chain(n: int) -> Iterator[tuple[str, ...]]:
    """Rows of log_entries (COLUMNS order), sealed: hash = sha256(prev_hash || body)."""
    prev = GENESIS
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    sha = hashlib.sha256
    for seq in range(1, n + 1):
        kind = KINDS[seq % len(KINDS)]
        at = format_at(t0 + timedelta(milliseconds=seq * 50))
        release = f"shop-{(seq - 1) // PER_RELEASE:05d}"
        env = "prod" if (seq // PER_RELEASE) % 3 else "staging"
        actor = ACTORS[seq % len(ACTORS)]
        p = payload(seq, kind)
        body = (f'{{"actor":{actor},"at":"{at}","environment":"{env}","kind":"{kind}","payload":{p},'
                f'"release_id":"{release}","seq":{seq}}}')
        h = sha((prev + body).encode()).hexdigest()
        yield str(seq), at, release, env, actor, kind, p, prev, h, f"bulk-{seq}", body
        prev = h


COPY_COLUMNS = "seq, at, release_id, environment, actor, kind, payload, prev_hash, hash, entry_uid, body"


def build_postgres(dsn: str, n: int) -> float:
    import psycopg

    PostgresLog(dsn).close()  # the schema, every migration
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY log_entries ({COPY_COLUMNS}) FROM STDIN") as copy:
            buf: list[str] = []
            for row in chain(n):  # nothing here needs COPY's escapes: no tab, newline or backslash
                buf.append("\t".join(row))
                if len(buf) == 20_000:
                    copy.write("\n".join(buf) + "\n")
                    buf.clear()
            if buf:
                copy.write("\n".join(buf) + "\n")
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (FREEZE, ANALYZE) log_entries")  # hint bits set once, not by the first reader
    return time.perf_counter() - started


def build_sqlite(path: Path, n: int) -> float:
    SqliteLog(path).close()
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO log_entries ({COPY_COLUMNS}) VALUES ({', '.join(['?'] * 11)})",
                     ((int(r[0]), *r[1:]) for r in chain(n)))
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def runbook(folder: Path, log: str, signing: bool = False) -> Path:
    """A runbook naming the log; `signing`: with a [signing] table, so verify judges every decision too."""
    f = folder / f"runbook-{abs(hash(log))}{'-signing' if signing else ''}.toml"
    extra = ""
    if signing:
        key = folder / "key"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
            (folder / "allowed_signers").write_text("user0@example.com " + (folder / "key.pub").read_text())
        extra = f'[signing]\nallowed_signers = "{folder / "allowed_signers"}"\n'
    f.write_text(f'[release]\nname = "bench"\n[log]\n{log}\n{extra}[environments.prod]\nurl = "http://127.0.0.1:1"\n')
    return f


def wall(argv: list[str], pipe_to: list[str] | None = None) -> float:
    """Seconds from start to the exit of the last process; a failure stops the benchmark."""
    started = time.perf_counter()
    if pipe_to is None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
        if out.returncode != 0:
            raise SystemExit(f"{argv[:4]} failed ({out.returncode}): {out.stdout}{out.stderr}")
    else:
        first = subprocess.Popen(argv, stdout=subprocess.PIPE)
        second = subprocess.run(pipe_to, stdin=first.stdout, capture_output=True)
        assert first.stdout is not None
        first.stdout.close()
        if first.wait() != 0 or second.returncode != 0:
            raise SystemExit(f"{argv[:2]} | {pipe_to} failed")
    return time.perf_counter() - started


def side_by_side(commands: dict[str, tuple[list[str], list[str] | None]], runs: int) -> dict[str, float]:
    """Median seconds of each command, run in turn `runs` times (after one warm-up round)."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    for round_ in range(runs + 1):
        for label, (argv, pipe_to) in commands.items():
            t = wall(argv, pipe_to)
            if round_:
                times[label].append(t)
    return {k: statistics.median(v) for k, v in times.items()}


def cockpit_verify(config: Path) -> list[str]:
    return [sys.executable, "-m", "cockpit", "log", "verify", "--config", str(config)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated entry counts")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each command per size (median)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--signing", action="store_true",
                    help="also time verify with a [signing] table (every decision's signature judged in the walk)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    start = side_by_side({"python": ([sys.executable, "-c", "pass"], None)}, 5)["python"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in sizes:
            dsn = create_database("cockpit_bench_verify")
            try:
                print(f"{n:,} entries: building ...", file=sys.stderr, flush=True)
                load_s = build_postgres(dsn, n)
                t = side_by_side({
                    "verify": (cockpit_verify(runbook(folder, f'dsn = "{dsn}"')), None),
                    "copy": (["psql", dsn, "-Atc", f"COPY ({verify_query()}) TO STDOUT"], ["sha256sum"]),
                    "hashed": (["psql", dsn, "-Atc", f"COPY ({HASHED_ONLY}) TO STDOUT"], ["sha256sum"]),
                    **({"signing": (cockpit_verify(runbook(folder, f'dsn = "{dsn}"', signing=True)), None)}
                       if args.signing else {}),
                }, args.runs)
                rows.append(("PostgreSQL", n, load_s, t["verify"], t["copy"], t["hashed"]))
                if args.signing:
                    rows.append(("  [signing]", n, load_s, t["signing"], t["copy"], t["hashed"]))
            finally:
                drop_database(dsn)
            if not args.no_sqlite:
                path = folder / f"log-{n}.sqlite"
                load_s = build_sqlite(path, n)
                t = side_by_side({
                    "verify": (cockpit_verify(runbook(folder, f'path = "{path}"')), None),
                    "copy": (["sqlite3", str(path), sqlite_verify_query()], ["sha256sum"]),
                    "hashed": (["sqlite3", str(path), HASHED_ONLY], ["sha256sum"]),
                    **({"signing": (cockpit_verify(runbook(folder, f'path = "{path}"', signing=True)), None)}
                       if args.signing else {}),
                }, args.runs)
                rows.append(("SQLite", n, load_s, t["verify"], t["copy"], t["hashed"]))
                if args.signing:
                    rows.append(("  [signing]", n, load_s, t["signing"], t["copy"], t["hashed"]))
                path.unlink()
    head = (f"{'store':<11}{'entries':>10}{'build s':>9}{'verify s':>10}{'same cols s':>13}{'ratio':>7}"
            f"{'hashed cols s':>15}{'ratio':>7}")
    print(f"log verify vs reading its columns | sha256sum (median of {args.runs}; load average "
          f"{os.getloadavg()[0]:.1f}; python3 -c pass: {start:.3f} s)")
    print(head)
    print("-" * len(head))
    for store, n, load_s, verify_s, copy_s, hashed_s in rows:
        print(f"{store:<11}{n:>10,}{load_s:>9.1f}{verify_s:>10.3f}{copy_s:>13.3f}{verify_s / copy_s:>7.2f}"
              f"{hashed_s:>15.3f}{verify_s / hashed_s:>7.2f}")


if __name__ == "__main__":
    main()
