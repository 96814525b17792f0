"""The realistic target a seed's cutover runs against, end to end and headless.

    def test_seed_001_cutover(make_harness):
        h = make_harness(app="designia-backend", flags=[...], flags_in="env")
        h.install_runbook("config/001-service-flags.toml")       # a copy in the checkout, at the shop
        assert h.cockpit("check").returncode == 0                # `cockpit check --config <copy> --as Ann`
        h.cockpit("signoff", "--release-owner", "Ann", "--rollback-owner", "Bob",
                  "--rollback-ref", "v1.0.0", "--decision", "go")
        h.cockpit("stage", "start", "deploy-code", "--yes")
        assert h.shop.version()["sha"] == h.shas["head"]          # the deploy step changed what runs
        assert [c["did"] for c in h.calls("kubectl")] == [...]   # what the doubles were asked

What is real and what is a double:
  - the shop (shop.py): a real HTTP service on 127.0.0.1; its version, health and flags follow its
    state file, its database and its Redis;
  - PostgreSQL, pg_dump, pg_restore, psql: real (the suite needs the server anyway); the shop's
    database is a fresh one, and libpq's PG* variables and $DATABASE_URL name it for every command;
  - Redis: a real redis-server on a unix socket;
  - git: real, a checkout with a bare origin (scratchrepo.py), with the shop's own scripts;
  - kubectl and docker: TEST DOUBLES (fakes/), because no cluster, daemon or registry can run here.
    They are first on PATH for the cockpit and everything it runs, and append each call to a log.

Before the release the known-good 1.0.0 runs (deployed from its CI image, database at its schema 2,
three products in it); CI has pushed images of every commit of main to the registry, tagged with the
short SHA, the full SHA and the git tags, and `latest` is 1.0.0, what runs.

Options (make_harness(**options)):
    app="shop"            the deployment (and container) the service is; its image repo is
    image=None            registry.local/<app> unless given (seed 001 builds "designia-backend:latest")
    runs_latest=False     the deployment runs <image>:latest instead of <image>:<short sha>, so a push of
                          :latest and `kubectl rollout restart` deploy (seed 001's Phase 1)
    namespace="default"   kubectl's namespace of every deployment (seed 002: -n go2asia)
    flags=SEED_FLAGS      the flags the app knows, all off
    flags_in="api"        "api": the flag API's store (seed 000's http backend); "env": the deployment's
                          env vars, NAME=false at first (seed 001's kubectl set env)
    services=()           more deployments of the same image repo layout (seed 002's auth, points, pulse),
                          each answering /<name>/health and /<name>/version
    banner=None           the lines every new pod of the app logs at start ({app} {version} {sha}
                          {short_sha} {image} {revision}), for `kubectl logs`
    subsystems=SUBSYSTEMS the /health/<name> the shop has besides database, redis and schema
    runtime="kubernetes"  or "compose": the deployments are compose services (`docker compose up`)
    prometheus=None       the suite's real Prometheus (the seeds' conftest gives it): every runbook installed
                          gets the vars prometheus_url (its url) and metrics_job (this shop's job there);
                          scrape_metrics() makes Prometheus scrape the shop's /metrics as that job
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cockpit.core.log.open import open_log
from cockpit.core.secrets import env_name as secret_env_name
from cockpit.demo.state import SEED_FLAGS
from cockpit.runbook.config import Runbook, load_runbook
from tests.seeds import runbook_copy, scratchrepo
from tests.seeds.fakes import shopstate
from tests.seeds.shop import FLAG_TOKEN, Shop

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "fakes"
DOUBLES = ("kubectl", "docker")
REGISTRY = "registry.local"
SUBSYSTEMS = ("external", "catalog", "availability", "booking", "payments")
_jobs = itertools.count(1)
PRODUCTS = [("Sailing boat Lagoon 42", 42000), ("Catamaran Bali 4.6", 61000), ("Motor yacht Azimut 50", 88000)]


class Harness:
    """A scratch checkout with its origin, the shop with its database and Redis, the fakes' bin dir."""

    def __init__(self, root: Path, dsn: str, *, app: str = "shop", namespace: str = "default",
                 flags: tuple[str, ...] | list[str] = SEED_FLAGS, flags_in: str = "api",
                 services: tuple[str, ...] | list[str] = (), banner: list[str] | None = None,
                 subsystems: tuple[str, ...] | list[str] = SUBSYSTEMS, runtime: str = "kubernetes",
                 image: str | None = None, runs_latest: bool = False, prometheus: Any = None):
        if flags_in not in ("api", "env") or runtime not in ("kubernetes", "compose"):
            raise ValueError("flags_in is 'api' or 'env'; runtime is 'kubernetes' or 'compose'")
        self.root, self.dsn, self.app, self.namespace = Path(root), dsn, app, namespace
        self.image = image or f"{REGISTRY}/{app}"
        self.images = {name: self.image if name == app else f"{REGISTRY}/{name}" for name in [app, *services]}
        self.runs_latest = runs_latest
        self.prometheus = prometheus
        self.metrics_job = f"{app}-{os.getpid()}-{next(_jobs)}"
        self.checkout, self.origin, self.shas = scratchrepo.make_repo(self.root, app=app, image=self.image,
                                                                      namespace=namespace)
        self.state_path, self.calls_path = self.root / "shop-state.json", self.root / "calls.jsonl"
        self.bin = self.root / "bin"
        self.runbook_path: Path | None = None
        self.secrets: dict[str, str] = {}
        self.calls_path.touch()
        self._write_state(list(flags), flags_in, [app, *services], banner, list(subsystems), runtime)
        self._write_bin()
        migrated = self.run(["bash", "scripts/migrate.sh", "up", "2"])
        if migrated.returncode:
            raise RuntimeError(f"could not migrate the shop's database: {migrated.stderr}")
        self.shop = Shop(self.state_path, dsn)
        for name, price in PRODUCTS:
            self.shop.sql("insert into products (name, price_cents) values (%s, %s)", name, price)
        self.shop.start()

    def close(self) -> None:
        self.shop.close()

    # -- setting up -----------------------------------------------------------------------------------
    def _write_state(self, flags: list[str], flags_in: str, deployments: list[str], banner: list[str] | None,
                     subsystems: list[str], runtime: str) -> None:
        registry = {}
        for sha in (self.shas["known_good"], self.shas["head"]):
            version, schema, broken = scratchrepo.image_of(self.checkout, sha)
            meta = shopstate.image(version, sha, schema, broken)
            tags = [sha[:7], sha, *scratchrepo.git(self.checkout, "tag", "--points-at", sha).split()]
            for repo in self.images.values():
                registry.update({f"{repo}:{t}": meta for t in tags})
        for repo in self.images.values():
            registry[f"{repo}:latest"] = registry[f"{repo}:{self.shas['known_good'][:7]}"]
        env = {f: "false" for f in flags} if flags_in == "env" else {}
        state = {"app": self.app, "namespace": self.namespace, "app_dir": str(self.checkout), "flags": flags,
                 "flags_in": flags_in, "flag_store": {f: False for f in flags}, "registry": registry,
                 "local_images": dict(registry) if runtime == "compose" else {}, "deployments": {},
                 "health": {}, "subsystems": subsystems, "routes": {}, "hooks": [], "flag_puts": []}
        for name in deployments:
            ref = f"{self.images[name]}:{'latest' if self.runs_latest else self.shas['known_good'][:7]}"
            dep = shopstate.deployment(ref, namespace=self.namespace, container=name,
                                       env=env if name == self.app else {},
                                       replicas=1 if runtime == "compose" else 2,
                                       banner=banner if name == self.app else None)
            state["deployments"][name] = {**dep, **({"runtime": "compose"} if runtime == "compose" else {})}
            shopstate.roll(state, name)
        shopstate.write(self.state_path, state)

    def _write_bin(self) -> None:
        self.bin.mkdir()
        for tool in DOUBLES:
            script = self.bin / tool
            script.write_text(
                "#!/bin/sh\n"
                f"# TEST DOUBLE for {tool}: no Kubernetes cluster, Docker daemon or registry can run here.\n"
                f"# The double ({FAKES / (tool + '.py')}) changes the shop's state file as the real {tool} would\n"
                "# change the real service, validates its arguments strictly and logs every call.\n"
                f"SHOP_STATE={shlex.quote(str(self.state_path))} SHOP_CALLS={shlex.quote(str(self.calls_path))} "
                f"exec {shlex.quote(sys.executable)} {shlex.quote(str(FAKES / (tool + '.py')))} \"$@\"\n",
                encoding="utf-8")
            script.chmod(0o755)

    # -- the environment of every command ------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        """os.environ with the fakes first on PATH, the shop's database for libpq and $DATABASE_URL,
        the runbook's secrets, and a git identity (the cockpit's tags are annotated)."""
        db = urlsplit(self.dsn)
        pg = {"PGHOST": db.hostname or "127.0.0.1", "PGPORT": str(db.port or 5432), "PGUSER": db.username or "",
              "PGDATABASE": db.path.lstrip("/"), "DATABASE_URL": self.dsn}
        if db.password:
            pg["PGPASSWORD"] = db.password
        return {**os.environ, **pg, **scratchrepo.IDENTITY, **self.secrets, "SHOP_URL": self.shop_url,
                "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}", **extra}

    @property
    def shop_url(self) -> str:
        return self.shop.url if hasattr(self, "shop") else ""

    def run(self, argv: list[str], *, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a program as the runbook's commands run: in the checkout, with env()."""
        return subprocess.run(argv, cwd=self.checkout, env=self.env(**env), capture_output=True, text=True,
                              timeout=timeout)

    # -- the runbook ----------------------------------------------------------------------------------
    def install_runbook(self, source: str | Path, *, name: str | None = None, vars: dict[str, str] | None = None,
                        log_dsn: str | None = None) -> Path:
        """Copy a runbook (a path, relative to the project, or TOML text) into the checkout, pointed at the
        shop (runbook_copy.point_at), validate it, and give the cockpit the secrets it names: the flag
        API's token, and for each [[notify]] the shop's /hooks/<secret name> as its URL."""
        if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith(".toml")):
            path = Path(source) if Path(source).is_absolute() else ROOT / source
            text, name = path.read_text(encoding="utf-8"), name or path.name
        else:
            text, name = str(source), name or "runbook.toml"
        text = runbook_copy.point_at(text, self.shop.url, vars={**self.metric_vars, **(vars or {})},
                                     log={"dsn": log_dsn} if log_dsn else None)
        target = self.checkout / name
        target.write_text(text, encoding="utf-8")
        with open(self.checkout / ".git" / "info" / "exclude", "a", encoding="utf-8") as f:
            f.write(f"/{name}\n")
        for what, secret in runbook_copy.secrets_named(text).items():
            self.secrets[secret_env_name(secret)] = FLAG_TOKEN if what == "flags" else f"{self.shop.url}/hooks/{secret}"
        self.runbook_path = target
        load_runbook(target)  # a runbook the cockpit would refuse fails here, with its line
        return target

    # -- Prometheus ---------------------------------------------------------------------------------
    @property
    def metric_vars(self) -> dict[str, str]:
        """The vars the seed runbooks' [prometheus] and queries read (none without a Prometheus)."""
        if self.prometheus is None:
            return {}
        return {"prometheus_url": self.prometheus.url, "metrics_job": self.metrics_job}

    def scrape_metrics(self, *, traffic: list[str] | tuple[str, ...] = ("/api/products/",), rps: float = 20) -> str:
        """Users on the shop (`traffic`), and the suite's Prometheus scraping its /metrics as metrics_job;
        returns once a rate over the requests has a number (two scrapes in)."""
        if self.prometheus is None:
            raise RuntimeError("no Prometheus: make the harness with the seeds' make_harness fixture")
        self.shop.traffic(traffic, rps=rps)
        job = self.prometheus.scrape(self.shop.url.removeprefix("http://"), job=self.metrics_job)
        self.prometheus.wait_for(f'sum(rate(http_requests_total{{job="{job}"}}[5m]))',
                                 lambda r: bool(r) and float(r[0]["value"][1]) > 0)
        return job

    def runbook(self) -> Runbook:
        return load_runbook(self._runbook())

    def open_log(self) -> Any:
        """The runbook's release log, opened in this process (close it)."""
        return open_log(self.runbook())

    def _runbook(self) -> Path:
        if self.runbook_path is None:
            raise RuntimeError("install_runbook() first")
        return self.runbook_path

    def cockpit(self, *args: str, actor: str | None = "Ann", env_name: str | None = None, timeout: float = 300,
                **env: str) -> subprocess.CompletedProcess[str]:
        """`cockpit ARGS --config <runbook> [--env E] --as ACTOR` as a process of its own, in the checkout,
        with env(). `config`/`secrets` commands get no --config (give the file yourself)."""
        argv = [sys.executable, "-m", "cockpit", *args]
        if args[0] not in ("config", "secrets", "demo"):
            argv += ["--config", str(self._runbook())]
            argv += ["--env", env_name] if env_name else []
            argv += ["--as", actor] if actor else []
        return self.run(argv, timeout=timeout, **env)

    # -- git --------------------------------------------------------------------------------------------
    def git(self, *args: str) -> str:
        return scratchrepo.git(self.checkout, *args)

    def commit(self, message: str, files: dict[str, str | None], *, push: bool = True) -> str:
        """A new commit on main (pushed to origin unless told not to); its SHA. No image is built for it:
        a deploy step builds one (`docker build`) as a real pipeline would."""
        sha = scratchrepo.commit(self.checkout, message, files)
        if push:
            self.git("push", "-q", "origin", "main")
            self.git("fetch", "-q", "origin")
        return sha

    # -- what the fakes did ------------------------------------------------------------------------------
    def calls(self, tool: str | None = None) -> list[dict]:
        """Each call of a fake, in order: {"tool", "argv", "exit", "did", "cwd", "at"}."""
        with open(self.calls_path, encoding="utf-8") as f:
            return [c for c in map(json.loads, f) if tool is None or c["tool"] == tool]
