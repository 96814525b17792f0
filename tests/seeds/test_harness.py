"""The seed harness changes the shop the way the real tools change a real service: a deploy changes
what /version reports, migrations move the real database's schema up and down, a real dump restores
what it saved, `kubectl set env` flips a flag the service acts on, and a tool asked something it does
not know fails loudly. kubectl and docker are TEST DOUBLES here (no cluster, daemon or registry can
run on this machine); PostgreSQL, pg_dump, pg_restore, psql, Redis and git are the real ones."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cockpit.core.log.base import LogFilter
from tests.seeds.harness import ROOT, Harness

FLAG = "FEATURE_FLAG_USE_SERVICE_LAYER_PRODUCTS"


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_before_the_release_the_known_good_version_runs_healthy(harness: Harness) -> None:
    v = harness.shop.version()
    assert (v["version"], v["sha"]) == ("1.0.0", harness.shas["known_good"])
    assert v["schema"] == {"database": 2, "required": 2} and not any(v["flags"].values())
    status, body = harness.shop.get("/health")
    assert status == 200 and body["checks"] == {"database": "ok", "redis": "ok", "schema": "ok", "external": "ok"}
    assert harness.git("rev-parse", "origin/main") == harness.shas["head"]
    assert harness.git("rev-parse", "v1.0.0^{commit}") == harness.shas["known_good"]


def test_a_deploy_changes_the_version_and_a_failed_rollout_keeps_the_old_pods_serving(harness: Harness) -> None:
    head = harness.shas["head"]
    ok(harness.run(["kubectl", "set", "image", "deployment/shop", f"shop=registry.local/shop:{head[:7]}"]))
    assert "successfully rolled out" in ok(harness.run(["kubectl", "rollout", "status", "deploy/shop"]))
    assert (harness.shop.version()["version"], harness.shop.version()["sha"]) == ("1.1.0", head)
    # 1.1.0 needs migration 0003: deployed before it, the service says so (seed 002: schema first).
    status, body = harness.shop.get("/health")
    assert status == 503 and body["checks"]["schema"] == "behind: database at 2, code needs 3"

    # An image nobody pushed: the new pods cannot pull it, the rollout fails, 1.1.0 keeps answering.
    ok(harness.run(["kubectl", "set", "image", "deployment/shop", "shop=registry.local/shop:nope"]))
    p = harness.run(["kubectl", "rollout", "status", "deployment/shop", "--timeout=90s"])
    assert p.returncode == 1 and "exceeded its progress deadline" in p.stderr and "ImagePullBackOff" in p.stderr
    assert harness.shop.version()["version"] == "1.1.0"
    assert "ImagePullBackOff" in ok(harness.run(["kubectl", "get", "pods", "--no-headers"]))

    # Undo twice: back to 1.1.0's template, then (kubectl's history) to the one before it.
    ok(harness.run(["kubectl", "rollout", "undo", "deployment/shop"]))
    assert harness.shop.version()["sha"] == head
    ok(harness.run(["kubectl", "rollout", "undo", "deployment/shop", "--to-revision=1"]))
    assert harness.shop.version()["version"] == "1.0.0"
    assert harness.run(["kubectl", "get", "deployment", "shop", "-o",
                        "jsonpath={.spec.template.spec.containers[0].image}"]).stdout == \
        f"registry.local/shop:{harness.shas['known_good'][:7]}"


def test_the_repos_deploy_script_builds_pushes_and_rolls_out_the_ref_it_is_given(harness: Harness) -> None:
    sha = harness.commit("shop 1.2.0", {"VERSION": "1.2.0\n"})   # no CI image: the script builds it
    out = ok(harness.run(["bash", "scripts/deploy-prod-from-ref.sh", "origin/main", "."]))
    assert f"deployed {sha}" in out
    assert (harness.shop.version()["version"], harness.shop.version()["sha"]) == ("1.2.0", sha)
    tag = f"registry.local/shop:{sha[:7]}"
    assert [c["did"] for c in harness.calls()] == [
        f"built {tag} (version 1.2.0, sha {sha[:7]})", f"pushed {tag}",
        f"set image of deployment/shop to {tag}", "rollout of deployment/shop complete"]

    # A commit whose code cannot start (app/BROKEN): the rollout fails, 1.2.0 keeps serving.
    harness.commit("shop 1.3.0: broken at start", {"VERSION": "1.3.0\n", "app/BROKEN": "ImportError\n"})
    p = harness.run(["bash", "scripts/deploy-prod-from-ref.sh", "origin/main", "."])
    assert p.returncode == 1 and "CrashLoopBackOff" in p.stderr
    assert harness.shop.version()["version"] == "1.2.0"


def test_migrations_move_the_real_schema_up_and_down(harness: Harness) -> None:
    assert harness.shop.schema_version() == 2
    assert "0003_booking_requests  additive" in ok(harness.run(["bash", "scripts/migrate.sh", "dry-run"]))
    assert "schema at 3 (1 applied)" in ok(harness.run(["bash", "scripts/migrate.sh", "up"]))
    assert harness.shop.schema_version() == 3
    assert harness.shop.sql("select count(*) from booking_requests") == [(0,)]
    assert "reverted 0003_booking_requests" in ok(harness.run(["bash", "scripts/migrate.sh", "down"]))
    assert harness.shop.schema_version() == 2
    assert harness.shop.sql("select to_regclass('booking_requests')") == [(None,)]

    # seed 000 §6 / seed 002 §7.2: a destructive migration fails the dry-run; one without a down file
    # cannot be reverted (the dry-run's output names it; `down` refuses).
    harness.commit("drop legacy price", {"migrations/0004_drop_price.up.sql":
                                         "alter table products drop column price_cents;\n"})
    p = harness.run(["bash", "scripts/migrate.sh", "dry-run", "--fail-on-destructive"])
    assert p.returncode == 1 and "0004_drop_price  DESTRUCTIVE" in p.stdout
    ok(harness.run(["bash", "scripts/migrate.sh", "up"]))
    p = harness.run(["bash", "scripts/migrate.sh", "down"])
    assert p.returncode == 1 and "migration 4 is irreversible" in p.stderr
    assert harness.shop.schema_version() == 4


def test_a_real_dump_restores_the_data_and_the_schema_it_saved(harness: Harness) -> None:
    before = harness.shop.sql("select id, name, price_cents from products order by id")
    assert len(before) == 3
    ok(harness.run(["pg_dump", "--format=custom", "--file=backups/pre-release.dump"]))
    dump = harness.checkout / "backups" / "pre-release.dump"
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert harness.git("status", "--porcelain") == ""   # backups are not part of the repo

    ok(harness.run(["bash", "scripts/migrate.sh", "up"]))
    harness.shop.sql("delete from products where price_cents > 50000")
    harness.shop.sql("insert into products (name, price_cents) values ('wrong', 1)")
    assert harness.shop.schema_version() == 3

    restore = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
               "--dbname", harness.env()["PGDATABASE"], str(dump)]
    # The real pg_restore refuses to drop what a later migration made depend on the dumped tables,
    # and in one transaction that refusal changes nothing.
    p = harness.run(restore)
    assert p.returncode == 1 and "booking_requests_product_id_fkey" in p.stderr
    assert harness.shop.schema_version() == 3
    ok(harness.run(["psql", "-v", "ON_ERROR_STOP=1", "-c", "drop schema public cascade; create schema public"]))
    ok(harness.run(restore))
    assert harness.shop.sql("select id, name, price_cents from products order by id") == before
    assert harness.shop.schema_version() == 2
    assert harness.shop.get("/health")[0] == 200
    # psql reads the same database from the environment, as seed 004's checks do.
    assert ok(harness.run(["psql", "-tAc", "select count(*) from products"])).strip() == "3"


def test_kubectl_set_env_flips_a_flag_the_service_acts_on(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(app="designia-backend", flags=[FLAG, "FEATURE_FLAG_USE_SERVICE_LAYER_CART"], flags_in="env",
                     banner=["Django version 5.0.6, using settings 'designiaBackend.settings'"])
    listed = ok(h.run(["kubectl", "set", "env", "deploy/designia-backend", "--list"]))
    assert f"{FLAG}=false" in listed.splitlines()

    # config/001's command backend, verbatim: the flag set through kubectl, the rollout waited for.
    ok(h.run(["sh", "-c", 'kubectl set env deploy/designia-backend "$COCKPIT_FLAG=$COCKPIT_VALUE" && '
                          "kubectl rollout status deploy/designia-backend --timeout=90s"],
             COCKPIT_FLAG=FLAG, COCKPIT_VALUE="true"))
    got = h.run(["sh", "-c", 'kubectl set env deploy/designia-backend --list | grep -E "^$COCKPIT_FLAG=" | cut -d= -f2-'],
                COCKPIT_FLAG=FLAG)
    assert ok(got).strip() == "true"
    assert h.shop.version()["flags"] == {FLAG: True, "FEATURE_FLAG_USE_SERVICE_LAYER_CART": False}
    assert h.shop.get("/api/products/")[1]["flags"][FLAG] is True
    assert ok(h.run(["kubectl", "exec", "deploy/designia-backend", "--", "printenv", FLAG])).strip() == "true"

    # The env change rolled new pods: their log starts with the banner and holds the request.
    logs = ok(h.run(["kubectl", "logs", "deployment/designia-backend", "--since=1h"])).splitlines()
    assert logs == ["Django version 5.0.6, using settings 'designiaBackend.settings'", "GET /api/products/ 200"]
    # The flag API is read-only for flags that live in env vars; an undo returns the old env too.
    assert h.shop.get("/admin/flags/" + FLAG)[1] == {"name": FLAG, "enabled": True}
    ok(h.run(["kubectl", "rollout", "undo", "deployment/designia-backend"]))
    assert h.shop.flags()[FLAG] is False


def test_seed_001s_phase_1_as_written_deploys_what_the_checkout_holds(make_harness: Callable[..., Harness]) -> None:
    h = make_harness(app="designia-backend", image="designia-backend", runs_latest=True)
    assert h.shop.version()["image"] == "designia-backend:latest" and h.shop.version()["version"] == "1.0.0"
    ok(h.run(["docker", "build", "-t", "designia-backend:latest", "."]))
    assert h.shop.version()["version"] == "1.0.0"   # built, not pushed: the cluster cannot see it yet
    ok(h.run(["docker", "push", "designia-backend:latest"]))
    ok(h.run(["kubectl", "rollout", "restart", "deployment/designia-backend"]))
    assert (h.shop.version()["version"], h.shop.version()["sha"]) == ("1.1.0", h.shas["head"])


def test_docker_compose_replaces_a_service_even_with_an_image_that_crashes(
        make_harness: Callable[..., Harness]) -> None:
    h = make_harness(app="api", services=["worker"], runtime="compose")
    compose = "services:\n  api:\n    image: registry.local/api:${IMAGE_TAG:?set IMAGE_TAG}\n" \
              "  worker:\n    image: registry.local/worker:${IMAGE_TAG:?set IMAGE_TAG}\n"
    h.commit("compose file", {"docker-compose.prod.yml": compose})
    head = h.shas["head"][:7]
    p = h.run(["docker", "compose", "-f", "docker-compose.prod.yml", "up", "-d", "--no-deps", "api", "worker"],
              IMAGE_TAG=head)
    assert "Container shop-api-1  Recreated" in ok(p)
    assert h.shop.version()["version"] == "1.1.0" and h.shop.get("/worker/version")[1]["version"] == "1.1.0"
    p = h.run(["docker", "compose", "-f", "docker-compose.prod.yml", "up", "-d"])
    assert p.returncode == 15 and "required variable IMAGE_TAG is missing a value" in p.stderr

    h.shop.poison(f"registry.local/api:{head}")
    ok(h.run(["docker", "pull", f"registry.local/api:{head}"]))   # the crashing build reaches the host
    ok(h.run(["docker", "tag", f"registry.local/api:{head}", "registry.local/api:bad"]))
    ok(h.run(["docker", "compose", "-f", "docker-compose.prod.yml", "up", "-d", "api"], IMAGE_TAG="bad"))
    assert h.shop.get("/version")[0] == 503 and h.shop.get("/api/products/")[0] == 502
    # the old version (seed 004's rollback: "Старая версия готова к запуску")
    ok(h.run(["docker", "compose", "-f", "docker-compose.prod.yml", "up", "-d", "api"], IMAGE_TAG="v1.0.0"))
    assert h.shop.version()["version"] == "1.0.0"


def test_the_repos_own_smoke_load_test_and_npm_scripts_run_for_real(harness: Harness) -> None:
    # seed 000's dry-run through the real npm
    assert "0003_booking_requests  additive" in ok(harness.run(
        ["npm", "run", "--silent", "migrate:dry-run", "--", "--fail-on-destructive"]))
    ok(harness.run(["bash", "scripts/smoke.sh", harness.shop.url, "--summary", ".deploy/last-smoke-summary.env",
                    "--junit", "reports/prod-smoke.xml"]))
    summary = (harness.checkout / ".deploy" / "last-smoke-summary.env").read_text().splitlines()
    assert summary[0].startswith("generated_at=") and summary[1:] == [
        "smoke_health=PASS", "smoke_version=PASS", "smoke_api=PASS"]
    harness.shop.stop_redis()
    p = harness.run(["bash", "scripts/smoke.sh", harness.shop.url, "--junit", "reports/prod-smoke.xml"])
    assert p.returncode == 1 and "smoke_health=FAIL (/health -> 503)" in p.stdout
    assert 'failures="1"' in (harness.checkout / "reports" / "prod-smoke.xml").read_text()
    harness.shop.start_redis()

    # seed 004's load test: 120 requests paced at 120/s, measured; k6's summary shape and exit code.
    load = ["python3", "scripts/loadtest.py", f"{harness.shop.url}/api/markets", "--rps", "120", "--duration", "1",
            "--out", "loadtest/k6-summary.json", "--max-p95-ms", "500"]
    ok(harness.run([*load, "--min-rps", "100"]))
    metrics = json.loads((harness.checkout / "loadtest" / "k6-summary.json").read_text())["metrics"]
    assert metrics["http_reqs"]["values"]["count"] == 120 and metrics["http_req_failed"]["values"]["rate"] == 0
    assert metrics["http_req_duration"]["values"]["p(95)"] < 500 and metrics["http_reqs"]["values"]["rate"] >= 100
    assert harness.shop.deployment()["log"][-1][2] == "GET /api/markets 200"
    p = harness.run([*load, "--min-rps", "1000"])
    assert p.returncode == 99 and "thresholds crossed" in p.stderr
    harness.shop.route("/api/markets", {"error": "boom"}, status=500)
    harness.run(load)
    metrics = json.loads((harness.checkout / "loadtest" / "k6-summary.json").read_text())["metrics"]
    assert metrics["http_req_failed"]["values"]["rate"] == 1


def test_redis_and_the_database_checks_are_real(harness: Harness) -> None:
    harness.shop.stop_redis()
    status, body = harness.shop.get("/health")
    assert status == 503 and body["checks"]["redis"].startswith("error:")
    assert harness.shop.get("/health/redis")[0] == 503
    harness.shop.start_redis()
    assert harness.shop.get("/health")[0] == 200
    harness.shop.set_health("external", 503, detail="payments provider timed out")
    assert harness.shop.get("/health")[1]["checks"]["external"] == "payments provider timed out"
    harness.shop.reset_health("external")
    harness.shop.set_health("availability", overlap_errors=0)
    assert harness.shop.get("/health/availability") == (200, {"status": "ok", "service": "availability",
                                                              "overlap_errors": 0})


@pytest.mark.parametrize("argv, message", [
    (["kubectl", "apply", "-f", "x.yaml"], 'unknown command "apply" for "kubectl"'),
    (["kubectl", "set", "image", "deployment/shop", "web=registry.local/shop:x"], 'unable to find container named "web"'),
    (["kubectl", "set", "image", "deployment/nope", "nope=x"], 'deployments.apps "nope" not found'),
    (["kubectl", "rollout", "status", "deployment/shop", "--timout=1m"], "unknown flag: --timout"),
    (["kubectl", "rollout", "status", "deployment/shop", "--timeout=soon"], 'invalid duration "soon"'),
    (["kubectl", "-n", "other", "get", "deployment", "shop"], 'deployments.apps "shop" not found'),
    (["kubectl", "exec", "deploy/shop", "printenv"], "Use exec [POD] -- [COMMAND] instead"),
    (["kubectl", "set", "env", "deploy/shop", "NOT A VAR"], "invalid env"),
    (["docker", "run", "registry.local/shop:latest"], "'run' is not a docker command"),
    (["docker", "push", "registry.local/shop:unbuilt"], "An image does not exist locally"),
    (["docker", "pull", "registry.local/shop:unbuilt"], "manifest for registry.local/shop:unbuilt not found"),
    (["docker", "build", "-t", "Shop:1", "."], "invalid reference format"),
    (["docker", "build", "-t", "registry.local/shop:x", "scripts"], "failed to read dockerfile"),
    (["docker", "build", "--squash", "."], "unknown flag: --squash"),
])
def test_a_fake_asked_what_the_real_tool_would_refuse_fails_loudly(harness: Harness, argv: list[str],
                                                                   message: str) -> None:
    before = harness.shop.state()
    p = harness.run(argv)
    assert p.returncode != 0 and message in p.stderr, p.stderr
    assert harness.shop.state() == before
    assert harness.calls()[-1]["argv"] == argv[1:] and harness.calls()[-1]["exit"] == p.returncode


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "config").glob("00[0-9]-*.toml")))
def test_every_seed_runbook_installs_pointed_at_the_shop(harness: Harness, config: str) -> None:
    path = harness.install_runbook(f"config/{config}", vars={"site": "{url}/site", "web": "{url}/web"})
    runbook = harness.runbook()
    assert path.parent == harness.checkout and Path(runbook.repo_path) == harness.checkout
    assert {e.url for e in runbook.environments.values()} == {harness.shop.url}
    assert runbook.log.path and not runbook.log.dsn
    assert ok(harness.cockpit("config", "check", str(path)))


TINY = '''
[release]
name = "shop"
repo = "."
main = "origin/main"

[log]
path = "somewhere/else.sqlite"

[environments.production]
url = "https://shop.example"
protected = true

[flags]
backend = "http"
url = "{env.url}/admin"
token_secret = "shop-flags"

[[stages]]
id = "release"
title = "1.1.0: the schema first, then the code, then its flag"
flags = ["MARKETPLACE_REQUESTS_ENABLED"]

[[stages.steps]]
id = "migrate"
kind = "command"
run = ["bash", "scripts/migrate.sh", "up"]
timeout = "1m"

[[stages.steps]]
id = "set-image"
kind = "command"
run = ["kubectl", "set", "image", "deployment/shop", "shop=registry.local/shop:{short_sha}"]
timeout = "1m"

[[stages.steps]]
id = "rollout"
kind = "command"
run = ["kubectl", "rollout", "status", "deployment/shop", "--timeout=90s"]
timeout = "2m"

[[stages.steps]]
id = "healthy"
kind = "checks"
checks = ["health"]

[[stages.steps]]
id = "flag-on"
kind = "flags"

[[checks]]
id = "health"
title = "the shop and its database and Redis are healthy"
kind = "http"
url = "{env.url}/health"
json = { status = "ok", "checks.database" = "ok", "checks.redis" = "ok" }

[rollback]
deploy = "bash ./scripts/deploy-prod-from-ref.sh {ref} ."
verify = ["health"]
timeout = "5m"
'''


def test_a_stage_started_headless_runs_kubectl_the_version_changes_and_a_rollback_returns_it(harness: Harness) -> None:
    harness.install_runbook(TINY)
    assert "GO" in ok(harness.cockpit("check"))
    ok(harness.cockpit("signoff", "--release-owner", "Ann", "--rollback-owner", "Bob", "--rollback-ref", "v1.0.0",
                       "--decision", "go"))
    report = json.loads(ok(harness.cockpit("stage", "start", "release", "--yes", "--json")))
    assert [(s["step"], s["outcome"]) for s in report["steps"]] == [
        ("migrate", "done"), ("set-image", "done"), ("rollout", "done"), ("healthy", "done"), ("flag-on", "done")]
    v = harness.shop.version()
    assert (v["version"], v["sha"], v["schema"]["database"]) == ("1.1.0", harness.shas["head"], 3)
    assert v["flags"]["MARKETPLACE_REQUESTS_ENABLED"] is True
    assert [c["argv"][:2] for c in harness.calls("kubectl")] == [["set", "image"], ["rollout", "status"]]
    assert harness.shop.state()["flag_puts"][-1]["actor"] == "Ann"
    ok(harness.cockpit("stage", "stable", "release", "--note", "quiet"))

    # The rollback: the flag back off, the repo's deploy script builds and rolls out v1.0.0 (1.0.0 runs
    # on schema 3: the migration was additive), the health re-taken.
    assert "rollback DONE" in ok(harness.cockpit("rollback", "--yes"))
    v = harness.shop.version()
    assert (v["version"], v["sha"]) == ("1.0.0", harness.shas["known_good"])
    assert not v["flags"]["MARKETPLACE_REQUESTS_ENABLED"] and harness.shop.get("/health")[0] == 200
    ok(harness.cockpit("log", "verify"))

    log = harness.open_log()
    try:
        steps = [e.payload["step"] for e in log.entries(LogFilter(kind="step.finished"))]
        kinds = [e.kind for e in log.entries(LogFilter())]
    finally:
        log.close()
    assert steps == ["migrate", "set-image", "rollout", "healthy", "flag-on"]
    assert kinds.index("decision.go") < kinds.index("step.started") < kinds.index("rollback.finished")
    assert harness.runbook().log.path == ".deploy/release-log.sqlite"
    assert (harness.checkout / ".deploy" / "release-log.sqlite").is_file()


def metric(h: Harness, name: str, **labels: str) -> float:
    """A sample of the shop's /metrics (Prometheus' text format, parsed by prometheus-client), 0 when absent."""
    status, text = h.shop.get("/metrics")
    assert status == 200
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_the_shops_metrics_count_what_it_answered_and_a_fault_follows_its_flag_and_version(
        make_harness: Callable[..., Harness]) -> None:
    h = make_harness(app="designia-backend", flags=[FLAG], flags_in="env")
    h.shop.set_fault(FLAG, 0.5)              # bites only while the flag is on for the serving pods
    assert [h.shop.get("/api/products/")[0] for _ in range(4)] == [200] * 4
    ok(h.run(["kubectl", "set", "env", "deploy/designia-backend", f"{FLAG}=true"]))
    assert [h.shop.get("/api/products/")[0] for _ in range(4)] == [200, 500, 200, 500]   # exactly half, evenly
    assert metric(h, "http_requests_total", handler="/api/products/", code="200") == 6
    assert metric(h, "http_requests_total", handler="/api/products/", code="500") == 2
    assert metric(h, "http_request_duration_seconds_count", handler="/api/products/") == 8
    assert (metric(h, "request_count_total", endpoint="/api/products/"), metric(h, "errors_total")) == (8, 2)
    # A fault of one version ends when another version serves (a rollback); business counters move by count().
    h.shop.clear_faults()
    h.shop.set_fault(None, 1.0, version="9.9.9")
    assert h.shop.get("/api/orders/17")[0] == 200
    assert metric(h, "http_requests_total", handler="/api/orders/", code="200") == 1
    h.shop.count("booking_confirm_errors")
    h.shop.count("webhook_processed", 3, outcome="ok")
    assert metric(h, "booking_confirm_errors_total") == 1 and metric(h, "webhook_processed_total", outcome="ok") == 3
    assert metric(h, "webhook_processed_total", outcome="failed") == 0
    # The pods' log holds a person's requests with their status; the synthetic users' are only counted.
    logs = h.shop.deployment()["log"]
    assert [line[2] for line in logs if "/api/" in line[2]][-5:] == ["GET /api/products/ 200", "GET /api/products/ 500",
                                                                    "GET /api/products/ 200", "GET /api/products/ 500",
                                                                    "GET /api/orders/17 200"]
    before = metric(h, "http_requests_total", handler="/api/cart/")
    h.shop.traffic(["/api/cart/"], rps=50)
    deadline = time.monotonic() + 10
    while metric(h, "http_requests_total", handler="/api/cart/") < before + 5:
        assert time.monotonic() < deadline, "the synthetic users sent nothing"
        time.sleep(0.05)
    h.shop.stop_traffic()
    assert not any("/api/cart/" in line[2] for line in h.shop.deployment()["log"])
