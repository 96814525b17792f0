"""Seed 002 (Go2Asia, zero-downtime updates) run end to end and headless, as its team would run it from CI:
the same SHA through staging to a closed, stable release, then production — check, the sign-off of every
role, GO, the schema, the backend (rolling update, blue-green), the PWA on Netlify and its flag, the close;
and its declared rollback when a signal turns after the rollout (in staging, where a release first meets
traffic: the rollback is the same in every environment).

Real: the cockpit (each command its own process), git with its origin, PostgreSQL (the schema moves up and
down), Redis, the shop's HTTP service. TEST DOUBLES: the harness's kubectl (and docker). Stand-ins for what
cannot run here, said in seed_002_go2asia.py: Prometheus's answers and Netlify's site are the shop's
programmed routes; the guardrails ask the suite's real Prometheus, which scrapes the shop's /metrics in the test
that watches a window with `cockpit watch`. The runbook is config/002-zero-downtime.toml as written, with its
30-minute soaks made one second; the guardrails' 30-minute windows are cut short by an override with its reason.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.runbook.config import load_runbook
from tests.seeds import seed_002_go2asia as go2asia
from tests.seeds.harness import ROOT, Harness
from tests.seeds.seed_002_go2asia import CRITICAL, FLAG, LIVE, OVERRIDE, PEOPLE, TICKS, UPSTREAMS, NetlifySite

CONFIG = ROOT / "config" / "002-zero-downtime.toml"
STEPS = {
    "schema": ["migrate", "migrated"],
    "backend": ["baseline", "rolling-update", "rolled-out", "green-up", "green-tested", "switch-to-green",
                "backfill", "soak", "signals", "blue-follows", "backend-healthy"],
    "frontend": ["ready", "publish", "live", "frontend-healthy", "features-on", "soak", "signals"],
}
BACKFILL = "backfill=none in this release: v2 reads the new table only"


def ok(p: subprocess.CompletedProcess[str], code: int = 0) -> str:
    assert p.returncode == code, f"exit {p.returncode}, expected {code}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def signed_off(h: Harness, env: str) -> None:
    """Every role signed, GO."""
    roles = [arg for role in ("Backend Owner", "Frontend Owner") for arg in ("--role", f"{role}={PEOPLE[role]}")]
    out = ok(h.cockpit("signoff", "--release-owner", PEOPLE["Release Owner"], "--rollback-owner",
                       PEOPLE["Rollback Owner"], "--rollback-ref", "v1.0.0", *roles, "--decision", "go",
                       env_name=env))
    assert "GO" in out


def stage(h: Harness, env: str, stage_id: str, *args: str, code: int = 0) -> dict:
    report = json.loads(ok(h.cockpit("stage", "start", stage_id, "--yes", "--json", *args, env_name=env), code))
    if code == 0:
        assert [s["step"] for s in report["steps"]] == STEPS[stage_id], report
        assert all(s["outcome"] == "done" for s in report["steps"]), report
    return report


def stable(h: Harness, env: str, stage_id: str, note: str) -> None:
    """Marked stable; the backend's and the frontend's guardrail windows (30 minutes) cut short with OVERRIDE."""
    guarded = bool(h.runbook().stage(stage_id).guardrails)
    ok(h.cockpit("stage", "stable", stage_id, "--note", note, *(["--override", OVERRIDE] if guarded else []),
                 env_name=env))


def whole_cutover(h: Harness, env: str) -> str:
    go2asia.tick(h, env, TICKS)
    if env == "production":
        # All is ready but the rollback plan's ref, which the sign-off fixes: staging was passed.
        reasons = json.loads(ok(h.cockpit("check", "--json", env_name=env), 1))["reasons"]
        assert reasons == ["MUST 'есть чёткий rollback-план' is pending: no rollback ref recorded yet "
                           "(it is fixed at sign-off)"]
    signed_off(h, env)
    release = stage(h, env, "schema")["release_id"]
    stable(h, env, "schema", "old code healthy on schema 3")
    stage(h, env, "backend", "--manual", BACKFILL)
    stable(h, env, "backend", "5xx, p95, client errors quiet after the soak")
    with NetlifySite(h):
        stage(h, env, "frontend")
    stable(h, env, "frontend", "PWA and events v2 quiet")
    ok(h.cockpit("release", "close", "--note", f"{env}: 1.1.0 out", env_name=env))
    return release


def entries(h: Harness, release: str | None, kind: str | None = None) -> list:
    log = h.open_log()
    try:
        return list(log.entries(LogFilter(release_id=release, kind=kind)))
    finally:
        log.close()


def test_seed_002_the_same_sha_through_staging_then_production_with_every_step_logged(
        make_harness: Callable[..., Harness]) -> None:
    h = go2asia.make_go2asia(make_harness)
    go2asia.install(h, CONFIG.read_text(encoding="utf-8"))
    head, known_good = h.shas["head"], h.shas["known_good"]

    # Production first is refused: the SHA has not passed staging (§12 "проведено тестирование в staging").
    out = ok(h.cockpit("check", env_name="production"), 1)
    assert f"target {head[:7]} has not passed staging" in out

    staging = whole_cutover(h, "staging")
    assert h.shop.version()["sha"] == head and h.git("rev-parse", "origin/staging") == head

    go2asia.as_production_runs_it(h)
    assert (h.shop.version()["version"], h.shop.schema_version()) == ("1.0.0", 2)
    assert h.shop.get("/web/version.json")[1]["sha"] == known_good
    calls_before = len(h.calls("kubectl"))

    production = whole_cutover(h, "production")

    # What changed in the shop: every service on 1.1.0's image, the schema up, the flag on, the PWA switched.
    v = h.shop.version()
    assert (v["version"], v["sha"], v["schema"]) == ("1.1.0", head, {"database": 3, "required": 3})
    assert v["flags"] == {FLAG: True}
    for s in LIVE:
        assert go2asia.image_of(h, s) == f"registry.local/{s}:{head[:7]}", s
        assert h.shop.get(f"/{s}/health")[0] == 200
    for s in CRITICAL:
        assert go2asia.image_of(h, f"{s}-green") == f"registry.local/{s}:{head[:7]}"
    assert h.shop.sql("select to_regclass('booking_requests')::text") == [("booking_requests",)]
    assert h.git("rev-parse", "origin/production") == head
    assert h.shop.get("/web/version.json")[1] == {"version": "1.1.0", "sha": head}
    # Blue-green (§5): Green took the traffic in one operation, then Blue followed and took it back.
    edge = [c["argv"] for c in h.calls("kubectl")[calls_before:] if "deployment/edge" in c["argv"]
            and c["argv"][2:4] == ["set", "env"]]
    assert [a[5:] for a in edge] == [[f"{u}={s}-green" for u, s in zip(UPSTREAMS, CRITICAL)],
                                     [f"{u}={s}" for u, s in zip(UPSTREAMS, CRITICAL)]]
    images = [c["argv"][4] for c in h.calls("kubectl")[calls_before:] if c["argv"][2:4] == ["set", "image"]]
    assert images == [f"deployment/{s}" for s in go2asia.ROLLING] + \
        [f"deployment/{s}-green" for s in CRITICAL] + [f"deployment/{s}" for s in CRITICAL]

    # The log: every step started then finished, in the runbook's order, stage after stage.
    for release in (staging, production):
        steps = [(e.kind, e.payload["stage"], e.payload["step"], e.payload.get("outcome"))
                 for e in entries(h, release, "step.")]
        assert steps == [(k, st, sid, o) for st, ids in STEPS.items() for sid in ids
                         for k, o in ((kinds.STEP_STARTED, None), (kinds.STEP_FINISHED, "done"))]
    log = entries(h, production)
    kinds_seen = [e.kind for e in log]
    assert kinds_seen.index(kinds.DECISION_GO) < kinds_seen.index(kinds.STAGE_STARTED)
    assert [(e.kind, e.payload["stage"]) for e in log if e.kind in (kinds.STAGE_STARTED, kinds.STAGE_STABLE)] == \
        [(k, st) for st in STEPS for k in (kinds.STAGE_STARTED, kinds.STAGE_STABLE)]
    assert kinds_seen[-2:] == [kinds.RELEASE_DONE, kinds.LOCK_RELEASED]
    # §10's guardrails: the backend's opened as it started (before the rolling update), the frontend's as its
    # features went on; each stage's stable cut its 30-minute windows short with the override and its reason.
    opened = [(e.payload["stage"], e.payload["check"], e.payload["on_breach"], e.payload["window_s"]) for e in log
              if e.kind == kinds.GUARDRAIL_OPENED]
    assert opened == [(st, c, action, 1800) for st, action in (("backend", "alert"), ("frontend", "kill"))
                      for c in ("guard-5xx", "guard-p95")]
    assert kinds_seen.index(kinds.GUARDRAIL_OPENED) < next(
        i for i, e in enumerate(log) if e.kind == kinds.STEP_STARTED and e.payload["step"] == "rolling-update")
    features_on = next(i for i, e in enumerate(log) if e.kind == kinds.FLAG_FLIPPED)
    frontend_on = next(i for i, e in enumerate(log)
                       if e.kind == kinds.STEP_STARTED and e.payload["step"] == "features-on")
    assert [i for i, e in enumerate(log) if e.kind == kinds.GUARDRAIL_OPENED and e.payload["stage"] == "frontend"] \
        == [i for i in range(frontend_on, features_on) if log[i].kind == kinds.GUARDRAIL_OPENED]
    assert len([i for i in range(frontend_on, features_on) if log[i].kind == kinds.GUARDRAIL_OPENED]) == 2
    overrides = {e.payload["stage"]: e.payload.get("override") for e in log if e.kind == kinds.STAGE_STABLE}
    assert overrides["schema"] is None
    assert {st: (o["reason"], len(o["windows"])) for st, o in overrides.items() if o} == \
        {"backend": (OVERRIDE, 2), "frontend": (OVERRIDE, 2)}
    signoff = next(e for e in log if e.kind == kinds.SIGNOFF_RECORDED).payload
    assert signoff["roles"] == PEOPLE
    backfill = next(e for e in log if e.kind == kinds.STEP_FINISHED and e.payload["step"] == "backfill").payload
    assert backfill["note"] == BACKFILL.split("=", 1)[1] and backfill["who"] == "Backend Owner"
    migrate = next(e for e in log if e.kind == kinds.STEP_FINISHED and e.payload["step"] == "migrate").payload
    assert migrate["argv"] == ["bash", "scripts/migrate.sh", "up"]
    assert "applied 0003_booking_requests" in migrate["excerpt"]
    verified = json.loads(ok(h.cockpit("log", "verify", "--json")))
    assert verified["ok"] and verified["checked"] == len(entries(h, None))


ROLLBACK = ["flags", "back-to-blue", "netlify", "netlify-live", "previous-image", "restart", "health",
            "migrations-down", "verify"]


def test_seed_002_a_latency_spike_after_the_pwa_is_rolled_back_as_the_runbook_declares(
        make_harness: Callable[..., Harness]) -> None:
    """In staging, where the release first meets traffic; the rollback is the one declared for every
    environment."""
    h = go2asia.make_go2asia(make_harness)
    go2asia.install(h, CONFIG.read_text(encoding="utf-8"))
    head, known_good = h.shas["head"], h.shas["known_good"]
    env = "staging"

    go2asia.tick(h, env, TICKS)
    signed_off(h, env)
    release = stage(h, env, "schema")["release_id"]
    assert h.shop.schema_version() == 3
    stable(h, env, "schema", "old code healthy on schema 3")
    stage(h, env, "backend", "--manual", BACKFILL)
    stable(h, env, "backend", "quiet")
    assert h.shop.version()["sha"] == head

    # §10: with the new PWA and events v2 on, p95 latency climbs to 1.8 s; the soak's signals say so and the
    # stage stops there.
    with NetlifySite(h):
        h.shop.prometheus(go2asia.QUERIES["latency-p95"], 1.8)
        report = stage(h, env, "frontend", code=1)
    assert [(s["step"], s["outcome"]) for s in report["steps"]] == [
        *[(sid, "done") for sid in STEPS["frontend"][:-1]], ("signals", "failed")]
    assert "latency-p95" in report["steps"][-1]["detail"]
    assert h.shop.flags() == {FLAG: True} and h.shop.get("/web/version.json")[1]["sha"] == head

    # The Rollback Owner rolls back: the flag off and Blue serving at once, then it waits for the Netlify click.
    p = h.cockpit("rollback", "--yes", "--json", env_name=env, actor=PEOPLE["Rollback Owner"])
    out = json.loads(ok(p, 3))  # waiting for a person, the rollback still open
    assert [(s["step"], s["outcome"]) for s in out["steps"]][:3] == [
        ("flags", "done"), ("back-to-blue", "done"), ("netlify", "waiting")]
    assert "--manual netlify=NOTE" in out["steps"][2]["detail"]
    assert h.shop.flags() == {FLAG: False}
    assert go2asia.edge_env(h) == {u: s for u, s in zip(UPSTREAMS, CRITICAL)}

    # The Frontend Owner clicks "Rollback to this deploy" in Netlify: the previous build serves again.
    go2asia.publish(h, known_good)
    calls_before = len(h.calls("kubectl"))
    p = h.cockpit("rollback", "--yes", "--json", "--manual", "netlify=Deploys -> deploy of 1.0.0 -> Rollback to "
                  "this deploy, done by Dan", env_name=env, actor=PEOPLE["Rollback Owner"])
    out = json.loads(ok(p))
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [(sid, "done") for sid in ROLLBACK]

    # Every service on the previous image and restarted, healthy; the schema back down; the flag off.
    v = h.shop.version()
    assert (v["version"], v["sha"], v["schema"]) == ("1.0.0", known_good, {"database": 2, "required": 2})
    assert v["flags"] == {FLAG: False} and h.shop.get("/health")[0] == 200
    assert h.shop.sql("select to_regclass('booking_requests')::text") == [(None,)]
    did = [c["did"] for c in h.calls("kubectl")[calls_before:]]
    for s in LIVE:
        assert go2asia.image_of(h, s) == f"registry.local/{s}:{known_good[:7]}", s
        assert h.shop.get(f"/{s}/health")[1]["sha"] == known_good
        assert did.index(f"set image of deployment/{s} to registry.local/{s}:{known_good[:7]}") < \
            did.index(f"restarted deployment/{s}")
    assert h.shop.get("/web/version.json")[1]["sha"] == known_good

    # The log: the stages' steps, then the rollback's, each in order, by whom; and the chain verifies.
    log = entries(h, release)
    steps = [(e.kind, e.payload["stage"], e.payload["step"], e.payload.get("outcome")) for e in log
             if e.kind in (kinds.STEP_STARTED, kinds.STEP_FINISHED)]
    assert steps == [(k, st, sid, o if o is None or sid != "signals" or st != "frontend" else "failed")
                     for st, ids in STEPS.items() for sid in ids
                     for k, o in ((kinds.STEP_STARTED, None), (kinds.STEP_FINISHED, "done"))]
    # A headless rollback that reaches a person's step waits there, open; the run with the note resumes
    # at that step (the flags and the traffic on Blue are not done again).
    attempts: list[list] = []
    for e in log:
        if e.kind == kinds.ROLLBACK_STARTED:
            attempts.append([])
        elif e.kind in (kinds.ROLLBACK_STEP, kinds.ROLLBACK_FINISHED):
            attempts[-1].append((e.kind, e.payload.get("step"), e.payload["outcome"], e.actor.name))
    bob = PEOPLE["Rollback Owner"]
    assert attempts == [
        [(kinds.ROLLBACK_STEP, "flags", "done", bob), (kinds.ROLLBACK_STEP, "back-to-blue", "done", bob),
         (kinds.ROLLBACK_STEP, "netlify", "waiting", bob)],
        [*[(kinds.ROLLBACK_STEP, sid, "done", bob) for sid in ROLLBACK[ROLLBACK.index("netlify"):]],
         (kinds.ROLLBACK_FINISHED, None, "done", bob)]]
    netlify = next(e for e in log if e.kind == kinds.ROLLBACK_STEP and e.payload.get("note"))
    assert netlify.payload["step"] == "netlify" and "done by Dan" in netlify.payload["note"]
    assert [e.kind for e in log][-2:] == [kinds.ROLLBACK_FINISHED, kinds.LOCK_RELEASED]
    assert json.loads(ok(h.cockpit("log", "verify", "--json")))["ok"]


def test_seed_002_the_stage_rollbacks_are_the_whole_rollbacks_steps() -> None:
    """§11.1 and §11.2 also stand alone (`cockpit rollback --stage backend|frontend|schema`): the same steps as
    the whole rollback, which the test above runs, so the copies cannot drift apart."""
    rb = load_runbook(CONFIG)
    whole = {s.id: s for s in rb.rollback.steps}
    by_stage = {st.id: [s.id for s in st.rollback] for st in rb.stages}
    assert by_stage == {"schema": ["migrations-down"],
                        "backend": ["back-to-blue", "previous-image", "restart", "health"],
                        "frontend": ["netlify", "netlify-live"]}
    for st in rb.stages:
        for s in st.rollback:
            assert s == whole[s.id], (st.id, s.id)
    assert set(whole) == {s for ids in by_stage.values() for s in ids}


def test_seed_002_a_5xx_spike_once_the_features_are_on_turns_them_off_by_itself(
        make_harness: Callable[..., Harness]) -> None:
    """§10 "Любые всплески → сигнал к немедленному откату", with only `cockpit watch` running: users on Pulse, the
    suite's real Prometheus scraping its /metrics; once EVENTS_V2_ENABLED is on, 30 % of Pulse's requests fail;
    the frontend's guard-5xx fails twice in a row and the flag goes off by itself (kubectl set env, as the
    runbook's flag backend does it). The guardrails are sampled every second here (every 30 s as written)."""
    h = go2asia.make_go2asia(make_harness)
    go2asia.install(h, CONFIG.read_text(encoding="utf-8"), sampled_every_second=True)
    env = "staging"
    job = h.scrape_metrics(traffic=("/api/v1/events", "/api/v2/events"))
    h.shop.set_fault(FLAG, 0.3)   # events v2 breaks Pulse once its flag is on, not before

    go2asia.tick(h, env, TICKS)
    signed_off(h, env)
    release = stage(h, env, "schema")["release_id"]
    stable(h, env, "schema", "old code healthy on schema 3")
    stage(h, env, "backend", "--manual", BACKFILL)
    stable(h, env, "backend", "quiet")
    with NetlifySite(h):
        stage(h, env, "frontend")   # the §10 checks (the stand-in's recording rules) say quiet: only the metrics tell
    assert h.shop.flags() == {FLAG: True}
    assert h.prometheus.wait_for(f'sum(rate(http_requests_total{{job="{job}",code="500"}}[2m]))',
                                 lambda r: bool(r) and float(r[0]["value"][1]) > 0)

    watcher = h.cockpit("watch", env_name=env, actor="Bob", timeout=120)
    assert watcher.returncode == 0, watcher.stdout + watcher.stderr
    assert "BREACHED" in watcher.stdout and f"flags off: {FLAG}" in watcher.stdout, watcher.stdout

    # The features are off in the serving pods, by the watcher; the log says why, with the samples.
    assert h.shop.flags() == {FLAG: False}
    log = entries(h, release)
    opened = {e.payload["check"]: e.payload for e in log if e.kind == kinds.GUARDRAIL_OPENED
              and e.payload["stage"] == "frontend"}
    assert opened["guard-5xx"]["baseline"] == 0   # before the flip, Pulse's users saw no 5xx
    breach = next(e for e in log if e.kind == kinds.GUARDRAIL_BREACHED)
    assert (breach.payload["stage"], breach.payload["check"], breach.payload["action"], breach.payload["failures"]) \
        == ("frontend", "guard-5xx", "kill", 2)
    assert [v for v in breach.payload["samples"] if v is not None][-1] > 0.001
    off = [e for e in log if e.kind == kinds.FLAG_FLIPPED and e.payload["after"] is False]
    assert [(e.payload["flag"], e.actor.name.startswith("Bob (watch ")) for e in off] == [(FLAG, True)]
    assert "guardrail guard-5xx breached (automatic)" in off[0].payload["reason"]
    order = [e.kind for e in log]
    assert order.index(kinds.GUARDRAIL_BREACHED) < order.index(kinds.STAGE_KILLED) < order.index(kinds.GUARDRAIL_ACTED)
    assert next(e for e in log if e.kind == kinds.GUARDRAIL_ACTED).payload["flags_off"] == [FLAG]
    # The rest of the rollback (Netlify, §11.2) stays a person's: the PWA still serves the release.
    assert h.shop.get("/web/version.json")[1]["sha"] == h.shas["head"]
    assert json.loads(ok(h.cockpit("log", "verify", "--json")))["ok"]
