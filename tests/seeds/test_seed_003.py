"""Seed 003 (Boltorezka's pre-prod decision package) run end to end headless, as config/003-go-nogo-gate.toml
says it: the feature branch tested by the team's own deploy:test:smoke, the origin/main SHA through `test` to a
closed, stable release, then the same SHA in `prod` — the gate (feature branch refused, promotion, the three
owners), GO, the rollout's steps, close — and in a second test its declared rollback, whose verification reads
the smoke the rollback itself has just re-run.

Real: the shop (loopback HTTP, PostgreSQL, Redis), git with its origin, npm, bash, curl, the repo's scripts, the
cockpit as a process. TEST DOUBLES: kubectl and docker (tests/seeds/fakes), which no cluster or daemon backs here.
The harness has one shop, so `test` and `prod` are the same service. The runbook's 15-minute watch window is cut
to 1 s: the only change made to it besides the harness's pointing it at the shop (and, in the test that runs
`cockpit watch`, the guardrails sampled every second). The rollout's guardrail windows (an hour) are cut short by
an override with its reason, as a person would; their Prometheus is the suite's real one, which scrapes the shop
in the test that watches."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry
from tests.seeds.harness import ROOT, Harness
from tests.seeds.scratchrepo import FEATURE_BRANCH
from tests.seeds.seed_003_boltorezka import SUMMARY, boltorezka, summary, tick

RUNBOOK = (ROOT / "config" / "003-go-nogo-gate.toml").read_text(encoding="utf-8")
WATCH = 'duration = "15m"'
OVERRIDE = "the rollout's guardrails watch for an hour; this test's window was a second"
GUARDED = ["prod-health", "user-errors", "realtime-disconnects"]
ROLLOUT = ["deploy", "health", "smoke", "smoke-gate", "watch", "after-watch", "logs-review"]
COMMS = "Incident Comms Owner=Carol"
CHANNEL = "boltorezka-team-channel"
MANUAL_GO = {"release-notes": "notes for 1.2.0 in the team wiki, linked in #boltorezka",
             "artifacts-known": "walked through the runbook's rollout and rollback on the call",
             "mvp-merge-ready": "product owner Dana: MVP criteria met for 1.2.0"}


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def install(h: Harness, *, sampled_every_second: bool = False) -> None:
    assert RUNBOOK.count(WATCH) == 1 and RUNBOOK.count('interval = "30s"') == len(GUARDED)
    text = RUNBOOK.replace(WATCH, 'duration = "1s"')
    if sampled_every_second:
        text = text.replace('interval = "30s"', 'interval = "1s"')
    h.install_runbook(text, name="003-go-nogo-gate.toml")


def signoff(h: Harness, env: str, *roles: str) -> subprocess.CompletedProcess[str]:
    return h.cockpit("signoff", "--release-owner", "Ann", "--rollback-owner", "Bob", "--rollback-ref",
                     h.shas["known_good"], *(a for r in roles for a in ("--role", r)), "--decision", "go", env_name=env)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entries(h: Harness, release_id: str, kind: str = "") -> list[Entry]:
    log = h.open_log()
    try:
        return list(log.entries(LogFilter(release_id=release_id, kind=kind or None)))
    finally:
        log.close()


def steps_logged(h: Harness, release_id: str) -> list[tuple[str, str, str | None]]:
    return [(e.kind, e.payload["step"], e.payload.get("outcome")) for e in entries(h, release_id, "step.")]


def each_started_then_done(steps: list[str]) -> list[tuple[str, str, str | None]]:
    return [x for s in steps for x in ((kinds.STEP_STARTED, s, None), (kinds.STEP_FINISHED, s, "done"))]


def channel(h: Harness) -> list[tuple[str, str]]:
    """(environment, kind) of each message the team channel's webhook received."""
    return [(m["body"]["entry"]["environment"], m["body"]["entry"]["kind"]) for m in h.shop.hooks(CHANNEL)]


def feature_to_test(h: Harness) -> None:
    """feature/* -> test, outside the cockpit (§3.1): the team's `TEST_REF=… npm run deploy:test:smoke` with the
    relay scenario leaves the smoke summary the first GO in test reads."""
    ok(h.run(["npm", "run", "deploy:test:smoke"], TEST_REF=f"origin/{FEATURE_BRANCH}", SMOKE_API_URL=h.shop.url,
             SMOKE_CALL_SIGNAL="1"))
    assert h.shop.version()["sha"] == h.shas["feature"]
    s = summary(h)
    assert s["sha"] == h.shas["feature"]
    assert [s[k] for k in ("smoke_sso", "smoke_realtime", "reconnectOk", "smoke_web_e2e", "call_relay")] == [
        "PASS", "PASS", "true", "PASS", "PASS"]


def ready(h: Harness, env: str) -> str:
    """The manual GO items ticked (through the release session, as the readiness screen does: the command line
    has no tick), then the check: every gate passes, and the rollback target not yet fixed alone says NO-GO."""
    tick(h, env, MANUAL_GO, actor="Ann")
    p = h.cockpit("check", "--json", env_name=env)
    verdict = json.loads(p.stdout)
    assert p.returncode == 1 and verdict["target"] == {"ref": "origin/main", "sha": h.shas["main"], "on_main": True}
    assert [c["id"] for c in verdict["checks"] if c["status"] != "pass" and c["blocking"]] == ["rollback-ref"], p.stdout
    assert not any(c["blocking"] for c in verdict["checks"] if c["id"] in ("user-errors", "realtime-disconnects"))
    assert verdict["reasons"] == ["MUST 'rollback ref is a previous known-good main SHA, fixed before the rollout' is "
                                  "pending: no rollback ref recorded yet (it is fixed at sign-off)"]
    return verdict["release_id"]


def roll_out(h: Harness, env: str) -> list[tuple[str, str]]:
    """`cockpit stage start rollout --yes` runs every step up to the logs review, which waits for a person (exit 3);
    the Release Owner's note lets it finish."""
    p = h.cockpit("stage", "start", "rollout", "--yes", "--json", env_name=env)
    first = json.loads(p.stdout)
    assert p.returncode == 3 and first["waiting"] == "logs-review", p.stdout + p.stderr
    second = json.loads(ok(h.cockpit("stage", "start", "rollout", "--yes", "--json", "--manual",
                                     "logs-review=no critical errors in the app log since the deploy", env_name=env)))
    return [(s["step"], s["outcome"]) for s in first["steps"] + second["steps"]]


def through_test(h: Harness) -> str:
    """The origin/main SHA in test: GO, the rollout, stable, closed. The release's id."""
    release = ready(h, "test")
    ok(signoff(h, "test", COMMS))
    assert roll_out(h, "test") == [(s, "done") for s in ROLLOUT]
    ok(h.cockpit("stage", "stable", "rollout", "--note", "test quiet after the window", "--override", OVERRIDE,
                 env_name="test"))
    ok(h.cockpit("release", "close", "--note", "1.2.0 passed test", env_name="test"))
    return release


def test_seed_003_the_main_sha_through_test_then_prod_behind_the_gate(make_harness: Callable[..., Harness]) -> None:
    h = boltorezka(make_harness)
    main, known_good = h.shas["main"], h.shas["known_good"]
    install(h)
    feature_to_test(h)

    # Prod first is refused: the feature branch is not on origin/main (§8.1.1), and main has not passed test.
    p = h.cockpit("check", "--ref", f"origin/{FEATURE_BRANCH}", "--json", env_name="prod")
    verdict = json.loads(p.stdout)
    assert p.returncode == 1 and verdict["target"]["on_main"] is False
    assert {c["id"]: c["status"] for c in verdict["checks"]}["branch-discipline"] == "fail"
    assert any("origin/main" in r for r in verdict["reasons"]), verdict["reasons"]
    p = h.cockpit("check", "--json", env_name="prod")
    assert p.returncode == 1
    assert any(r.startswith(f"target {main[:7]} has not passed test") for r in json.loads(p.stdout)["reasons"])

    # test: the same SHA, to a closed release with its stage stable. The shop ran the feature build; now main,
    # its migration applied by the deploy script, the summary rewritten by the stage's smoke.
    test_release = through_test(h)
    v = h.shop.version()
    assert (v["version"], v["sha"], v["schema"]["database"]) == ("1.2.0", main, 3)
    assert summary(h)["sha"] == main

    # prod: promotion holds now. The sign-off needs the Incident Comms Owner too (§4.1).
    prod_release = ready(h, "prod")
    assert prod_release != test_release
    p = signoff(h, "prod")
    assert p.returncode == 1 and "no Incident Comms Owner is named" in p.stderr, p.stdout + p.stderr
    ok(signoff(h, "prod", COMMS))
    [so] = [e for e in entries(h, prod_release, kinds.SIGNOFF_RECORDED) if e.payload.get("roles", {}).get(
        "Incident Comms Owner")]
    assert so.payload["roles"] == {"Release Owner": "Ann", "Rollback Owner": "Bob", "Incident Comms Owner": "Carol"}
    assert so.payload["rollback_sha"] == known_good and so.actor.name == "Ann"
    [go] = entries(h, prod_release, kinds.DECISION_GO)
    assert go.payload["target_sha"] == main

    calls = len(h.calls())
    assert roll_out(h, "prod") == [(s, "done") for s in ROLLOUT]
    p = h.cockpit("stage", "stable", "rollout", "--note", "health, smoke and logs clean after the window",
                  env_name="prod")
    assert p.returncode != 0 and "guardrail 'prod-health' is watching" in p.stderr, p.stdout + p.stderr
    ok(h.cockpit("stage", "stable", "rollout", "--note", "health, smoke and logs clean after the window",
                 "--override", OVERRIDE, env_name="prod"))
    ok(h.cockpit("release", "close", "--note", "1.2.0 in prod", env_name="prod"))

    # What the prod rollout did to the shop: its image set to main's (the one service the harness has ran it since
    # test, so the rollout had nothing to replace), the smoke's requests served by it, the summary rewritten.
    assert [c["argv"] for c in h.calls("kubectl")[-2:]] == [
        ["-n", "default", "set", "image", "deployment/boltorezka", f"boltorezka=registry.local/boltorezka:{main[:7]}"],
        ["-n", "default", "rollout", "status", "deployment/boltorezka", "--timeout=2m"]]
    assert len(h.calls()) > calls and h.shop.version()["sha"] == main and h.shop.get("/health")[0] == 200
    assert h.shop.deployment()["log"][-1][2] == "GET /api/calls/smoke/hangup 200"
    s = summary(h)
    assert (s["sha"], s["api_url"], s["call_relay"], s["reconnectOk"]) == (main, h.shop.url, "PASS", "true")

    # The log: every step started and finished, in order; the deploy on the main SHA; the smoke's file tied to it.
    assert steps_logged(h, prod_release) == each_started_then_done(ROLLOUT)
    finished = {e.payload["step"]: e.payload for e in entries(h, prod_release, kinds.STEP_FINISHED)}
    assert finished["deploy"]["argv"] == ["bash", "./scripts/examples/deploy-prod-from-ref.sh", main, "."]
    assert finished["smoke"]["produces"]["sha256"] == sha256(h.checkout / SUMMARY)
    assert finished["smoke-gate"]["checks"] == {c: "pass" for c in ("smoke-sso", "smoke-realtime", "smoke-reconnect",
                                                                     "smoke-web-e2e", "smoke-call-relay")}
    assert finished["logs-review"]["note"] == "no critical errors in the app log since the deploy"
    # §5.1's triggers: the rollout's guardrails opened as it started (before the deploy), for an hour; the stable
    # cut them short with the override, which the log keeps with its reason and the windows it cut.
    opened = entries(h, prod_release, kinds.GUARDRAIL_OPENED)
    assert [(e.payload["check"], e.payload["window_s"], e.payload["on_breach"]) for e in opened] == \
        [(c, 3600, "alert") for c in GUARDED]
    assert opened[-1].seq < next(e.seq for e in entries(h, prod_release, kinds.STEP_STARTED))
    [marked] = entries(h, prod_release, kinds.STAGE_STABLE)
    assert marked.payload["override"]["reason"] == OVERRIDE
    assert [w["check"] for w in marked.payload["override"]["windows"]] == GUARDED
    kinds_in_order = [e.kind for e in entries(h, prod_release)]
    assert kinds_in_order.index(kinds.SIGNOFF_RECORDED) < kinds_in_order.index(kinds.DECISION_GO) \
        < kinds_in_order.index(kinds.STAGE_STARTED) < kinds_in_order.index(kinds.STAGE_STABLE) \
        < kinds_in_order.index(kinds.RELEASE_DONE)

    # The Incident Comms Owner's status note goes to the team channel, and what the cockpit logged with it.
    ok(h.cockpit("log", "note", "--release", prod_release, "1.2.0 in prod, closed", actor="Carol", env_name="prod"))
    assert [k for env, k in channel(h) if env == "prod"] == [kinds.DECISION_GO, kinds.STAGE_STARTED,
                                                             kinds.STAGE_STABLE, kinds.RELEASE_DONE, "note"]
    assert [k for env, k in channel(h) if env == "test"] == [kinds.DECISION_GO, kinds.STAGE_STARTED,
                                                             kinds.STAGE_STABLE, kinds.RELEASE_DONE]

    # §6's local artifact, and the chain.
    ok(h.cockpit("log", "export", "--format", "tsv", "--output", ".deploy/release-log.tsv"))
    with open(h.checkout / ".deploy" / "release-log.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    go_rows = [r for r in rows if r["event"] == kinds.DECISION_GO]
    assert [(r["environment"], r["target_sha"], r["decision"]) for r in go_rows] == [("test", main, "GO"),
                                                                                      ("prod", main, "GO")]
    assert "intact" in ok(h.cockpit("log", "verify"))


def test_seed_003_the_declared_rollback_reruns_the_smoke_it_verifies(make_harness: Callable[..., Harness]) -> None:
    h = boltorezka(make_harness)
    main, known_good = h.shas["main"], h.shas["known_good"]
    install(h)
    feature_to_test(h)
    through_test(h)
    release = ready(h, "prod")
    ok(signoff(h, "prod", COMMS))

    # The rollout reaches the logs review; there the Release Owner finds a critical error (§5.1 "message
    # delivery/idempotency regressions") and the Rollback Owner rolls back instead of confirming it.
    p = h.cockpit("stage", "start", "rollout", "--yes", "--json", env_name="prod")
    assert p.returncode == 3 and json.loads(p.stdout)["waiting"] == "logs-review"
    h.shop.log("CRITICAL message delivery: duplicate message ids in room smoke")
    assert "CRITICAL message delivery" in ok(h.run(["kubectl", "logs", "deployment/boltorezka", "--since=1h"]))
    before = (h.checkout / SUMMARY).read_text(encoding="utf-8")
    assert summary(h)["sha"] == main
    mtime = (h.checkout / SUMMARY).stat().st_mtime_ns

    p = h.cockpit("rollback", "--yes", "--json", "--manual", "logs-review=no critical errors since the rollback",
                  "--note", "duplicate message ids after 1.2.0", actor="Bob", env_name="prod")
    out = json.loads(ok(p))
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [
        ("flags", "done"), ("redeploy", "done"), ("smoke", "done"), ("logs-review", "done"), ("verify", "done")]
    assert out["steps"][1]["argv"] == ["bash", "./scripts/examples/deploy-prod-from-ref.sh", known_good, "."]

    # The previous known-good main SHA answers again: built, pushed and rolled out by the seed's script.
    v = h.shop.version()
    assert (v["version"], v["sha"]) == ("1.0.0", known_good) and h.shop.get("/health")[0] == 200
    assert h.calls("kubectl")[-2]["argv"][-1] == f"boltorezka=registry.local/boltorezka:{known_good[:7]}"

    # The smoke was re-run by the rollback: the summary was rewritten, by this run, against what answers now, and
    # verify judged that file (its evidence holds the new text), not the one the rollout left.
    now = (h.checkout / SUMMARY).read_text(encoding="utf-8")
    assert now != before and (h.checkout / SUMMARY).stat().st_mtime_ns > mtime
    assert summary(h)["sha"] == known_good and summary(h)["smoke_sso"] == summary(h)["smoke_realtime"] == "PASS"
    log = entries(h, release)
    steps = [e for e in log if e.kind == kinds.ROLLBACK_STEP]
    assert [e.payload["step"] for e in steps] == ["flags", "redeploy", "smoke", "logs-review", "verify"]
    smoke, verify = steps[2], steps[4]
    assert smoke.payload["produces"]["sha256"] == sha256(h.checkout / SUMMARY)
    assert verify.payload["evidence"] == {"prod-health": "pass", "smoke-sso": "pass", "smoke-realtime": "pass"}
    [taken] = [e for e in log if e.kind == kinds.EVIDENCE_TAKEN and smoke.seq < e.seq < verify.seq]
    read = {x["id"]: x for x in taken.payload["evidence"]}
    assert read["smoke-sso"]["excerpt"] == now and f"sha={known_good}" in read["smoke-realtime"]["excerpt"]
    assert steps[3].payload["note"] == "no critical errors since the rollback" and steps[3].actor.name == "Bob"
    [finished] = [e for e in log if e.kind == kinds.ROLLBACK_FINISHED]
    assert finished.payload["outcome"] == "done" and finished.seq > verify.seq

    # The Incident Comms Owner's status note carries the rollback to the team channel.
    ok(h.cockpit("log", "note", "--release", release, "rolled back to 1.0.0; duplicate message ids under review",
                 actor="Carol", env_name="prod"))
    told = [k for env, k in channel(h) if env == "prod"]
    assert told[-8:] == [kinds.ROLLBACK_STARTED, *[kinds.ROLLBACK_STEP] * 5, kinds.ROLLBACK_FINISHED, "note"]
    assert "intact" in ok(h.cockpit("log", "verify"))


def test_seed_003_errors_after_the_rollout_alert_the_owners_and_the_rollback_ends_the_watch(
        make_harness: Callable[..., Harness]) -> None:
    """§5.1 "критичные user-facing ошибки после rollout" with only `cockpit watch` running: users on the app, the
    suite's real Prometheus scraping the shop; after the rollout 1.2.0 fails a fifth of their requests. The
    user-errors guardrail (relative to the share before the deploy) breaches and alerts — §5.3's rollback is
    "manual, explicit": nothing is rolled back by itself, the team channel hears of it; the Rollback Owner rolls
    back, which ends the watch. The guardrails are sampled every second here (every 30 s as written)."""
    h = boltorezka(make_harness)
    main, known_good = h.shas["main"], h.shas["known_good"]
    install(h, sampled_every_second=True)
    job = h.scrape_metrics(traffic=("/api/rooms/", "/api/messages/"))
    feature_to_test(h)
    release = ready(h, "test")
    ok(signoff(h, "test", COMMS))
    assert roll_out(h, "test") == [(s, "done") for s in ROLLOUT]
    assert h.shop.version()["sha"] == main
    h.shop.set_fault(None, 0.2, version="1.2.0")   # what 1.2.0 does under real users, not in the smoke
    h.prometheus.wait_for(f'sum(rate(http_requests_total{{job="{job}",code="500"}}[5m]))',
                          lambda r: bool(r) and float(r[0]["value"][1]) > 0)

    watcher = subprocess.Popen([sys.executable, "-m", "cockpit", "watch", "--config", str(h.runbook_path),
                                "--env", "test", "--as", "Carol"], cwd=h.checkout, env=h.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while not entries(h, release, kinds.GUARDRAIL_ACTED):
            assert watcher.poll() is None and time.monotonic() < deadline, "no alert from the watcher"
            time.sleep(0.3)
        # The alert: logged with its samples against the baseline; nothing rolled back by itself.
        [breach] = entries(h, release, kinds.GUARDRAIL_BREACHED)
        assert (breach.payload["check"], breach.payload["action"], breach.payload["failures"]) == \
            ("user-errors", "alert", 3)
        assert breach.payload["baseline"] == 0 and "above the baseline" in breach.payload["detail"]
        [acted] = entries(h, release, kinds.GUARDRAIL_ACTED)
        assert (acted.payload["action"], acted.payload["flags_off"], acted.payload["ok"]) == ("alert", [], True)
        assert h.shop.version()["sha"] == main
        deadline = time.monotonic() + 30   # the watcher delivers the team channel's messages after its round
        while [k for env, k in channel(h) if k.startswith("guardrail.")] != [kinds.GUARDRAIL_BREACHED,
                                                                              kinds.GUARDRAIL_ACTED]:
            assert time.monotonic() < deadline, channel(h)
            time.sleep(0.3)
        p = h.cockpit("stage", "stable", "rollout", "--note", "quiet?", env_name="test")
        assert p.returncode != 0 and "override with a reason" in p.stderr, p.stdout + p.stderr

        # The Rollback Owner decides: the declared rollback; the 1.0.0 it returns serves without the errors, and
        # with the rollback the watching is over: the watcher leaves by itself.
        p = h.cockpit("rollback", "--yes", "--json", "--manual", "logs-review=errors gone since the rollback",
                      "--note", "5xx after 1.2.0 (user-errors guardrail)", actor="Bob", env_name="test")
        assert [s["outcome"] for s in json.loads(ok(p))["steps"]] == ["done"] * 5
        out, _ = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, out
    assert "user-errors: BREACHED" in out and "alert raised" in out, out
    assert h.shop.version()["sha"] == known_good
    log = entries(h, release)
    order = [e.kind for e in log]
    assert order.index(kinds.GUARDRAIL_ACTED) < order.index(kinds.ROLLBACK_STARTED)
    assert kinds.STAGE_KILLED not in order and kinds.WATCH_STOPPED in order
    assert "intact" in ok(h.cockpit("log", "verify"))
