"""The fixed cost of a headless command: `cockpit flags kill` from process start to its first request,
next to `python -c pass`, in one run.

    python3 tests/benchmarks/bench_headless.py [--runs 15] [--flags 20] [--history 0]

Each sample is a fresh interpreter. `python -c pass` is timed from the moment the parent starts it to its
exit. `cockpit flags kill --stage bench --reason ...` (the real command line, N flags of the demo runbook)
is timed from the moment the parent starts it to the arrival of its first request at the demo target's
flag API, which runs in its own process and stamps the arrival with time.monotonic() (system-wide on
Linux, so both clocks are one); and to its exit (the whole command, flips and log included). Samples of
the kinds alternate, so machine noise hits all alike. Before each kill the flags are turned back on and
the release log is restored, so every sample does the same work.

A runbook validated before is read from the validation cache (cockpit.runbook.validated); the third kind
of sample changes the runbook (a comment) first, so that one is validated again, with pydantic.

--history K puts a release in flight (GO) in the log with K entries before the kill (evidence taken every
few minutes, lock renewals): the release is read from the log before the flips, and a long one costs.
Goal: the kill's first request <= 150 ms after `python -c pass`'s exit time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOAL_MS = 150.0


def _serve(root: str, flags: list[str], latency: float, conn) -> None:  # runs in the server process
    sys.path.insert(0, str(ROOT))
    import cockpit.demo.target as target_module
    from cockpit.demo.scratch import make_scratch
    from cockpit.demo.server import FLAGS_PREFIX, Handler

    first: list[float] = []

    class Stamped(Handler):
        def parse_request(self) -> bool:
            now = time.monotonic()  # the request line has just been read
            ok = super().parse_request()
            if ok and not first and self.path.startswith(FLAGS_PREFIX + "/flags"):
                first.append(now)
            return ok

    target_module.Handler = Stamped  # this process's target only
    target = target_module.DemoTarget()
    for f in flags:
        target.flags.add(f, True)
    target.flags.delay = latency
    with target:
        scratch = make_scratch(Path(root) / "demo", target)
        conn.send((str(scratch.runbook_path), str(scratch.log_path), target.token, scratch.shas["head"]))
        while True:
            msg = conn.recv()
            if msg == "reset":
                first.clear()
                for f in flags:
                    target.flags.add(f, True)
                target.flags.delay = latency
                conn.send(None)
            elif msg == "first":
                conn.send(first[0] if first else None)
            elif msg == "off":
                conn.send(all(target.flags.get(f) is False for f in flags))
            else:
                return


def _history(log_path: Path, head: str, entries: int) -> None:
    """A release in flight: opened, signed off, GO, its lock, then evidence and lock renewals."""
    from cockpit.core.log.entry import Actor, NewEntry
    from cockpit.core.log.sqlite import SqliteLog

    log = SqliteLog(log_path)
    if not entries:
        log.close()
        return
    who = Actor("release-owner", "ro", "bench-host", "ro@example.com")
    rid, env = f"demo-shop-production-{head[:7]}", "production"

    def add(kind: str, payload: dict) -> None:
        log.append(NewEntry(rid, env, kind, payload, who))

    stamp = "2026-01-01T00:00:00.000000Z"
    add("session.opened", {"target": {"ref": "origin/main", "sha": head}, "runbook": "demo-shop", "cockpit": "bench",
                           "resumed": False})
    evidence = [{"id": f"check-{i}", "kind": "http", "status": "pass", "blocking": True, "detail": "HTTP 200 in 12 ms",
                 "excerpt": '{"status": "ok", "service": "catalog"}' * 5, "duration_ms": 12.0,
                 "taken_at": "2026-01-01T00:00:00Z", "data": {"status": 200, "latency_ms": 12}} for i in range(20)]
    add("evidence.taken", {"evidence": evidence})
    add("signoff.recorded", {"release_owner": "a", "rollback_owner": "b", "rollback_ref": "v1.0.0",
                             "rollback_sha": "0" * 40, "problems": []})
    add("decision.go", {"target_sha": head, "confirmation": head[:7], "evidence": {}, "warnings": []})
    add("lock.taken", {"lease_s": 1800, "taken_at": stamp, "expires_at": stamp})
    for i in range(max(0, entries - 5)):
        if i % 3 == 0:
            add("evidence.taken", {"evidence": evidence, "refresh": True})
        else:
            add("lock.renewed", {"lease_s": 1800, "taken_at": stamp, "expires_at": stamp})
    log.close()


def _restore(template: Path, log_path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{log_path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, log_path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--flags", type=int, default=20)
    ap.add_argument("--history", type=int, default=0, metavar="K",
                    help="a release in flight with K log entries (0: none, the kill is break-glass)")
    ap.add_argument("--latency", type=float, default=0.0, metavar="S",
                    help="seconds the flag API waits before each answer (a flag service across a network)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    flags = [f"BENCH_FLAG_{i:02d}" for i in range(args.flags)]
    ctx = mp.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    with tempfile.TemporaryDirectory() as tmp:
        server = ctx.Process(target=_serve, args=(tmp, flags, args.latency, child_conn), daemon=True)
        server.start()
        try:
            if not conn.poll(60):
                print("the demo target did not start", file=sys.stderr)
                return 2
            runbook, log_path, token, head = conn.recv()
            return _run(args, flags, Path(runbook), Path(log_path), token, head, conn)
        finally:
            conn.send("stop")
            server.join(10)
            if server.is_alive():
                server.kill()


def _run(args: argparse.Namespace, flags: list[str], runbook: Path, log_path: Path, token: str, head: str,
         conn) -> int:
    runbook.write_text(runbook.read_text(encoding="utf-8") + '\n[[stages]]\nid = "bench"\nflags = ['
                       + ", ".join(f'"{f}"' for f in flags) + "]\n", encoding="utf-8")
    # Bytecode is written and reused, as for an installed cockpit; the cockpit run is this tree's.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"COCKPIT_SECRET_DEMO_FLAGS": token, "COCKPIT_ACTOR": "bench", "PYTHONPATH": str(ROOT)}
    which = subprocess.run([sys.executable, "-c", "import cockpit; print(cockpit.__file__)"], env=env,
                           cwd=runbook.parent, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(which).resolve().is_relative_to(ROOT.resolve()), f"the cockpit run is {which}, not this tree's"
    kill = [sys.executable, "-m", "cockpit", "flags", "kill", "--config", str(runbook), "--stage", "bench",
            "--reason", "bench: error rate up"]

    # The log as every sample starts with it: its tables, and the release in flight when asked.
    _history(log_path, head, args.history)
    template = log_path.with_name("template.sqlite")
    shutil.copyfile(log_path, template)

    def ask(msg: str):  # noqa: ANN202
        conn.send(msg)
        return conn.recv()

    def sample_kill(*, changed: int | None = None) -> tuple[float, float]:
        _restore(template, log_path)
        if changed is not None:  # a new text: not validated before
            runbook.write_text(runbook.read_text(encoding="utf-8") + f"# sample {changed}\n", encoding="utf-8")
        ask("reset")
        t0 = time.monotonic()
        r = subprocess.run(kill, env=env, cwd=runbook.parent, capture_output=True, text=True)
        t1 = time.monotonic()
        first = ask("first")
        if r.returncode != 0 or first is None or not ask("off"):
            raise SystemExit(f"the kill did not do its work (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
        return first - t0, t1 - t0

    def sample_pass() -> float:
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        return time.monotonic() - t0

    sample_kill(), sample_pass()  # warm-up, not counted: bytecode, page cache, the runbook validated once
    bare, first, whole, first_new, whole_new = [], [], [], [], []
    for i in range(args.runs):
        bare.append(sample_pass())
        f, w = sample_kill()
        first.append(f)
        whole.append(w)
        f, w = sample_kill(changed=i)
        first_new.append(f)
        whole_new.append(w)

    def ms(xs: list[float]) -> float:
        return statistics.median(xs) * 1000

    b = ms(bare)
    over, over_new = ms(first) - b, ms(first_new) - b
    release = (f"a release in flight with {args.history} log entries" if args.history
               else "no release (a break-glass kill)")
    api = f"answering after {args.latency * 1000:.0f} ms" if args.latency else "on loopback"
    print(f"headless start-up: `cockpit flags kill` of {args.flags} flags, the demo flag API in its own process "
          f"{api}, {release}")
    print(f"{args.runs} fresh processes of each kind, interleaved; medians; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  python -c pass, start to exit                         {b:6.0f} ms")
    print(f"  flags kill, start to first request                    {ms(first):6.0f} ms   {over:+5.0f} ms "
          f"over python -c pass")
    print(f"  flags kill, start to exit (the whole command)         {ms(whole):6.0f} ms")
    print(f"  runbook changed since last validated: first request   {ms(first_new):6.0f} ms   {over_new:+5.0f} ms")
    print(f"  runbook changed since last validated: whole command   {ms(whole_new):6.0f} ms")
    met = over <= GOAL_MS
    print(f"goal: first request <= {GOAL_MS:.0f} ms over python -c pass: {'MET' if met else 'MISSED'} "
          f"({over:.0f} ms)")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
