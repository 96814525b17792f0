"""Seed 004's release day, headless, as config/004-must-have-blockers.toml runs it: ДЕНЬ 12 on staging,
then 14 December on production — check (MUST vs SHOULD, the five blockers), every role's sign-off, GO,
00:00 backup, 01:00 deploy, 02:00 smoke and load test, 03:00 monitoring, 09:00 announcement, close —
and its ROLLBACK ПЛАН: the old version and the 00:00 dump back.

Real: the shops (loopback HTTP), their PostgreSQL databases, pg_dump/pg_restore/psql, Redis, git with a
remote, the repo's migrate, smoke and load-test scripts, curl, the cockpit as a process of its own.
TEST DOUBLE: docker (and docker compose), the seed harness's fake (harness.py): no daemon or registry
can run here. Prometheus' answers are values the test sets (seed_004_world.py); there is no Grafana, so
its SHOULD stays a warning. Besides pointing the runbook at the shops (urls, vars, log), the test shortens
the 03:00–09:00 soak from six hours to one second and the load test from a minute to one second (the
runbook's loadtest_seconds var); nothing else of it is changed. The monitoring stage's guardrails watch for the
six hours (`cockpit watch`, not run here; their Prometheus is the suite's real one, the shops unscraped): the
stage is marked stable with an override and its reason, which the log keeps.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.core.log.base import LogFilter
from cockpit.core.story import release_story
from cockpit.runbook.config import load_runbook
from tests.helpers.pg import create_database, drop_database
from tests.seeds import runbook_copy
from tests.seeds.harness import ROOT, Harness
from tests.seeds.seed_004_world import (APP, PlainHttp, StagingWorld, encrypt_passwords, gift_market_tables,
                                        prometheus_answers, release_commit, serve_app_api, tick)

RUNBOOK = ROOT / "config" / "004-must-have-blockers.toml"
SIGNOFF = ["--release-owner", "Ann", "--rollback-owner", "Rita", "--rollback-ref", "v1.0.0",
           "--role", "Backend Lead=Boris", "--role", "DevOps=Dana", "--role", "QA=Quinn", "--role", "Security=Sergei"]
STEPS = {"backup": ["pg-dump", "backup-kept"],
         "deploy": ["old-version-ready", "build", "migrate", "up", "running"],
         "smoke": ["smoke", "staging-e2e", "loadtest", "blockers"],
         "monitoring": ["watch-start", "soak", "watch-end"],
         "announce": ["announcement"]}
OVERRIDE = "the monitoring guardrails watch until 09:00; this test's soak was a second"
ANNOUNCED = {"staging": "announcement=told the team in the Telegram group: staging stable, production tonight",
             "production": "announcement=posted in the users' Telegram channel, t.me/giftmarket/812"}


@dataclass
class Worlds:
    prod: Harness
    staging: StagingWorld
    https: PlainHttp

    def world(self, env: str) -> Harness:
        return self.prod if env == "production" else self.staging


@pytest.fixture
def worlds(make_harness: Callable[..., Harness], tmp_path: Path) -> Iterator[Worlds]:
    prod = make_harness(**APP)
    release_commit(prod)
    https = PlainHttp()
    dsn = create_database("shop")
    staging = None
    try:
        staging = StagingWorld(prod, tmp_path / "staging", dsn)
        text = RUNBOOK.read_text(encoding="utf-8")
        assert text.count('duration = "6h"') == 1
        path = prod.install_runbook(text.replace('duration = "6h"', 'duration = "1s"'), name=RUNBOOK.name, vars={
            "image": "registry.local/api", "prometheus": "{url}/prometheus", "grafana": "{url}/grafana",
            "plain_http": https.url, "loadtest_seconds": "1"})
        # Staging answers at its own shop; one Prometheus and one Grafana watch both environments.
        path.write_text(runbook_copy.set_table(path.read_text(encoding="utf-8"), "environments.staging",
                                               {"url": staging.shop.url}), encoding="utf-8")
        load_runbook(path)
        staging.runbook_path = path
        for world in (prod, staging):
            serve_app_api(world.shop)
        for env in ("production", "staging"):
            prometheus_answers(prod.shop, env)
        yield Worlds(prod, staging, https)
    finally:
        if staging is not None:
            staging.close()
        drop_database(dsn)
        https.close()


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def check(world: Harness, env: str) -> tuple[int, dict]:
    p = world.cockpit("check", "--json", env_name=env, actor="Ann")
    assert p.returncode in (0, 1), p.stderr
    return p.returncode, json.loads(p.stdout)


def signoff(world: Harness, env: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Every role's sign-off and GO, judged on the evidence `cockpit check` has just taken."""
    return world.cockpit("signoff", *args, "--decision", "go", "--no-evidence", env_name=env, actor="Ann")


def ready(world: Harness, env: str) -> None:
    """The two MUST items only a person can confirm, ticked by who answers for them."""
    tick(world, env, "must-retry", "reviewed PR #212: every client in app/external/ goes through retry_external()",
         "Boris")
    tick(world, env, "must-background-tasks", "killed the market sync job: logged to Loki, restarted in 60 s",
         "Boris")


def run_stage(world: Harness, env: str, stage: str, *extra: str) -> dict:
    report = json.loads(ok(world.cockpit("stage", "start", stage, "--yes", "--json", *extra, env_name=env,
                                         actor="Ann")))
    assert [(s["step"], s["outcome"]) for s in report["steps"]] == [(s, "done") for s in STEPS[stage]], report
    return report


def stable(world: Harness, env: str, stage: str, note: str) -> None:
    """Marked stable; the monitoring stage (guardrails for six hours) with OVERRIDE."""
    guarded = stage == "monitoring"
    ok(world.cockpit("stage", "stable", stage, "--note", note, *(["--override", OVERRIDE] if guarded else []),
                     env_name=env, actor="Ann"))


def cutover(w: Worlds, env: str, stages: list[str]) -> None:
    world = w.world(env)
    for stage in stages:
        run_stage(world, env, stage, *(["--manual", ANNOUNCED[env]] if stage == "announce" else []))
        stable(world, env, stage, f"{stage}: quiet")


def pass_staging(w: Worlds) -> None:
    """ДЕНЬ 11's load test, then ДЕНЬ 12: the release's whole procedure on staging, closed stable."""
    s = w.staging
    # QA's ДЕНЬ 11 run: the k6-shaped summary BLOCKER 5 reads at staging's gate.
    ok(s.run(["python3", "scripts/loadtest.py", f"{s.shop.url}/api/markets", "--rps", "120", "--duration", "1",
              "--out", "loadtest/k6-summary.json", "--max-p95-ms", "500", "--min-rps", "100"]))
    ready(s, "staging")
    ok(s.cockpit("signoff", *SIGNOFF, "--decision", "go", env_name="staging", actor="Ann"))  # takes the evidence
    cutover(w, "staging", list(STEPS))
    ok(s.cockpit("release", "close", "--note", "staging stable (ДЕНЬ 12)", env_name="staging", actor="Ann"))
    assert (s.shop.version()["sha"], s.shop.schema_version()) == (s.git("rev-parse", "origin/main"), 3)
    e2e = (s.checkout / "reports" / "e2e.xml").read_text()
    assert 'tests="4" failures="0"' in e2e and 'name="withdrawal"' in e2e


def entries(world: Harness, **filters: str) -> list:
    log = world.open_log()
    try:
        return list(log.entries(LogFilter(**filters)))
    finally:
        log.close()


def test_the_release_day_runs_on_staging_then_production_from_check_to_close(worlds: Worlds) -> None:
    h, s = worlds.prod, worlds.staging
    gift_market_tables(h.shop, plaintext_password=True)
    gift_market_tables(s.shop)
    target = h.git("rev-parse", "origin/main")
    assert target != h.shas["head"] and h.shop.version()["version"] == "1.0.0"

    # Before staging: NO-GO. The SHA has not passed staging, one password is stored in plain text
    # (BLOCKER 1), no load test has run yet (BLOCKER 5), two MUST items wait for a person; the SHOULD
    # items are warnings only.
    code, verdict = check(h, "production")
    assert code == 1 and verdict["decision"] == "NO-GO"
    reasons = verdict["reasons"]
    assert any(f"target {target[:7]} has not passed staging" in r for r in reasons), reasons
    assert "MUST 'BLOCKER 1: пароли зашифрованы (bcrypt) — MUST 2' failed: exit 1 (expected 0)" in reasons
    assert sum("BLOCKER 5" in r and "k6-summary.json" in r for r in reasons) == 3
    assert [r.split("'")[1] for r in reasons if "waiting for a person" in r] == [
        "MUST 8: retry для внешних API (tenacity, 3 попытки)", "MUST 11: фоновые задачи с обработкой ошибок"]
    assert len(reasons) == 7, reasons
    assert [w.split("'")[1] for w in verdict["warnings"]] == [
        "SHOULD: distributed locks для критичных секций", "SHOULD: Grafana дашборды",
        "SHOULD: автоматические алерты (Telegram)"]
    status = {c["id"]: c["status"] for c in verdict["checks"] if c["stage"] is None and c["kind"] != "manual"}
    assert {c for c, st in status.items() if st != "pass"} == {
        "blocker-passwords-encrypted", "blocker-load-p95", "blocker-load-rps", "blocker-load-errors",
        "should-grafana"}, status
    assert {"blocker-rate-limiting", "blocker-health", "min-https-only", "must-cache-hit-rate"} <= set(status)

    pass_staging(worlds)
    assert encrypt_passwords(h.shop) == 1   # Security's fix of the row ДЕНЬ 3-4's migration missed
    ready(h, "production")
    code, verdict = check(h, "production")
    assert code == 0 and verdict["decision"] == "GO", verdict["reasons"]
    assert len(verdict["warnings"]) == 3 and verdict["target"]["sha"] == target

    # Every role signs; whoever deploys does not verify (DevOps and QA distinct).
    p = signoff(h, "production", *[a if a != "QA=Quinn" else "QA=Dana" for a in SIGNOFF])
    assert p.returncode == 1 and "Dana" in p.stdout + p.stderr, p.stdout + p.stderr
    ok(signoff(h, "production", *SIGNOFF))

    run_stage(h, "production", "backup")
    assert (h.checkout / "backups" / "pre-release.dump").read_bytes()[:5] == b"PGDMP"
    stable(h, "production", "backup", "dump at 00:04, reads back")
    run_stage(h, "production", "deploy")
    v = h.shop.version()
    assert (v["version"], v["sha"], v["schema"]) == ("1.1.0", target, {"database": 3, "required": 3})
    assert h.shop.get("/worker/version")[1]["sha"] == target
    image = f"registry.local/api:{target[:7]}"
    assert [c["did"] for c in h.calls("docker")] == [
        "compose pull api worker", f"built {image} (version 1.1.0, sha {target[:7]})",
        f"compose up api={image} worker={image}"]
    stable(h, "production", "deploy", "1.1.0 up, healthy")
    cutover(worlds, "production", ["smoke", "monitoring", "announce"])
    ok(h.cockpit("release", "close", "--note", "released 14.12, monitoring green", env_name="production",
                 actor="Ann"))

    # The log: every step of every stage started and finished, in the runbook's order, and the chain holds.
    rid = verdict["release_id"]
    mine = entries(h, release_id=rid)
    steps = [(e.kind, e.payload["stage"], e.payload["step"], e.payload.get("outcome"))
             for e in mine if e.kind.startswith("step.")]
    assert steps == [(kind, stage, step, outcome) for stage, ids in STEPS.items() for step in ids
                     for kind, outcome in (("step.started", None), ("step.finished", "done"))]
    finished = {e.payload["step"]: e.payload for e in mine if e.kind == "step.finished"}
    assert finished["pg-dump"]["produces"]["sha256"] and finished["loadtest"]["produces"]["sha256"]
    assert "applied 0003_booking_requests" in finished["migrate"]["excerpt"]
    assert finished["staging-e2e"]["excerpt"] == ["E2E runs on staging only (day 12); production gets the smoke tests"]
    assert set(finished["blockers"]["checks"].values()) == {"pass"} and len(finished["blockers"]["checks"]) == 8
    assert finished["announcement"]["note"] == ANNOUNCED["production"].split("=", 1)[1]
    signed = [e.payload for e in mine if e.kind == "signoff.recorded"]
    assert signed[-1]["roles"] == {"Release Owner": "Ann", "Rollback Owner": "Rita", "Backend Lead": "Boris",
                                   "DevOps": "Dana", "QA": "Quinn", "Security": "Sergei"}
    assert "release.done" in [e.kind for e in mine]
    # "Мониторинг 24/7": the monitoring stage's guardrails opened as it started (it flips no flag), for the six
    # hours to the announcement; its stable cut them short with the override and its reason.
    opened = [e for e in mine if e.kind == "guardrail.opened"]
    assert [(e.payload["stage"], e.payload["check"], e.payload["window_s"], e.payload["on_breach"]) for e in opened] \
        == [("monitoring", c, 6 * 3600, "alert") for c in ("watch-p95", "watch-errors")]
    assert opened[-1].seq < next(e.seq for e in mine if e.kind == "step.started" and e.payload["step"] == "watch-start")
    marked = {e.payload["stage"]: e.payload for e in mine if e.kind == "stage.stable"}
    assert marked["monitoring"]["override"]["reason"] == OVERRIDE
    assert all("override" not in p for st, p in marked.items() if st != "monitoring")

    # The story's Plan is the seed's timetable — 00:00 backup, 01:00 deploy, 02:00 smoke, 03:00 monitoring,
    # 09:00 announcement — each step against when it ran.
    plan = release_story(rid, mine).section("Plan")
    assert plan is not None and len(plan.lines) == sum(map(len, STEPS.values()))
    planned = {line.text.split(" — ")[1].split(" ")[0]: line.text.split(" ")[0] for line in plan.lines}
    assert {k: v for k, v in planned.items() if v != "--:--"} == {
        "pg-dump": "00:00", "old-version-ready": "01:00", "smoke": "02:00", "watch-start": "03:00",
        "announcement": "09:00"}
    assert all(" done" in line.text for line in plan.lines)
    ok(h.cockpit("log", "verify"))


def test_the_rollback_plan_brings_back_the_old_version_and_the_0000_dump(worlds: Worlds) -> None:
    h, s = worlds.prod, worlds.staging
    gift_market_tables(h.shop)
    gift_market_tables(s.shop)
    pass_staging(worlds)
    ready(h, "production")
    ok(h.cockpit("signoff", *SIGNOFF, "--decision", "go", env_name="production", actor="Ann"))
    cutover(worlds, "production", ["backup"])
    saved = {t: h.shop.sql(f"select * from {t} order by id") for t in ("products", "users", "transactions")}

    cutover(worlds, "production", ["deploy"])
    target = h.git("rev-parse", "origin/main")
    assert h.shop.version()["sha"] == target and h.shop.schema_version() == 3
    # Written after the backup, on the new schema: what the restore takes back.
    h.shop.sql("insert into booking_requests (product_id) values (1)")
    h.shop.sql("update products set price_cents = 1 where id = 2")
    h.shop.sql("insert into transactions (user_id, kind, amount, idempotency_key) values "
               "(2, 'withdraw', 50, gen_random_uuid())")

    # 02:00: the markets endpoint fails under the load test; the blockers step stops the stage.
    h.shop.route("/api/markets", {"error": "upstream market API timed out"}, status=500)
    p = h.cockpit("stage", "start", "smoke", "--yes", "--json", env_name="production", actor="Ann")
    assert p.returncode == 1, p.stdout + p.stderr
    report = json.loads(p.stdout)
    assert [(x["step"], x["outcome"]) for x in report["steps"]] == [
        ("smoke", "done"), ("staging-e2e", "done"), ("loadtest", "done"), ("blockers", "failed")]
    assert "blocker-load-errors" in report["steps"][-1]["detail"]

    # "откат на предыдущую версию": until the Rollback Owner confirms the restore, the old version is up
    # and the database untouched; then the 00:00 dump is back.
    p = h.cockpit("rollback", "--yes", "--json", env_name="production", actor="Rita")
    assert p.returncode == 3, p.stdout + p.stderr  # waiting for a person, the rollback still open
    out = json.loads(p.stdout)
    assert [(x["step"], x["outcome"]) for x in out["steps"]] == [
        ("flags", "done"), ("old-version", "done"), ("confirm-restore", "waiting"), ("restore-db", "not run"),
        ("smoke", "not run"), ("verify", "not run")], out["steps"]
    assert h.shop.version()["version"] == "1.0.0" and h.shop.schema_version() == 3
    p = h.cockpit("rollback", "--yes", "--json", "--manual",
                  "confirm-restore=exported 1 withdrawal and 1 booking since 00:00 to finance (ticket FIN-88)",
                  env_name="production", actor="Rita")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert [(x["step"], x["outcome"]) for x in out["steps"]][-4:] == [
        ("confirm-restore", "done"), ("restore-db", "done"), ("smoke", "done"), ("verify", "done")], out["steps"]

    v = h.shop.version()
    assert (v["version"], v["sha"], v["schema"]) == ("1.0.0", h.shas["known_good"], {"database": 2, "required": 2})
    assert h.shop.get("/worker/version")[1]["sha"] == h.shas["known_good"]
    assert h.shop.sql("select to_regclass('booking_requests')") == [(None,)]
    assert {t: h.shop.sql(f"select * from {t} order by id") for t in saved} == saved
    assert h.shop.get("/health")[0] == 200

    rid = out["release_id"]
    done = [(e.payload["step"], e.payload.get("outcome")) for e in entries(h, release_id=rid, kind="rollback.step")]
    # The first run waited at the person's step; the note resumed it there: the old version went up once.
    assert done == [
        ("flags", "done"), ("old-version", "done"), ("confirm-restore", "waiting"),
        ("confirm-restore", "done"), ("restore-db", "done"), ("smoke", "done"), ("verify", "done")], done
    ok(h.cockpit("log", "verify"))
