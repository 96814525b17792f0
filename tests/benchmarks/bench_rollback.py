"""Time to rollback: the flags step (N flags, concurrent vs sequential) and the whole headless rollback.

    python3 tests/benchmarks/bench_rollback.py [--flags 20] [--latency 0.1] [--deploy-s 1] [--runs 3]

Real pieces throughout: the demo target's flag API on loopback (each flag request delayed by
--latency), a real git repository, a real SQLite release log, a real `bash` deploy command that
takes --deploy-s seconds, and the same RollbackRunner / run_headless that `cockpit rollback --yes` uses.
- flags step, concurrent : the runner's flags step (restore the GO snapshot of N flags, all at once)
- flags step, sequential : the same N flips one after another with flip() (a script looping over flags)
- whole rollback         : flags + redeploy (the 1-second command) + verify (one http check), headless;
                           the floor is the deploy command's own duration.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cockpit.runbook.config import load_runbook  # noqa: E402
from cockpit.core.flags.factory import make_backend  # noqa: E402
from cockpit.core.flags.flip import flip  # noqa: E402
from cockpit.core.log.entry import Actor  # noqa: E402
from cockpit.core.log.sqlite import SqliteLog  # noqa: E402
from cockpit.core.rollback import RollbackRunner, plan_for  # noqa: E402
from cockpit.core.rollback.headless import run_headless  # noqa: E402
from cockpit.core.session import ReleaseSession  # noqa: E402
from cockpit.demo import DEMO_TOKEN, DemoTarget  # noqa: E402
from tests.helpers.gitrepos import make_repo  # noqa: E402

ALICE = Actor("alice", "alice", "bench")
BOB = Actor("bob", "bob", "bench")

RUNBOOK = """
[release]
name = "bench"
repo = "repo/work"

[log]
path = "release-log.sqlite"

[environments.production]
url = "{url}"

[flags]
backend = "http"
url = "{{env.url}}/admin"
token_secret = "bench-flags"
retries = 0

[[stages]]
id = "all"
flags = [{flags}]

[[checks]]
id = "health"
kind = "http"
url = "{{env.url}}/health"

[rollback]
deploy = "sleep {deploy_s}; echo deployed {{ref}}"
verify = ["health"]
"""


async def setup(root: Path, target: DemoTarget, names: list[str], deploy_s: float):  # type: ignore[no-untyped-def]
    repo = make_repo(root / "repo")
    path = root / "runbook.toml"
    path.write_text(RUNBOOK.format(url=target.url, flags=", ".join(f'"{n}"' for n in names), deploy_s=deploy_s))
    runbook = load_runbook(path)
    log = SqliteLog(root / "release-log.sqlite")
    s = await ReleaseSession.open(runbook, log, "production", ALICE)
    await s.take_evidence()
    await s.sign_off("alice", "bob", repo.main_shas[0])
    outcome = await s.go(s.target.short)  # takes the flag snapshot (all off) at GO
    assert outcome.ok, outcome.problems
    await s.flip_flags({n: True for n in names}, reason="rollout")
    return runbook, log


def all_on(target: DemoTarget, names: list[str]) -> None:
    for n in names:
        target.flags.add(n, True)  # the demo's state set directly: setup, not what is measured


async def runner(runbook, log) -> RollbackRunner:  # type: ignore[no-untyped-def]
    session = await ReleaseSession.attach(runbook, log, "production", BOB)
    return RollbackRunner(session, plan_for(session), flag_backoff=0.05)


async def flags_concurrent(runbook, log, target, names) -> float:  # type: ignore[no-untyped-def]
    all_on(target, names)
    r = await runner(runbook, log)
    await r.begin()
    t0 = time.perf_counter()
    res = await r.run_step("flags")
    elapsed = time.perf_counter() - t0
    assert res.outcome == "done" and not any(target.flags.get(n) for n in names), res.detail
    await r.finish("aborted", "benchmark: flags step only")
    return elapsed


async def flags_sequential(runbook, log, target, names) -> float:  # type: ignore[no-untyped-def]
    all_on(target, names)
    session = await ReleaseSession.attach(runbook, log, "production", BOB)
    backend = make_backend(runbook, "production")
    t0 = time.perf_counter()
    for n in names:
        r = await flip(backend, n, False, reason="sequential", actor=BOB, record=session.record, retries=0)
        assert r.ok, r.error
    elapsed = time.perf_counter() - t0
    await backend.aclose()
    return elapsed


async def whole(runbook, log, target, names) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    all_on(target, names)
    r = await runner(runbook, log)
    t0 = time.perf_counter()
    out = await run_headless(r, out=lambda _: None)
    wall = time.perf_counter() - t0
    assert out.outcome == "done", out.steps
    return wall, out.elapsed_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flags", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--deploy-s", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    os.environ["COCKPIT_SECRET_BENCH_FLAGS"] = DEMO_TOKEN
    names = [f"BENCH_FLAG_{i:02d}" for i in range(a.flags)]
    with tempfile.TemporaryDirectory() as tmp, DemoTarget(flags=tuple(names)) as target:
        runbook, log = asyncio.run(setup(Path(tmp), target, names, a.deploy_s))
        target.flags.delay = a.latency
        conc, seq, walls, recorded = [], [], [], []
        for _ in range(a.runs):
            conc.append(asyncio.run(flags_concurrent(runbook, log, target, names)))
            seq.append(asyncio.run(flags_sequential(runbook, log, target, names)))
            w, e = asyncio.run(whole(runbook, log, target, names))
            walls.append(w)
            recorded.append(e)
        log.close()
    med = statistics.median
    print(f"time to rollback — {a.flags} flags, flag API latency {a.latency * 1000:.0f} ms/request, "
          f"deploy command {a.deploy_s:g} s, median of {a.runs} runs")
    print(f"{'':34}{'seconds':>10}{'ratio':>10}")
    print(f"{'flags step, concurrent (runner)':34}{med(conc):>10.3f}{1:>10.2f}")
    print(f"{'flags step, sequential (flip loop)':34}{med(seq):>10.3f}{med(seq) / med(conc):>10.2f}")
    print(f"{'whole headless rollback (wall)':34}{med(walls):>10.3f}{med(walls) / a.deploy_s:>10.2f}  × deploy")
    print(f"{'  as recorded in rollback.finished':34}{med(recorded):>10.3f}")
    print(f"{'  deploy command alone (floor)':34}{a.deploy_s:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
