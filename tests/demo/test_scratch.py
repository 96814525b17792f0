"""The scratch folder: a real git checkout with origin, the demo's files, and the rendered runbook."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.runbook.config import load_runbook
from cockpit.demo import DemoTarget
from cockpit.demo.scratch import FEATURE_BRANCH, KNOWN_GOOD_TAG, PLACEHOLDER_URL, Scratch, make_scratch


@pytest.fixture
def scratch(tmp_path: Path, target: DemoTarget) -> Iterator[Scratch]:
    yield make_scratch(tmp_path / "demo", target)


def is_ancestor(s: Scratch, a: str, b: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", a, b], cwd=s.checkout).returncode == 0


def test_repo_shape(scratch: Scratch) -> None:
    s = scratch
    assert s.git("rev-parse", "origin/main") == s.shas["head"] == s.git("rev-parse", "main")
    assert s.git("rev-parse", f"{KNOWN_GOOD_TAG}^{{commit}}") == s.shas["known_good"]
    assert s.git("ls-remote", "--tags", "origin", KNOWN_GOOD_TAG)  # the tag was pushed
    assert is_ancestor(s, s.shas["known_good"], "origin/main") and s.shas["known_good"] != s.shas["head"]
    assert is_ancestor(s, s.shas["layer0"], "origin/main")
    assert s.git("rev-parse", f"origin/{FEATURE_BRANCH}") == s.shas["feature"]
    assert not is_ancestor(s, s.shas["feature"], "origin/main")
    assert s.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert s.git("status", "--porcelain", "--untracked-files=no") == ""


def test_files_are_fresh(scratch: Scratch) -> None:
    assert time.time() - scratch.backup_file.stat().st_mtime < 60
    values = dict(line.split("=", 1) for line in scratch.smoke_file.read_text().splitlines())
    assert values["smoke_sso"] == "PASS" and values["reconnectOk"] == "true"
    scratch.write_backup(age_seconds=7200)
    assert time.time() - scratch.backup_file.stat().st_mtime > 7000


def test_set_smoke_changes_file_and_target(scratch: Scratch, target: DemoTarget) -> None:
    scratch.set_smoke("smoke_realtime", "FAIL")
    text = scratch.smoke_file.read_text()
    assert "smoke_realtime=FAIL" in text and "smoke_sso=PASS" in text
    assert target.smoke.items()[0]["smoke_realtime"] == "FAIL"


def test_rendered_runbook_loads_and_points_at_the_target(scratch: Scratch, target: DemoTarget) -> None:
    rb = load_runbook(scratch.runbook_path)
    assert PLACEHOLDER_URL not in scratch.runbook_path.read_text()
    assert all(e.url == target.url for e in rb.environments.values())
    assert rb.repo_path.resolve() == scratch.checkout.resolve()
    assert rb.resolve_path(rb.log.path or "") == scratch.log_path
    kinds = {c.kind for c in rb.checks}
    assert kinds == {"http", "smoke", "git", "command", "file", "manual", "prometheus"}
    # no Prometheus given: the target's stand-in for one (cockpit/demo/promstandin.py)
    assert rb.prometheus is not None and rb.prometheus.url == target.url + "/_demo/prometheus"
    assert [g.check for s in rb.stages for g in s.guardrails] == ["error-rate"]
    assert rb.flags is not None and rb.flags.backend == "http" and rb.flags.token_secret == "demo-flags"
    assert [s.id for s in rb.stages] == ["layer-0", "layer-1", "layer-2"]
    assert rb.rollback.deploy and "{ref}" in rb.rollback.deploy


def test_deploy_script_deploys_a_ref(scratch: Scratch) -> None:
    env = {**os.environ, "DEMO_DEPLOY_STEP_SECONDS": "0"}
    r = subprocess.run(["bash", "./scripts/deploy-prod-from-ref.sh", KNOWN_GOOD_TAG, "."], cwd=scratch.checkout,
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "--> rolling out" in r.stdout
    assert (scratch.checkout / ".deploy" / "deployed-sha").read_text().strip() == scratch.shas["known_good"]
    bad = subprocess.run(["bash", "./scripts/deploy-prod-from-ref.sh", "no-such-ref", "."], cwd=scratch.checkout,
                         capture_output=True, text=True, env=env, timeout=30)
    assert bad.returncode == 1 and "unknown ref" in bad.stderr


def test_migration_dry_run_passes_until_broken(scratch: Scratch) -> None:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "./scripts/migrate-dry-run.sh"], cwd=scratch.checkout,
                              capture_output=True, text=True, timeout=30)

    assert run().returncode == 0
    scratch.break_migrations("drops a column")
    r = run()
    assert r.returncode == 1 and "drops a column" in r.stderr


def test_refuses_a_folder_that_already_holds_a_scratch(scratch: Scratch, target: DemoTarget) -> None:
    with pytest.raises(FileExistsError):
        make_scratch(scratch.root, target)


def test_committed_demo_runbook_is_the_packaged_one() -> None:
    root = Path(__file__).resolve().parents[2]
    assert (root / "config" / "demo.toml").read_text() == (root / "cockpit" / "demo" / "demo.toml").read_text()
