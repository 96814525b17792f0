"""Seed 001's two clusters and its runbook, for tests/seeds/test_seed_001.py.

Staging and production are two harnesses (each its own shop, database, Redis and kubectl/docker TEST
DOUBLES) and one repository: the production harness's checkout, whose runbook copy both environments
use and whose SQLite release log both write — the shared log promotion reads. A cockpit acting on
staging runs with the staging harness's environment (its fakes first on PATH, its database), as an
operator's kubeconfig context would select the staging cluster.

The installed runbook is config/001-service-flags.toml pointed at the shops (runbook_copy), with one
change more: the seed's monitor windows and load tests are cut short (SHORTER) so a test runs in a
minute; the windows are still enforced by the cockpit, for real, at that length. The services' guardrail windows
(24 h, 24 h, 72 h, sampled by `cockpit watch`) are left as written: a guarded stage is marked stable with an
override and its reason (OVERRIDE), as a person cutting a window short would. Each environment's guardrails ask
the suite's real Prometheus about its own cluster's job.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.core.log.base import LogFilter
from cockpit.runbook.config import load_runbook
from tests.seeds import runbook_copy
from tests.seeds.harness import ROOT, Harness

CONFIG = ROOT / "config" / "001-service-flags.toml"
PRODUCTS, CART, ORDERS = (f"FEATURE_FLAG_USE_SERVICE_LAYER_{s}" for s in ("PRODUCTS", "CART", "ORDERS"))
FLAGS = [PRODUCTS, CART, ORDERS]
BANNER = ["Django version 5.0.6, using settings 'designiaBackend.settings'",
          "Starting development server at http://0.0.0.0:8000/"]
# The seed's lengths cut so a run takes a minute, each still enforced or measured for real: the monitor
# windows (24 h, 24 h, 72 h) to a second, the load tests to a tenth of ab's requests at its concurrency.
SHORTER = {'monitor = "24h"': 'monitor = "1s"', 'monitor = "72h"': 'monitor = "1s"',
           '"--duration", "1",': '"--duration", "0.1",'}
STAGES = ["deploy-code", "products", "cart", "orders", "validation"]
OVERRIDE = "the service's guardrail window is a day or more; this test watched the shortened monitor window"

# What a person confirms in each stage (--manual STEP=NOTE), as the release owner would type it.
MANUAL = {
    "deploy-code": {"pre-deployment": "reviewed in PR #212; tracker: 10/10 stories done",
                    "rollback-verified": "flags kill rehearsed on staging on Monday; legacy listing answered"},
    "products": {},
    "cart": {"products-sentry-clean": "Sentry: no new issues for /api/products/; support queue empty"},
    "orders": {"cart-totals": "12 test carts: totals match, no race seen with 20 concurrent updates"},
    "validation": {"orders-payments": "Stripe dashboard: 99.6% created, confirmations match; e-mails sent",
                   "uat-purchase-flow": "Pia bought a lamp end to end; search, filters, reviews, stock right"},
}
ROLES = ["--release-owner", "Ann", "--rollback-owner", "Bob", "--rollback-ref", "v1.0.0",
         "--role", "On-Call Engineer=Olga", "--role", "Engineering Lead=Erik", "--role", "DevOps=Dana",
         "--role", "Product Owner=Pia"]


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


@dataclass
class Seed001:
    production: Harness
    staging: Harness
    config: Path

    def cluster(self, env: str) -> Harness:
        return self.production if env == "production" else self.staging

    def cockpit(self, env: str, *args: str, actor: str = "Ann",
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`cockpit ARGS --config <the copy> --env ENV --as ACTOR` in the repository, against ENV's cluster."""
        where = [] if args[0] == "log" else ["--env", env]   # the log is one for both environments
        argv = [sys.executable, "-m", "cockpit", *args, "--config", str(self.config), *where, "--as", actor]
        return subprocess.run(argv, cwd=self.production.checkout, env=self.cluster(env).env(), capture_output=True,
                              text=True, timeout=timeout)

    def json(self, env: str, *args: str, actor: str = "Ann") -> tuple[int, dict[str, Any]]:
        p = self.cockpit(env, *args, "--json", actor=actor)
        try:
            return p.returncode, json.loads(p.stdout)
        except ValueError:
            raise AssertionError(f"exit {p.returncode}, not JSON:\n{p.stdout}\n{p.stderr}") from None

    # -- the cutover, step by step ----------------------------------------------------------------
    def sign_off_and_go(self, env: str, *, check: bool = True) -> str:
        if check:
            ok(self.cockpit(env, "check"))
        code, out = self.json(env, "signoff", *ROLES, "--decision", "go", "--no-evidence")
        assert code == 0, out
        return out["release_id"]

    def start(self, env: str, stage: str) -> list[tuple[str, str]]:
        manual = [a for step, note in MANUAL[stage].items() for a in ("--manual", f"{step}={note}")]
        code, out = self.json(env, "stage", "start", stage, "--yes", *manual)
        assert code == 0, out
        return [(s["step"], s["outcome"]) for s in out["steps"]]

    def stable(self, env: str, stage: str, note: str = "watched: quiet") -> None:
        """Mark the stage stable once its monitor window is over (the cockpit refuses it before); a stage with
        guardrails with the override (their windows are days long)."""
        guarded = bool(load_runbook(self.config).stage(stage).guardrails)
        override = ["--override", OVERRIDE] if guarded else []
        deadline = time.monotonic() + 20
        while True:
            code, out = self.json(env, "stage", "stable", stage, "--note", note, *override)
            if code == 0:
                return
            assert "monitor window" in out.get("refused", ""), out
            assert time.monotonic() < deadline, out
            time.sleep(0.3)

    def release(self, env: str, stages: list[str] = STAGES, close: bool = True) -> str:
        """check → sign-off with every role → GO → each stage started, its steps run, marked stable → close."""
        release_id = self.sign_off_and_go(env)
        for stage in stages:
            self.start(env, stage)
            self.stable(env, stage)
        if close:
            ok(self.cockpit(env, "release", "close", "--note", f"{env}: every service on the service layer"))
        return release_id

    # -- reading what happened ----------------------------------------------------------------------
    def entries(self, **where: Any) -> list[Any]:
        log = self.production.open_log()
        try:
            return list(log.entries(LogFilter(**where)))
        finally:
            log.close()

    def pods_env(self, env: str) -> dict[str, str]:
        """The env the serving pods of the app run with (what the service acts on)."""
        return self.cluster(env).shop.deployment()["serving"]["env"]


def make_seed_001(make_harness: Callable[..., Harness]) -> Seed001:
    """Both clusters running 1.0.0 with every flag OFF, the database already at the schema the release's
    code uses (seed 001: "No Migrations Required"), the runbook installed."""
    options = dict(app="designia-backend", image="designia-backend", flags=FLAGS, flags_in="env", banner=BANNER)
    production, staging = make_harness(**options), make_harness(**options)
    text = CONFIG.read_text(encoding="utf-8")
    for seed_length, short in SHORTER.items():
        assert seed_length in text, seed_length
        text = text.replace(seed_length, short)
    path = production.install_runbook(text, name="001-service-flags.toml")
    installed = path.read_text(encoding="utf-8")
    staging_vars = {**tomllib.loads(installed)["environments"]["staging"].get("vars", {}), **staging.metric_vars}
    path.write_text(runbook_copy.set_table(installed, "environments.staging",
                                           {"url": staging.shop.url, "vars": staging_vars}), encoding="utf-8")
    load_runbook(path)
    return Seed001(production, staging, path)


def migrate_both(seed: Seed001) -> None:
    """1.1.0's additive migration went out with an earlier release, in both environments."""
    for h in (seed.staging, seed.production):
        ok(h.run(["bash", "scripts/migrate.sh", "up"]))
