"""Seed 000 (Sharmar Marketplace Core, rollout layers 0..4) run end to end, headless, as its team would:
config/000-marketplace-layers.toml, installed into the shop's checkout by the seed harness.

The same SHA goes through staging first (a second shop with its own database: seed_000_shops.py) to a
closed, stable release; then production: the gate (NO-GO until staging passed), the sign-off of every role,
GO, each layer's procedure — backup (a real pg_dump and an uploads archive, restored into a scratch
database to prove it), the `pre-marketplace-layer-N` tag pushed to origin, the smoke, a person's
readiness note, the layer's flag, its health — each layer marked stable, the release closed. Then its
rollbacks: one layer's flag OFF, and the whole release (the known-good code back, the backup restored).

What is real: the cockpit (as processes), PostgreSQL with pg_dump/pg_restore/psql, Redis, git with its
origin, npm and the repo's migrate and deploy scripts, the shop's HTTP service. kubectl and docker are the
harness's TEST DOUBLES (no cluster or registry can run here). The shop has no marketplace or public site of
its own, so the test programs what those would answer: the site's catalog pages and robots.txt, and the
marketplace's health fields (/health/availability, /booking, /payments); and its flag API answers a PUT once
the new state is written (seed_000_shops.answer_after_write: as the harness serves it, a read-back right
after the PUT can see the old value). The runbook's soak times (monitor windows of hours, the canary's 2 h
wait) are shortened to half a second; the layers' guardrail windows (24 h to 72 h, sampled by `cockpit watch`,
which this test does not run) are not: each layer is marked stable with an override and its reason, which the
log keeps with the windows it cut short. The guardrails' Prometheus is the suite's real one; the shops are not
scraped here, so each baseline is "no data". Everything else runs as written.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.core.log.base import LogFilter
from cockpit.runbook.step_ids import step_id
from tests.helpers.pg import create_database, drop_database
from tests.helpers.prometheus import Prometheus
from tests.seeds.harness import ROOT, Harness
from tests.seeds.scratchrepo import git
from tests.seeds.seed_000_shops import answer_after_write, point_staging_at, staging_twin
from tests.seeds.shop import Shop

SEED = "config/000-marketplace-layers.toml"
LAYERS = [f"layer-{i}" for i in range(5)]
FLAGS = {"layer-1": "MARKETPLACE_AVAILABILITY_ENABLED", "layer-2": "MARKETPLACE_REQUESTS_ENABLED",
         "layer-3": "MARKETPLACE_FEES_ENABLED", "layer-4": "MARKETPLACE_POLICY_ENFORCEMENT_ENABLED"}
ROLES = ["--release-owner", "Ann", "--rollback-owner", "Bob", "--role", "Admin=Dana", "--rollback-ref", "v1.0.0"]
# §10: only the admin switches marketplace flags and applies migrations, so the admin, Dana, drives the
# cutover (the cockpit's lock is held by the person who took GO); Ann and Bob are the owners she records.
ADMIN = "Dana"
OVERRIDE = "the layer's guardrail window is hours long; this test's soak is half a second"

NOTES = {
    "layer-0": {"readiness": "catalog and Postgres alerts tested in #oncall; Bob has the rollback"},
    "layer-1": {"readiness": "overlap alert tested in #oncall",
                "overlap-tested": "overlapping block refused on staging"},
    "layer-2": {"readiness": "outbox backlog alert tested in #oncall"},
    "layer-3": {"readiness": "webhook and confirm-error alerts tested",
                "canary-scope": "fee on for Lagoon 42 (sailing)",
                "canary-watch": "fee paid in Stripe, booking confirmed after it, ledger matches",
                "expand": "canary scope lifted in the admin"},
    "layer-4": {"readiness": "policy logs on, alerts unchanged"},
}

SITE = {  # what www.sharmar.me answers (the harness has no frontend: programmed)
    "/site/catalog": '<html><head><link rel="canonical" href="https://www.sharmar.me/catalog"></head></html>',
    "/site/catalog?category=sailing": '<html><head><meta name="robots" content="noindex, follow"></head></html>',
    "/site/robots.txt": "User-agent: *\nDisallow: /booking\nDisallow: /account\n",
}
MEDIA = {"2025/12/lagoon-42.jpg": b"\xff\xd8\xff lagoon", "2025/12/bali-46.jpg": b"\xff\xd8\xff bali"}


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def seed_text() -> str:
    """The seed's runbook with its soak times (hours) at half a second, so the test runs in seconds."""
    text = (ROOT / SEED).read_text(encoding="utf-8")
    return re.sub(r'^(monitor|duration) = "[^"]+"', r'\1 = "500ms"', text, flags=re.M)


def program(shop: Shop) -> None:
    for path, body in SITE.items():
        shop.route(path, body)
    shop.set_health("availability", overlaps=0, overlap_errors=0)
    shop.set_health("booking", stuck_submitted=0, overdue_holds=0, owner_inbox="ok", outbox_backlog=3)
    shop.set_health("payments", webhook_success_rate=0.998, idempotency_collisions=0, booking_confirm_errors=0,
                    ledger_consistent=True)


def media_dir(path: Path) -> Path:
    for name, data in MEDIA.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def manual(stage: str, *steps: str) -> list[str]:
    return [a for sid, note in NOTES[stage].items() if not steps or sid in steps for a in ("--manual", f"{sid}={note}")]


def start(h: Harness, env: str, stage: str, *args: str) -> subprocess.CompletedProcess[str]:
    return h.cockpit("stage", "start", stage, "--yes", "--json", *args, env_name=env, actor=ADMIN)


def run_layer(h: Harness, env: str, stage: str) -> dict:
    report = json.loads(ok(start(h, env, stage, *manual(stage))))
    assert {s["outcome"] for s in report["steps"]} == {"done"}, report
    ok(h.cockpit("stage", "stable", stage, "--note", f"{stage} quiet through its window", "--override", OVERRIDE,
                 env_name=env, actor=ADMIN))
    return report


def go(h: Harness, env: str) -> str:
    """Sign-off of every role, then GO: the sign-off takes all the evidence again and GO needs the gate's GO."""
    signed = json.loads(ok(h.cockpit("signoff", *ROLES, "--decision", "go", "--json", env_name=env, actor=ADMIN)))
    assert signed["recorded"] == "GO" and signed["signoff"]["roles"]["Admin"] == ADMIN
    return signed["release_id"]


def entries(h: Harness, release: str, kind: str = "", upto: int | None = None) -> list:
    log = h.open_log()
    try:
        found = log.entries(LogFilter(release_id=release, kind=kind or None))
        return [e for e in found if upto is None or e.seq <= upto]
    finally:
        log.close()


@dataclass
class Cutover:
    h: Harness
    staging_release: str
    release: str
    before_staging: dict
    """production's `cockpit check --json` while the SHA had not passed staging"""
    canary: dict
    """the production shop's flags while layer 3 waited for a person's control of the canary"""
    shop_after: dict
    staging_after: dict
    calls: list[dict]
    """what the kubectl/docker doubles were asked in production"""
    flag_puts: list[dict]
    hooks: list[dict]
    """the team channel's messages once the closing note delivered them"""
    closed_at: int
    """the log's last seq once the release was closed and noted (the rollback test appends after it)"""
    media: Path


@pytest.fixture(scope="module")
def cutover(tmp_path_factory: pytest.TempPathFactory, prometheus_server: Prometheus) -> Iterator[Cutover]:
    root = tmp_path_factory.mktemp("seed000")
    dsns = [create_database("shop"), create_database("shop")]
    made: list[Harness] = []
    try:
        h = Harness(root / "production", dsns[0], prometheus=prometheus_server)
        made.append(h)
        media = media_dir(root / "uploads-production")
        h.install_runbook(seed_text(), name="000-marketplace-layers.toml",
                          vars={"site": "{url}/site", "uploads": str(media)})
        staging = staging_twin(h, root / "staging", dsns[1])
        made.append(staging)
        point_staging_at(h, staging, {"site": "{url}/site", "uploads": str(media_dir(root / "uploads-staging"))})
        for shop in (h.shop, staging.shop):
            answer_after_write(shop)
            program(shop)

        # Production first: NO-GO, the SHA has not passed staging.
        p = h.cockpit("check", "--json", env_name="production", actor=ADMIN)
        assert p.returncode == 1, p.stdout + p.stderr
        before = json.loads(p.stdout)

        staging_release = go(staging, "staging")
        for stage in LAYERS:
            run_layer(staging, "staging", stage)
        ok(staging.cockpit("release", "close", "--note", "staging passed", env_name="staging", actor=ADMIN))

        assert json.loads(ok(h.cockpit("check", "--json", env_name="production", actor=ADMIN)))["decision"] == "GO"
        release = go(h, "production")
        for stage in LAYERS[:3]:
            run_layer(h, "production", stage)
        # Layer 3 as a person lives it: the canary's flag goes on, then the command waits for their control.
        p = start(h, "production", "layer-3", *manual("layer-3", "readiness", "canary-scope"))
        assert p.returncode == 3 and json.loads(p.stdout)["waiting"] == "canary-watch", p.stdout + p.stderr
        canary = h.shop.flags()
        report = json.loads(ok(start(h, "production", "layer-3", *manual("layer-3", "canary-watch", "expand"))))
        assert [s["step"] for s in report["steps"]] == ["canary-watch", "canary-soak", "expand", "health"]
        ok(h.cockpit("stage", "stable", "layer-3", "--note", "fees quiet", "--override", OVERRIDE,
                     env_name="production", actor=ADMIN))
        run_layer(h, "production", "layer-4")
        ok(h.cockpit("release", "close", "--note", "all five layers stable", env_name="production", actor=ADMIN))
        # A note after the close; the command delivers the team channel's messages due from the log.
        ok(h.cockpit("log", "note", "--release", release, "cutover done; watching the metrics",
                     env_name="production", actor=ADMIN))
        yield Cutover(h, staging_release, release, before, canary, h.shop.version(),
                      staging.shop.version(), h.calls(), h.shop.state()["flag_puts"], h.shop.hooks(),
                      entries(h, release)[-1].seq, media)
    finally:
        for made_h in reversed(made):
            made_h.close()
        for dsn in dsns:
            drop_database(dsn)




def test_the_layers_pass_staging_then_production_with_their_backups_tags_and_flags(cutover: Cutover) -> None:
    h, head = cutover.h, cutover.h.shas["head"]

    def logged(kind: str = "") -> list:
        return entries(h, cutover.release, kind, upto=cutover.closed_at)

    # §2.2: production was NO-GO until the same SHA had passed staging; then it went GO.
    assert cutover.before_staging["decision"] == "NO-GO"
    assert any(f"target {head[:7]} has not passed staging" in r for r in cutover.before_staging["reasons"])
    assert cutover.staging_after["sha"] == head and all(cutover.staging_after["flags"][f] for f in FLAGS.values())
    go_entry = logged("decision.go")[0]
    assert go_entry.payload["target_sha"] == head
    assert entries(h, cutover.staging_release, "release.done")

    # What production runs now: the release's code on its additive schema, every layer's flag on.
    v = cutover.shop_after
    assert (v["version"], v["sha"], v["schema"]) == ("1.1.0", head, {"database": 3, "required": 3})
    assert v["flags"] == {**{f: False for f in v["flags"]}, **{f: True for f in FLAGS.values()}}
    # Layer 3's canary: its flag on while the person's control was pending, layer 4's not yet.
    assert cutover.canary["MARKETPLACE_FEES_ENABLED"] and not cutover.canary["MARKETPLACE_POLICY_ENFORCEMENT_ENABLED"]
    # One deploy (layer 0); the flags went on through the flag API, no redeploy (§4).
    tag = f"registry.local/shop:{head[:7]}"
    assert [c["did"] for c in cutover.calls] == [f"built {tag} (version 1.1.0, sha {head[:7]})", f"pushed {tag}",
                                             f"set image of deployment/shop to {tag}",
                                             "rollout of deployment/shop complete"]
    puts = [(p["name"], p["enabled"], p["actor"], p["status"]) for p in cutover.flag_puts]
    assert puts == [(f, True, ADMIN, 200) for f in FLAGS.values()]

    # §5.2: each layer's tag on the released SHA, on the remote.
    for stage in LAYERS:
        assert git(h.origin, "rev-parse", f"pre-marketplace-{stage}^{{commit}}") == head

    # §5.1 + §9: a full backup before each layer, its digest logged with the step that made it, restored to prove it.
    finished = {(e.payload["stage"], e.payload["step"]): e.payload for e in logged("step.finished")}
    for i, stage in enumerate(LAYERS):
        dump = h.checkout / "backups" / f"pre-{stage}.dump"
        assert dump.read_bytes()[:5] == b"PGDMP"
        assert finished[(stage, "backup-db")]["produces"]["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
        toc = ok(h.run(["pg_restore", "--list", str(dump)]))
        assert ("TABLE public booking_requests" in toc) == (i > 0)   # layer 0's dump is from before the migration
        with tarfile.open(h.checkout / "backups" / f"pre-{stage}-uploads.tar.gz") as tar:
            assert {n.removeprefix("./") for n in tar.getnames() if n.endswith(".jpg")} == set(MEDIA)
        restored = [m.group(1) for line in finished[(stage, "verify-backup")]["excerpt"]
                    if (m := re.match(rf"restored backups/pre-{stage}\.dump into (\S+): ", line))]
        assert len(restored) == 1   # and the scratch database is gone again:
        assert h.shop.sql("select 1 from pg_database where datname = %s", restored[0]) == []
    # §6: the dry-run report kept with the migration; staging's run times production's.
    report = finished[("layer-0", "migrate-dry-run")]["excerpt"]
    assert any("0003_booking_requests  additive" in line for line in report)
    staged = {e.payload["step"]: e.payload for e in entries(h, cutover.staging_release, "step.finished")
              if e.payload["stage"] == "layer-0"}
    assert staged["migrate"]["exit_code"] == 0 and staged["migrate"]["elapsed_s"] > 0

    # The log: every layer started, its steps in the runbook's order (each started, then done), marked stable.
    runbook = h.runbook()
    expected = []
    for s in runbook.stages:
        expected.append(("stage.started", s.id, None, None))
        for n, step in enumerate(s.steps, 1):
            sid = step_id(step, n)
            expected += [("step.started", s.id, sid, None), ("step.finished", s.id, sid, "done")]
        expected.append(("stage.stable", s.id, None, None))
    story = [(e.kind, e.payload.get("stage"), e.payload.get("step"), e.payload.get("outcome"))
             for e in logged() if e.kind.startswith(("stage.", "step."))]
    assert story == expected
    # Each layer's guardrail windows opened with it (as its flag went on; layer 0's as it started), their baselines
    # asked of the real Prometheus, and were cut short by the stable's override, which the log keeps with them.
    opened = [(e.payload["stage"], e.payload["check"], e.payload["baseline"]) for e in logged("guardrail.opened")]
    assert opened == [(s.id, g.check, None) for s in runbook.stages for g in s.guardrails]
    assert {e.payload["window_s"] for e in logged("guardrail.opened")} == {24 * 3600, 48 * 3600, 72 * 3600}
    for e in logged("stage.stable"):
        override = e.payload["override"]
        assert override["reason"] == OVERRIDE, e.payload
        assert sorted(w["check"] for w in override["windows"]) == \
            sorted(g.check for g in runbook.stage(e.payload["stage"]).guardrails)
    kinds = [e.kind for e in logged()]
    assert kinds.index("signoff.recorded") < kinds.index("decision.go") < kinds.index("stage.started")
    assert kinds[-3:] == ["release.done", "lock.released", "note"]
    flips = [(e.payload["flag"], e.payload["before"], e.payload["after"], e.payload["stage"], e.actor.name)
             for e in logged("flag.flipped")]
    assert flips == [(f, False, True, s, ADMIN) for s, f in FLAGS.items()]   # §9: each flag OFF until its layer
    signoff = logged("signoff.recorded")[-1].payload
    assert signoff["roles"] == {"Release Owner": "Ann", "Rollback Owner": "Bob", "Admin": ADMIN}

    # §4 / §9: the team's channel heard of GO, the layers and every flip (delivered from the log).
    heard = [(x["body"]["entry"]["environment"], x["body"]["entry"]["kind"]) for x in cutover.hooks]
    assert heard.count(("production", "flag.flipped")) == 4 and ("production", "release.done") in heard
    assert ("staging", "decision.go") in heard
    ok(h.cockpit("log", "verify"))


def test_a_layer_goes_off_alone_then_the_whole_release_returns_with_its_backup(cutover: Cutover) -> None:
    h, good = cutover.h, cutover.h.shas["known_good"]
    prices = h.shop.sql("select id, name, price_cents from products order by id")
    # A day later the fee layer misbehaves, and a bug has damaged the catalog and a media file.
    h.shop.sql("update products set price_cents = 0")
    (cutover.media / "2025/12/lagoon-42.jpg").write_bytes(b"garbage")

    # The layer's rollback (§3 Layer 3): its flag OFF only, open orders still processed; no redeploy.
    out = json.loads(ok(h.cockpit("rollback", "--stage", "layer-3", "--yes", "--json", env_name="production",
                                  actor="Bob")))
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [("flags", "done"), ("orders-finish", "done"),
                                                                ("verify", "done")]
    flags = h.shop.flags()
    assert not flags["MARKETPLACE_FEES_ENABLED"] and flags["MARKETPLACE_REQUESTS_ENABLED"]
    assert len(h.calls()) == 4 and h.shop.version()["sha"] == h.shas["head"]

    # The whole release (§5: flags OFF and the backup restored). The restore waits for the Admin's decision.
    p = h.cockpit("rollback", "--yes", "--json", env_name="production", actor="Bob")
    assert p.returncode == 3, p.stdout + p.stderr  # waiting for a person, the rollback still open
    out = json.loads(p.stdout)
    assert [(s["step"], s["outcome"]) for s in out["steps"]][:3] == [
        ("flags", "done"), ("redeploy", "done"), ("restore-decision", "waiting")], p.stdout
    assert "--manual restore-decision=NOTE" in out["steps"][2]["detail"]
    assert h.shop.version()["sha"] == good and h.shop.schema_version() == 3   # old code on the additive schema
    p = h.cockpit("rollback", "--yes", "--json", "--manual", "restore-decision=nothing to keep: no fee orders open",
                  env_name="production", actor=ADMIN)
    out = json.loads(ok(p))
    assert [(s["step"], s["outcome"]) for s in out["steps"]] == [
        ("flags", "done"), ("redeploy", "done"), ("restore-decision", "done"), ("restore-db", "done"),
        ("restore-media", "done"), ("verify", "done")]

    v = h.shop.version()
    assert (v["version"], v["sha"], v["schema"]) == ("1.0.0", good, {"database": 2, "required": 2})
    assert not any(v["flags"].values())
    assert h.shop.sql("select id, name, price_cents from products order by id") == prices
    assert h.shop.sql("select to_regclass('booking_requests')") == [(None,)]
    assert (cutover.media / "2025/12/lagoon-42.jpg").read_bytes() == MEDIA["2025/12/lagoon-42.jpg"]
    assert h.shop.get("/health")[0] == 200
    steps = [(e.payload["step"], e.payload["outcome"]) for e in entries(h, cutover.release, "rollback.step")]
    # The run that brought the decision resumed the waiting rollback: the redeploy ran once.
    assert steps[-7:] == [("flags", "done"), ("redeploy", "done"), ("restore-decision", "waiting"),
                          ("restore-decision", "done"), ("restore-db", "done"), ("restore-media", "done"),
                          ("verify", "done")]
    decided = [e for e in entries(h, cutover.release, "rollback.step") if e.payload["step"] == "restore-decision"][-1]
    assert decided.actor.name == ADMIN and decided.payload["note"].startswith("nothing to keep")
    ok(h.cockpit("log", "verify"))
