"""The demo's scratch folder: a real git checkout with an origin, seed 003's `.deploy/` artifacts,
a fresh backup, deploy and migration scripts, and the demo runbook pointed at a running DemoTarget.

    root/origin.git        bare "origin"
    root/shop/             the clone: main = v1.0.0 (known good) -> layer-0 -> layer-1 (head, = origin/main)
                           plus an unmerged origin/feature/web-header-profile-menu (seed 003's test branch)
    root/shop/demo.toml    the runbook, environments pointing at the target, [prometheus] at the demo's
                           Prometheus (or the target's stand-in for one)
    root/shop/.deploy/     last-smoke-summary.env, release-log.sqlite (created by the cockpit)
    root/shop/backup.dump  fresh "Postgres dump"
    root/shop/scripts/     deploy-prod-from-ref.sh, migrate-dry-run.sh

Everything is made with the git CLI and plain files, so it works on a fresh machine with no set-up
(no global git identity needed).
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.demo.promstandin import PREFIX as STANDIN_PREFIX
from cockpit.demo.state import SMOKE_DEFAULTS, render_env
from cockpit.demo.target import DemoTarget

if TYPE_CHECKING:
    from cockpit.demo.prometheus import DemoPrometheus

PLACEHOLDER_URL = "http://127.0.0.1:8765"
"""The URL config/demo.toml is committed with; the scratch replaces it by the target's."""
PROMETHEUS_PLACEHOLDER_URL = "http://127.0.0.1:9090"
"""[prometheus] url as committed; replaced by the demo's Prometheus, or by the target's stand-in for one."""
FEATURE_BRANCH = "feature/web-header-profile-menu"
KNOWN_GOOD_TAG = "v1.0.0"

_IDENTITY = {"GIT_AUTHOR_NAME": "Demo Dev", "GIT_AUTHOR_EMAIL": "dev@demo.invalid",
             "GIT_COMMITTER_NAME": "Demo Dev", "GIT_COMMITTER_EMAIL": "dev@demo.invalid"}

DEPLOY_SCRIPT = """#!/usr/bin/env bash
# Demo deploy (seed 003's deploy-prod-from-ref.sh): "deploys" a ref by recording its SHA.
# usage: deploy-prod-from-ref.sh <ref> <repo-dir>
# DEMO_DEPLOY_STEP_SECONDS sets the pause between steps (default 0.3); DEMO_DEPLOY_FAIL=1 fails it.
set -euo pipefail
ref="${1:?usage: deploy-prod-from-ref.sh <ref> <repo-dir>}"
cd "${2:-.}"
sha="$(git rev-parse --verify --quiet "${ref}^{commit}")" || { echo "deploy: unknown ref: ${ref}" >&2; exit 1; }
pause="${DEMO_DEPLOY_STEP_SECONDS:-0.3}"
echo "==> deploying ${ref} (${sha})"
for step in "building image" "pushing image" "rolling out 3/3 pods" "waiting for /health"; do
  echo "--> ${step}"
  sleep "${pause}"
done
if [ "${DEMO_DEPLOY_FAIL:-0}" = "1" ]; then echo "deploy: rollout failed (DEMO_DEPLOY_FAIL=1)" >&2; exit 1; fi
mkdir -p .deploy
echo "${sha}" > .deploy/deployed-sha
printf '%s\\t%s\\t%s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${ref}" "${sha}" >> .deploy/deploys.tsv
echo "==> deployed ${sha}"
"""

MIGRATE_SCRIPT = """#!/usr/bin/env bash
# Demo migration dry-run (seed 000 §6: "Любая миграция сопровождается dry-run отчётом").
# Fails when .deploy/FAIL_MIGRATION exists (its text is the reason), so the demo can show a NO-GO.
set -euo pipefail
echo "dry-run: 3 pending migrations"
echo "  0042_availability_rule      add table     additive"
echo "  0043_availability_block     add table     additive"
echo "  0044_idx_block_range        add index     additive (CONCURRENTLY)"
if [ -f .deploy/FAIL_MIGRATION ]; then
  echo "dry-run: DESTRUCTIVE: $(cat .deploy/FAIL_MIGRATION)" >&2
  exit 1
fi
echo "dry-run: ok, estimated 4s, no locks held"
"""


def demo_runbook_text() -> str:
    """The demo runbook as committed (environments at PLACEHOLDER_URL)."""
    return resources.files("cockpit.demo").joinpath("demo.toml").read_text(encoding="utf-8")


def render_runbook(url: str, prometheus_url: str | None = None) -> str:
    """The runbook pointed at the target at `url` and at `prometheus_url` (None: the target's stand-in)."""
    prometheus = (prometheus_url or url.rstrip("/") + STANDIN_PREFIX).rstrip("/")
    text = demo_runbook_text().replace(PROMETHEUS_PLACEHOLDER_URL, prometheus)
    return text.replace(PLACEHOLDER_URL, url.rstrip("/"))


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **_IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    # -c settings: a fresh machine has no identity, and a user's signing config must not prompt here
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args]
    out = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _write_atomically(path: Path, text: str) -> None:
    """A reader (a smoke check) sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class Scratch:
    root: Path
    checkout: Path
    origin: Path
    runbook_path: Path
    target: DemoTarget
    shas: dict[str, str] = field(default_factory=dict)
    """known_good (tagged v1.0.0), layer0, head (= origin/main), feature (not on main)."""
    prometheus: DemoPrometheus | None = None
    """The Prometheus the runbook's [prometheus] url names; None: the target's stand-in."""

    @property
    def prometheus_url(self) -> str:
        return self.prometheus.url if self.prometheus else self.target.url + STANDIN_PREFIX

    @property
    def smoke_file(self) -> Path:
        return self.checkout / ".deploy" / "last-smoke-summary.env"

    @property
    def backup_file(self) -> Path:
        return self.checkout / "backup.dump"

    @property
    def log_path(self) -> Path:
        return self.checkout / ".deploy" / "release-log.sqlite"

    def write_smoke(self, generated_at: datetime | None = None, **overrides: str) -> None:
        """(Re)write the smoke summary: every seed 003 key passing unless overridden; fresh unless dated."""
        values = {**SMOKE_DEFAULTS, **overrides}
        at = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
        _write_atomically(self.smoke_file, render_env(values, at))

    def set_smoke(self, key: str, value: str | bool) -> None:
        """One smoke result changes on the target, and so in the file (see `follow_target`)."""
        self.target.set_smoke(key, value)

    def follow_target(self) -> None:
        """Mirror the target's smoke results into the file, so `POST /_demo/smoke` reaches file-based checks."""

        def mirror(values: dict[str, str], generated_at: str) -> None:
            _write_atomically(self.smoke_file, render_env(values, generated_at))

        self.target.smoke.listeners.append(mirror)
        values, at = self.target.smoke.items()
        mirror(values, at)

    def write_backup(self, age_seconds: float = 0) -> None:
        self.backup_file.write_bytes(b"PGDMP demo dump\n")
        if age_seconds:
            t = datetime.now(timezone.utc).timestamp() - age_seconds
            os.utime(self.backup_file, (t, t))

    def break_migrations(self, reason: str = "0045 drops column product.legacy_price") -> None:
        (self.checkout / ".deploy" / "FAIL_MIGRATION").write_text(reason + "\n", encoding="utf-8")

    def git(self, *args: str) -> str:
        return _git(self.checkout, *args)


def make_scratch(root: Path, target: DemoTarget, prometheus: DemoPrometheus | None = None) -> Scratch:
    """Build the scratch folder under `root` (created if needed; must not already hold a scratch).

    prometheus: the demo's Prometheus (cockpit/demo/prometheus.py); None: the target's stand-in.
    """
    root = Path(root)
    origin, checkout = root / "origin.git", root / "shop"
    if origin.exists() or checkout.exists():
        raise FileExistsError(f"{root} already holds a demo scratch folder; choose an empty folder")
    origin.mkdir(parents=True)
    _git(origin, "init", "-q", "--bare", "-b", "main")
    checkout.mkdir()
    _git(checkout, "init", "-q", "-b", "main")
    _git(checkout, "remote", "add", "origin", str(origin))

    def commit(message: str, files: dict[str, str]) -> str:
        for name, text in files.items():
            p = checkout / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
            if name.endswith(".sh"):
                p.chmod(0o755)
        _git(checkout, "add", *files)
        _git(checkout, "commit", "-q", "-m", message)
        return _git(checkout, "rev-parse", "HEAD")

    shas: dict[str, str] = {}
    shas["known_good"] = commit("shop 1.0: catalog, filters, admin", {
        "README.md": "# demo-shop\n\nThe shop `cockpit demo` releases.\n",
        ".gitignore": ".deploy/\nbackup.dump\n",
        "app/catalog.py": "def list_products():\n    return []\n",
        "scripts/deploy-prod-from-ref.sh": DEPLOY_SCRIPT,
        "scripts/migrate-dry-run.sh": MIGRATE_SCRIPT,
    })
    _git(checkout, "tag", "-a", KNOWN_GOOD_TAG, "-m", "known-good release 1.0.0")
    shas["layer0"] = commit("layer-0: indexes for filters, /health endpoints", {
        "app/health.py": "CHECKS = ['catalog', 'db', 'redis']\n",
    })
    shas["head"] = commit("layer-1: availability read API behind MARKETPLACE_AVAILABILITY_ENABLED", {
        "app/availability.py": "ENABLED_FLAG = 'MARKETPLACE_AVAILABILITY_ENABLED'\n",
    })
    _git(checkout, "push", "-q", "origin", "main", "--tags")
    _git(checkout, "checkout", "-q", "-b", FEATURE_BRANCH)
    shas["feature"] = commit("web: header profile menu (not merged)", {"app/header.py": "MENU = ['profile']\n"})
    _git(checkout, "push", "-q", "origin", FEATURE_BRANCH)
    _git(checkout, "checkout", "-q", "main")
    _git(checkout, "fetch", "-q", "origin")

    runbook = checkout / "demo.toml"
    runbook.write_text(render_runbook(target.url, prometheus.url if prometheus else None), encoding="utf-8")
    scratch = Scratch(root=root, checkout=checkout, origin=origin, runbook_path=runbook, target=target, shas=shas,
                      prometheus=prometheus)
    (checkout / ".deploy").mkdir(exist_ok=True)
    scratch.follow_target()
    scratch.write_backup()
    return scratch


def reuse_scratch(root: Path, target: DemoTarget, prometheus: DemoPrometheus | None = None) -> Scratch:
    """Point an existing scratch folder at a new target: runbook re-rendered, smoke and backup fresh, log kept."""
    root = Path(root)
    checkout = root / "shop"
    if not (checkout / ".git").is_dir():
        raise FileExistsError(f"{root} is not a demo scratch folder (no shop/.git)")
    runbook = checkout / "demo.toml"
    runbook.write_text(render_runbook(target.url, prometheus.url if prometheus else None), encoding="utf-8")
    shas = {"known_good": _git(checkout, "rev-parse", f"{KNOWN_GOOD_TAG}^{{commit}}"),
            "head": _git(checkout, "rev-parse", "origin/main"),
            "layer0": _git(checkout, "rev-parse", "origin/main~1"),
            "feature": _git(checkout, "rev-parse", f"origin/{FEATURE_BRANCH}")}
    scratch = Scratch(root=root, checkout=checkout, origin=root / "origin.git", runbook_path=runbook,
                      target=target, shas=shas, prometheus=prometheus)
    scratch.follow_target()
    scratch.write_backup()
    return scratch


__all__ = ["FEATURE_BRANCH", "KNOWN_GOOD_TAG", "PLACEHOLDER_URL", "PROMETHEUS_PLACEHOLDER_URL", "Scratch",
           "make_scratch", "render_runbook", "reuse_scratch"]
