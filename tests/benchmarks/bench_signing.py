"""What a signed decision costs, next to an unsigned append, on PostgreSQL and SQLite.

    python tests/benchmarks/bench_signing.py [--n 200]

Per store, p50 / p99 in ms of:
- an unsigned append of a sign-off-sized entry (the store's append: lock, head, seal, insert, commit);
- signing alone, with a key file (ssh-keygen -Y sign, a process per signature) and with ssh-agent (its
  protocol on its socket, in-process);
- a signed append (signing + append), and its ratio to the unsigned one;
and, for `log verify`, the cost of checking one signature in-process (cryptography) next to one
`ssh-keygen -Y verify` (what checking without it would cost per signed entry).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cockpit.core.log.chain import prepare  # noqa: E402
from cockpit.core.log.entry import Actor, NewEntry  # noqa: E402
from cockpit.core.log.signatures import NAMESPACE, message, sign  # noqa: E402
from cockpit.core.sshsig import check, find_signer, parse  # noqa: E402
from tests.log.sshkeys import agent, make_key  # noqa: E402

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")


def decision(i: int) -> NewEntry:
    return prepare(NewEntry(release_id=f"shop-prod-{i:06d}", environment="production", kind="signoff.recorded",
                            payload={"release_owner": "Ann", "rollback_owner": "Bob", "rollback_ref": "v1.4.2",
                                     "rollback_sha": f"{i:040x}", "problems": [], "roles": {}}, actor=ANN))


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000


def timed(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def row(label: str, samples: list[float], base: list[float] | None = None) -> None:
    ratio = f"{pct(samples, 50) / pct(base, 50):6.1f}x" if base else ""
    print(f"  {label:<44} p50 {pct(samples, 50):7.2f} ms   p99 {pct(samples, 99):7.2f} ms   {ratio}")


def stores(tmp: Path):  # type: ignore[no-untyped-def]
    from cockpit.core.log.sqlite import SqliteLog

    yield "SQLite", SqliteLog(tmp / "bench.sqlite"), None
    try:
        from cockpit.core.log.postgres import PostgresLog
        from tests.helpers.pg import create_database, drop_database
        dsn = create_database("cockpit_bench_sign")
    except Exception as e:  # a benchmark without PostgreSQL still says what it measured
        print(f"PostgreSQL: not measured ({e})")
        return
    yield "PostgreSQL", PostgresLog(dsn), lambda: drop_database(dsn)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    n = ap.parse_args().n
    with tempfile.TemporaryDirectory(prefix="bench-sign-") as d:
        tmp = Path(d)
        key = make_key(tmp, "ann")
        by_file = find_signer(str(key.path), tmp, env={})
        with agent(tmp, key) as sock:
            by_agent = find_signer("", tmp, env={"SSH_AUTH_SOCK": sock})
            sign_file = timed(lambda i: sign(decision(i), by_file), n)
            sign_agent = timed(lambda i: sign(decision(i), by_agent), n)
            print(f"signing cost per decision ({n} decisions, ed25519)")
            row("sign, key file (ssh-keygen -Y sign)", sign_file)
            row("sign, ssh-agent (its protocol, in-process)", sign_agent)
            for name, log, drop in stores(tmp):
                try:
                    plain = timed(lambda i: log.append(replace(decision(i), uid=f"u{i}")), n)
                    signed = timed(lambda i: log.append(replace(sign(decision(i), by_agent), uid=f"s{i}")), n)
                    print(f"{name}")
                    row("unsigned append", plain)
                    row("signed append (agent + append)", signed, plain)
                finally:
                    log.close()
                    if drop:
                        drop()
        # verify: one signature checked in-process vs by ssh-keygen -Y verify
        e = decision(1)
        msg = message(e.release_id, e.environment, e.kind, e.payload, e.actor, e.at)
        armored = by_file.sign(msg, NAMESPACE)
        sig = parse(armored)
        allowed = tmp / "allowed_signers"
        allowed.write_text(key.allowed("Ann") + "\n")
        (tmp / "sig").write_text(armored)
        inproc = timed(lambda i: check(parse(armored), msg, NAMESPACE), n * 5)
        keygen = timed(lambda i: subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "Ann",
                                                 "-n", NAMESPACE, "-s", str(tmp / "sig")], input=msg,
                                                capture_output=True, check=True), n)
        print(f"verify: one signature ({sig.key_type})")
        row("in-process (cryptography)", inproc)
        row("ssh-keygen -Y verify", keygen, inproc)


if __name__ == "__main__":
    main()
