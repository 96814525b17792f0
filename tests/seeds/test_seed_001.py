"""Seed 001 run end to end, headless, as its team would run it from CI: the Epic 2 code deployed with every
flag OFF, then one service at a time behind its flag (products, cart, orders), each watched for its window,
then production validation — in staging first, then the same SHA in production; and its three rollbacks:
the code rollback the runbook declares, one service's flag (partial), every flag at once (emergency).

Real: the cockpit (each command a process of its own), git with its remote, the shops (HTTP on loopback)
with their PostgreSQL databases and Redis, the repository's own smoke and load test. kubectl and docker are
TEST DOUBLES (tests/seeds/fakes: no cluster, daemon or registry runs here); they change the shop the way the
real tools change the real service. The seed's monitor windows and load tests are cut short (seed_001_cutover.SHORTER);
its services' guardrail windows (days) are cut short by an override with its reason, which the log keeps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

from cockpit.core import kinds
from cockpit.core.log.entry import parse_at
from cockpit.runbook.config import load_runbook
from cockpit.runbook.step_ids import step_id
from tests.seeds.harness import Harness
from tests.seeds.seed_001_cutover import (CART, FLAGS, ORDERS, OVERRIDE, PRODUCTS, STAGES, Seed001, make_seed_001,
                                          migrate_both, ok)

OFF = {f: "false" for f in FLAGS}


def flags_served(seed: Seed001, env: str) -> dict[str, bool]:
    """The flags as the service itself reports them (/version)."""
    return seed.cluster(env).shop.version()["flags"]


def steps_of(seed: Seed001, release_id: str) -> list[tuple[str, str, str, str | None]]:
    return [(e.kind, e.payload["stage"], e.payload["step"], e.payload.get("outcome"))
            for e in seed.entries(release_id=release_id, kind="step.")]


def through_staging(make_harness: Callable[..., Harness]) -> tuple[Seed001, str]:
    seed = make_seed_001(make_harness)
    migrate_both(seed)
    return seed, seed.release("staging")


def test_the_rollout_passes_staging_then_production_service_by_service(make_harness: Callable[..., Harness]) -> None:
    seed = make_seed_001(make_harness)
    prod, staging = seed.production, seed.staging
    head, known_good = prod.shas["head"], prod.shas["known_good"]

    # Production first is NO-GO, naming what is missing: the SHA has not passed staging, and the seed's
    # "No Migrations Required" is checked, not believed (the harness's 1.1.0 brings migration 0003).
    code, out = seed.json("production", "check")
    assert code == 1 and len(out["reasons"]) == 2, out
    assert out["reasons"][0] == ("MUST 'No Migrations Required: none pending (the service layer uses existing "
                                 "models)' failed: exit 1 (expected 0): pending: "
                                 "migrations/0003_booking_requests.up.sql")
    assert out["reasons"][1].startswith(f"target {head[:7]} has not passed staging: no closed, stable release"), out
    migrate_both(seed)

    # -- staging: the whole procedure, to a closed, stable release ---------------------------------------
    staging_id = seed.release("staging")
    v = staging.shop.version()
    assert (v["version"], v["sha"]) == ("1.1.0", head) and all(flags_served(seed, "staging").values())
    assert prod.shop.version()["sha"] == known_good   # production untouched

    # -- production -----------------------------------------------------------------------------------------
    ok(seed.cockpit("production", "check"))           # staging passed: GO
    # The on-call engineer escalates to the engineering lead: one person cannot be both.
    p = seed.cockpit("production", "signoff", "--release-owner", "Ann", "--rollback-owner", "Bob",
                     "--rollback-ref", "v1.0.0", "--role", "On-Call Engineer=Erik", "--role", "Engineering Lead=Erik",
                     "--role", "DevOps=Dana", "--role", "Product Owner=Pia", "--decision", "go", "--no-evidence")
    assert p.returncode == 1 and ("the On-Call Engineer and the Engineering Lead must be different people: both are "
                                  "Erik") in p.stderr, p.stderr
    release_id = seed.sign_off_and_go("production", check=False)
    signoff = seed.entries(release_id=release_id, kind=kinds.SIGNOFF_RECORDED)[-1].payload
    assert signoff["roles"] == {"Release Owner": "Ann", "Rollback Owner": "Bob", "On-Call Engineer": "Olga",
                                "Engineering Lead": "Erik", "DevOps": "Dana", "Product Owner": "Pia"}

    # Phase 1: the code of exactly the released SHA, every flag OFF, legacy code answering.
    assert seed.start("production", "deploy-code")[-1] == ("verify", "done")
    v = prod.shop.version()
    assert (v["version"], v["sha"], v["image"]) == ("1.1.0", head, f"designia-backend:{head[:7]}")
    assert seed.pods_env("production") == OFF and not any(flags_served(seed, "production").values())
    assert [c["did"] for c in prod.calls("docker")] == [
        f"built designia-backend:{head[:7]}, designia-backend:latest (version 1.1.0, sha {head[:7]})",
        f"pushed designia-backend:{head[:7]}", "pushed designia-backend:latest"]
    seed.stable("production", "deploy-code")

    # Phase 2: one service at a time; each flip rolls the pods, which then serve with it.
    for stage, flag, on in (("products", PRODUCTS, [PRODUCTS]), ("cart", CART, [PRODUCTS, CART]),
                            ("orders", ORDERS, FLAGS)):
        before, calls = prod.shop.deployment()["revision"], len(prod.calls("kubectl"))
        assert seed.start("production", stage)[-2:] == [("flag-on", "done"), ("watch", "done")]
        assert flags_served(seed, "production") == {f: f in on for f in FLAGS}
        assert prod.shop.deployment()["revision"] == before + 1
        did = [c["did"] for c in prod.calls("kubectl")[calls:]]
        flip = did.index(f"set env of deployment/designia-backend: {flag}=true")
        assert did[flip + 1] == "rollout of deployment/designia-backend complete"
        seed.stable("production", stage)

    # Phase 3: the integration tests and the load tests, their reports read by the checks.
    assert seed.start("production", "validation")[-1] == ("uat-purchase-flow", "done")
    load = json.loads((prod.checkout / "loadtest" / "products.json").read_text())["metrics"]
    assert load["http_reqs"]["values"]["count"] == 100 and load["http_req_failed"]["values"]["rate"] == 0
    seed.stable("production", "validation")
    ok(seed.cockpit("production", "release", "close", "--note", "all three services on the service layer"))

    v = prod.shop.version()
    assert (v["version"], v["sha"]) == ("1.1.0", head)
    assert flags_served(seed, "production") == dict.fromkeys(FLAGS, True)
    assert prod.git("rev-parse", "service-layer-deploy-code^{commit}") == head
    assert f"{head}\trefs/tags/service-layer-deploy-code^{{}}" in prod.git("ls-remote", "--tags", "origin").splitlines()

    # The log: every step of every stage started and finished, in order, in both releases.
    runbook = load_runbook(seed.config)
    expected = []
    for stage in runbook.stages:
        for i, step in enumerate(stage.steps, 1):
            expected += [(kinds.STEP_STARTED, stage.id, step_id(step, i), None),
                         (kinds.STEP_FINISHED, stage.id, step_id(step, i), "done")]
    assert steps_of(seed, staging_id) == expected
    assert steps_of(seed, release_id) == expected
    story = [(e.kind, e.payload.get("stage")) for e in seed.entries(release_id=release_id)
             if e.kind in (kinds.DECISION_GO, kinds.STAGE_STARTED, kinds.STAGE_STABLE, kinds.RELEASE_DONE)]
    assert story == [(kinds.DECISION_GO, None), *[(k, s) for s in STAGES for k in
                                                   (kinds.STAGE_STARTED, kinds.STAGE_STABLE)],
                     (kinds.RELEASE_DONE, None)]
    # Each service's guardrails opened as its flag went on ("Monitor for 24-48 hours", "72 hours minimum"), and
    # its stable cut them short with the override, the windows it cut kept with the reason.
    opened = {(e.payload["stage"], e.payload["check"]): (e.payload["window_s"], e.payload["on_breach"])
              for e in seed.entries(release_id=release_id, kind=kinds.GUARDRAIL_OPENED)}
    day = 24 * 3600
    assert opened == {("products", "service-errors"): (day, "kill"), ("products", "products-p95"): (day, "alert"),
                      ("cart", "service-errors"): (day, "kill"), ("orders", "service-errors"): (3 * day, "kill"),
                      ("orders", "order-failures"): (3 * day, "kill"),
                      ("orders", "orders-create-p95"): (3 * day, "alert")}
    stables = {e.payload["stage"]: e.payload for e in seed.entries(release_id=release_id, kind=kinds.STAGE_STABLE)}
    for stage in ("products", "cart", "orders"):
        assert stables[stage]["override"]["reason"] == OVERRIDE
        assert {w["check"] for w in stables[stage]["override"]["windows"]} == {c for s, c in opened if s == stage}
    assert "override" not in stables["deploy-code"] and "override" not in stables["validation"]
    # The release-day plan fixed at GO: products ~2 h after GO, cart in week 2, orders in week 3.
    go = seed.entries(release_id=release_id, kind=kinds.DECISION_GO)[-1]
    planned = {(r["stage"], r["step"]): round((parse_at(r["planned"]) - go.at) / timedelta(hours=1))
               for r in go.payload["plan"] if r["planned"]}
    assert planned == {("products", "flag-on"): 2, ("cart", "flag-on"): 7 * 24, ("orders", "flag-on"): 14 * 24,
                       ("validation", "integration-tests"): 17 * 24}
    assert "intact" in ok(seed.cockpit("production", "log", "verify"))


def test_the_code_rollback_the_runbook_declares_redeploys_the_commit_before_epic_2_and_reverts_main(
        make_harness: Callable[..., Harness]) -> None:
    seed, _ = through_staging(make_harness)
    prod = seed.production
    head, known_good = prod.shas["head"], prod.shas["known_good"]
    release_id = seed.sign_off_and_go("production")
    seed.start("production", "deploy-code")
    seed.stable("production", "deploy-code")
    seed.start("production", "products")
    assert flags_served(seed, "production")[PRODUCTS] and prod.shop.version()["sha"] == head

    # "If Service Layer Must Be Removed": the Rollback Owner runs the rollback the runbook declares.
    started = time.monotonic()
    code, out = seed.json("production", "rollback", "--yes", actor="Bob")
    assert code == 0, out
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [
        ("flags", "done"), ("previous-image", "done"), ("rollout", "done"), ("running-previous", "done"),
        ("legacy-active", "done"), ("revert-main", "done"), ("verify", "done")]
    assert time.monotonic() - started < 120
    v = prod.shop.version()
    assert (v["version"], v["sha"], v["image"]) == ("1.0.0", known_good, f"designia-backend:{known_good[:7]}")
    assert not any(flags_served(seed, "production").values()) and prod.shop.get("/health")[0] == 200

    # main reverted and pushed: a commit on top of the release whose tree is the commit before Epic 2.
    prod.git("fetch", "-q", "origin")
    assert prod.git("rev-parse", "origin/main^") == head
    assert prod.git("rev-parse", "origin/main^{tree}") == prod.git("rev-parse", f"{known_good}^{{tree}}")

    steps = [(e.payload["step"], e.payload.get("outcome")) for e in seed.entries(release_id=release_id,
                                                                                  kind=kinds.ROLLBACK_STEP)]
    assert [s for s, outcome in steps if outcome == "done"] == [
        "flags", "previous-image", "rollout", "running-previous", "legacy-active", "revert-main", "verify"]
    assert seed.entries(release_id=release_id, kind=kinds.ROLLBACK_FINISHED)[-1].actor.name == "Bob"
    assert "intact" in ok(seed.cockpit("production", "log", "verify"))


def test_a_partial_rollback_turns_only_the_orders_service_back_to_legacy(make_harness: Callable[..., Harness]) -> None:
    seed, _ = through_staging(make_harness)
    prod = seed.production
    release_id = seed.sign_off_and_go("production")
    for stage in ("deploy-code", "products", "cart"):
        seed.start("production", stage)
        seed.stable("production", stage)
    seed.start("production", "orders")
    assert all(flags_served(seed, "production").values())

    # "Orders service having issues, rollback just orders"; products and cart stay on, no redeploy.
    images = prod.shop.version()["image"]
    code, out = seed.json("production", "rollback", "--stage", "orders", "--yes", actor="Bob")
    assert code == 0, out
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [
        ("flags", "done"), ("orders-legacy", "done"), ("verify", "done")]
    assert flags_served(seed, "production") == {PRODUCTS: True, CART: True, ORDERS: False}
    assert seed.pods_env("production") == {PRODUCTS: "true", CART: "true", ORDERS: "false"}
    assert prod.shop.version()["image"] == images
    assert not [c for c in prod.calls("kubectl") if c["argv"][:2] == ["set", "image"]][1:]   # only Phase 1's

    steps = [(e.payload["step"], e.payload.get("outcome")) for e in seed.entries(release_id=release_id,
                                                                                  kind=kinds.ROLLBACK_STEP)]
    assert [s for s, outcome in steps if outcome == "done"] == ["flags", "orders-legacy", "verify"]
    assert "intact" in ok(seed.cockpit("production", "log", "verify"))


def test_the_emergency_rollback_turns_every_flag_off_at_once_within_two_minutes(
        make_harness: Callable[..., Harness]) -> None:
    seed, _ = through_staging(make_harness)
    prod = seed.production
    release_id = seed.sign_off_and_go("production")
    for stage in ("deploy-code", "products", "cart"):
        seed.start("production", stage)
        seed.stable("production", stage)
    seed.start("production", "orders")
    assert all(flags_served(seed, "production").values())

    # "If Critical Issue: Disable all feature flags ... Time to Rollback: < 2 minutes"
    calls, revision = len(prod.calls("kubectl")), prod.shop.deployment()["revision"]
    started = time.monotonic()
    code, out = seed.json("production", "flags", "kill", "--reason", "order creation failing", actor="Olga")
    elapsed = time.monotonic() - started
    assert code == 0, out
    assert elapsed < 120, elapsed
    assert not any(flags_served(seed, "production").values()) and seed.pods_env("production") == OFF
    flips = [c["did"] for c in prod.calls("kubectl")[calls:] if c["argv"][:2] == ["set", "env"]
             and "--list" not in c["argv"]]
    assert sorted(flips) == sorted(f"set env of deployment/designia-backend: {f}=false" for f in FLAGS)
    assert prod.shop.deployment()["revision"] == revision + 3   # each flip restarted the pods

    # "Verify legacy code active": the cockpit re-takes it from the serving pods.
    code, out = seed.json("production", "check")
    legacy = next(c for c in out["checks"] if c["id"] == "flags-default-off")
    assert legacy["status"] == "pass", legacy
    flipped = [e.payload for e in seed.entries(release_id=release_id, kind=kinds.FLAG_FLIPPED)][-3:]
    assert sorted(p["flag"] for p in flipped) == sorted(FLAGS)
    assert all(p["ok"] and p["after"] is False and p["reason"] == "order creation failing" for p in flipped)
    assert "intact" in ok(seed.cockpit("production", "log", "verify"))
