"""`cockpit demo`'s Prometheus: the real one scraping the demo target when `prometheus` is installed, the
target's labelled stand-in when it is not (the demo opens on a fresh machine either way)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cockpit.cli.demo_cmd import SECRET, demo_environment
from cockpit.core.secrets import env_name
from cockpit.demo import DemoTarget
from cockpit.demo.prometheus import DEMO_JOB, ROOT_PREFIX, demo_prometheus, find_binary, sweep_stale_roots
from cockpit.demo.promstandin import ERROR_RATIO, PREFIX
from tests.helpers.prometheus import PrometheusAPI

ROOT = Path(__file__).resolve().parents[2]


def path_without_prometheus(tmp_path: Path) -> str:
    """A PATH with every command of this one except `prometheus`: a machine where it is not installed."""
    bin_dir = tmp_path / "bin-without-prometheus"
    bin_dir.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            src, dst = os.path.join(d, name), bin_dir / name
            if name != "prometheus" and not dst.exists() and os.access(src, os.X_OK) and os.path.isfile(src):
                dst.symlink_to(src)
    return str(bin_dir)


def test_the_demo_runs_a_real_prometheus_that_scrapes_its_target(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.fail("`prometheus` is required: this test runs the demo's real Prometheus "
                    "(apt-get install prometheus)", pytrace=False)
    with demo_environment(str(tmp_path / "d")) as (target, scratch):
        prom = scratch.prometheus
        assert prom is not None and prom.real and scratch.prometheus_url == prom.url
        seen = PrometheusAPI(prom.url)   # the helper's query and wait_for, on the demo's own server
        up = seen.wait_for(f'up{{job="{DEMO_JOB}"}}', lambda r: len(r) == 1 and r[0]["value"][1] == "1")
        assert up[0]["metric"]["instance"] == f"127.0.0.1:{target.port}"
        query = ERROR_RATIO   # the demo runbook's guardrail query
        calm = seen.wait_for(query, lambda r: len(r) == 1)
        assert float(calm[0]["value"][1]) < 0.05
        # what the newcomer's curl does: a fault on layer-2's flag, then the flag on
        httpx.post(f"{target.url}/_demo/fault", json={"flag": "MARKETPLACE_REQUESTS_ENABLED", "error_rate": 0.5},
                   timeout=5).raise_for_status()
        target.flags.put("MARKETPLACE_REQUESTS_ENABLED", True, "test", "t", None)
        seen.wait_for(query, lambda r: len(r) == 1 and float(r[0]["value"][1]) > 0.1)
    with pytest.raises(httpx.ConnectError):   # stopped with the demo
        httpx.get(prom.url + "/-/ready", timeout=2)


def test_without_the_binary_the_stand_in_answers_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_without_prometheus(tmp_path))
    assert find_binary() is None
    with DemoTarget() as target, demo_prometheus(target) as prom:
        assert not prom.real and prom.url == target.url + PREFIX
        assert "stand-in" in prom.describe() and "install prometheus" in prom.describe()


def test_cockpit_demo_opens_without_prometheus(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != env_name(SECRET)}
    env["PATH"] = path_without_prometheus(tmp_path)
    r = subprocess.run([sys.executable, "-m", "cockpit", "demo", "--check-only", "--dir", str(tmp_path / "d")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^GO — ", r.stdout, re.M)
    line = re.search(r"^prometheus\s+(\S+)\s+(.*)$", r.stdout, re.M)
    assert line is not None, r.stdout
    assert line.group(1).endswith(PREFIX) and "stand-in" in line.group(2) and "install prometheus" in line.group(2)


KILLED_DEMO = """
import sys, time
from cockpit.demo import DemoTarget
from cockpit.demo.prometheus import demo_prometheus
with DemoTarget() as target, demo_prometheus(target) as prom:
    print(prom.url, prom.real, flush=True)
    time.sleep(600)
"""


def test_a_killed_demo_takes_its_prometheus_with_it_and_the_next_demo_sweeps_its_folder(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.fail("`prometheus` is required: this test kills a demo with its real Prometheus "
                    "(apt-get install prometheus)", pytrace=False)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    demo = subprocess.Popen([sys.executable, "-c", KILLED_DEMO], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        url, real = demo.stdout.readline().split()
        assert real == "True" and httpx.get(url + "/-/ready", timeout=5).status_code == 200
        [root] = tmp_path.glob(ROOT_PREFIX + "*")
        assert sweep_stale_roots(tmp_path) == [] and root.is_dir()   # a living demo's folder is left alone
    finally:
        demo.kill()   # SIGKILL: no finally block of the demo runs
        demo.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/-/ready", timeout=1)
        except httpx.TransportError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the killed demo's Prometheus still answers at {url}")
    assert sweep_stale_roots(tmp_path) == [root] and not root.exists()
