"""A stage's procedure (seed 000's order: the layer's tag, a deploy, the smoke after the tag, a person's
confirmation, a soak, then the flag), run headless by `cockpit stage start` as another process:
every step said before it runs, logged when it starts and ends, in order; a failed step stops the
command and is retried; a manual step waits for a person; the chain verifies."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.refusal import ActionRefused
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import ConfigError, load_runbook
from tests.helpers.demo import Demo, in_cutover

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
FLAG = "MARKETPLACE_AVAILABILITY_ENABLED"

LAYER_1_STEPS = '''
[[stages.steps]]
kind = "tag"

[[stages.steps]]
id = "deploy"
kind = "command"
run = ["bash", "./scripts/deploy-prod-from-ref.sh", "{sha}", "."]
timeout = "1m"
produces = ".deploy/deployed-sha"

[[stages.steps]]
id = "smoke"
kind = "checks"
checks = ["layer-1-tag", "health-availability"]

[[stages.steps]]
id = "announce"
kind = "manual"
instruction = "Announce layer 1 in #releases"
who = "Release Owner"

[[stages.steps]]
id = "soak"
kind = "wait"
duration = "1s"
confirm = false

[[stages.steps]]
kind = "flags"
'''

TAG_CHECK = '''
[[checks]]
id = "layer-1-tag"
title = "pre-marketplace-layer-1 on the target (made by the stage's own tag step)"
kind = "git"
rule = "tag-exists"
ref = "pre-marketplace-layer-1"
stage = "layer-1"
'''


def with_procedure(demo: Demo) -> None:
    path = demo.scratch.runbook_path
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition('id = "layer-1"')
    block, nxt, tail = rest.partition("[[stages]]")
    block = block.replace('monitor = "2m"\n', "")
    path.write_text(head + sep + block + LAYER_1_STEPS + "\n" + nxt + tail + TAG_CHECK, encoding="utf-8")


def stage_cmd(demo: Demo, *args: str, actor: str = "Ann", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", "stage", args[0], *args[1:2], "--config",
                           str(demo.scratch.runbook_path), "--env", "production", "--as", actor, *args[2:]],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_a_stage_procedure_runs_headless_step_by_step(demo: Demo) -> None:
    with_procedure(demo)
    runbook = load_runbook(demo.scratch.runbook_path)
    log = open_log(runbook)
    session = asyncio.run(in_cutover(runbook, log, ANN, stage="layer-0"))
    asyncio.run(session.mark_stable("layer-0", "indexes in"))
    sha = session.target.sha

    # Without --yes the first step that asks is not run: the command says so and waits (exit 3).
    p = stage_cmd(demo, "start", "layer-1")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "stage layer-1 started by Ann" in p.stdout and "tag pre-marketplace-layer-1 on" in p.stdout
    # The smoke reads the tag the stage's own first step makes: no deadlock (seed 000).
    p = stage_cmd(demo, "start", "layer-1", "--yes", DEMO_DEPLOY_FAIL="1")
    assert p.returncode == 1 and "✘ deploy: failed" in p.stdout and "retry: run again" in p.stdout, p.stdout
    p = stage_cmd(demo, "start", "layer-1", "--yes")  # retried: goes on from the failed step
    assert p.returncode == 3 and "✔ deploy: done" in p.stdout and "✔ smoke: done" in p.stdout, p.stdout
    assert "waiting for a person: confirm with --manual announce=NOTE" in p.stdout
    assert not demo.target.flags.get(FLAG)  # the flag step comes last
    p = stage_cmd(demo, "start", "layer-1", "--yes", "--json", "--manual", "announce=posted in #releases")
    assert p.returncode == 0, p.stdout + p.stderr
    report = json.loads(p.stdout)
    assert [(s["step"], s["outcome"]) for s in report["steps"]] == [
        ("announce", "done"), ("soak", "done"), ("flags-6", "done")]
    assert demo.target.flags.get(FLAG)
    assert (demo.scratch.checkout / ".deploy" / "deployed-sha").read_text().strip() == sha

    steps = [(e.kind, e.payload["step"], e.payload.get("outcome")) for e in
             log.entries(LogFilter(release_id=session.release_id, kind="step."))]
    assert steps == [
        (kinds.STEP_STARTED, "tag-1", None), (kinds.STEP_FINISHED, "tag-1", "done"),
        (kinds.STEP_STARTED, "deploy", None), (kinds.STEP_FINISHED, "deploy", "failed"),
        (kinds.STEP_STARTED, "deploy", None), (kinds.STEP_FINISHED, "deploy", "done"),
        (kinds.STEP_STARTED, "smoke", None), (kinds.STEP_FINISHED, "smoke", "done"),
        (kinds.STEP_STARTED, "announce", None), (kinds.STEP_FINISHED, "announce", "done"),
        (kinds.STEP_STARTED, "soak", None), (kinds.STEP_FINISHED, "soak", "done"),
        (kinds.STEP_STARTED, "flags-6", None), (kinds.STEP_FINISHED, "flags-6", "done")]
    deploy = [e for e in log.entries(LogFilter(release_id=session.release_id, kind=kinds.STEP_FINISHED))
              if e.payload["step"] == "deploy"][-1].payload
    assert deploy["argv"][-2:] == [sha, "."] and deploy["exit_code"] == 0
    assert any(sha in line for line in deploy["excerpt"]) and len(deploy["output_sha256"]) == 64
    assert open(deploy["output_file"], encoding="utf-8").read().count("-->") == 4  # the whole output is kept
    assert deploy["produces"]["sha256"] and deploy["produces"]["path"].endswith("deployed-sha")
    tag = subprocess.run(["git", "rev-parse", "pre-marketplace-layer-1^{commit}"], cwd=demo.scratch.checkout,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert tag == sha
    p = stage_cmd(demo, "stable", "layer-1", "--note", "availability API quiet")
    assert p.returncode == 0, p.stdout + p.stderr
    assert log.verify().ok
    log.close()


def test_steps_run_in_order_and_a_skip_or_abort_needs_a_reason(demo: Demo) -> None:
    with_procedure(demo)
    runbook = load_runbook(demo.scratch.runbook_path)
    log = open_log(runbook)

    async def go() -> ReleaseSession:
        s = await in_cutover(runbook, log, ANN, stage="layer-0")
        await s.mark_stable("layer-0", "ok")
        await s.start_stage("layer-1")
        return s

    s = asyncio.run(go())
    with pytest.raises(ActionRefused, match="step 'deploy' comes later; the next step of 'layer-1' is 'tag-1'"):
        asyncio.run(s.run_step("layer-1", "deploy"))
    with pytest.raises(ActionRefused, match="needs a reason"):
        asyncio.run(s.skip_step("layer-1", "tag-1", " "))
    with pytest.raises(ActionRefused, match="steps not done: tag-1, deploy"):
        asyncio.run(s.mark_stable("layer-1", "too early"))
    asyncio.run(s.skip_step("layer-1", "tag-1", "tagged by hand"))
    assert s.next_step("layer-1")[0] == "deploy"
    with pytest.raises(ActionRefused, match="needs a reason"):
        asyncio.run(s.abort_stage("layer-1", ""))
    assert asyncio.run(s.abort_stage("layer-1", "db too slow")) == []
    assert s.state.stage("layer-1").status.value == "aborted"
    assert log.verify().ok
    log.close()


def test_a_step_naming_what_does_not_exist_is_refused_with_its_key(demo: Demo) -> None:
    path = demo.scratch.runbook_path
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition('id = "layer-1"')
    bad = '\n[[stages.steps]]\nkind = "command"\nrun = ["deploy", "{nope}"]\n'
    block, nxt, tail = rest.partition("[[stages]]")
    path.write_text(head + sep + block + bad + "\n" + nxt + tail, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+: stages\[1\]\.steps\[0\]\.run: unknown placeholder \{nope\}"):
        load_runbook(path)


def test_the_release_is_closed_headless_once_every_stage_is_stable(demo: Demo) -> None:
    log = open_log(demo.runbook)
    asyncio.run(in_cutover(demo.runbook, log, ANN, stage="layer-0"))
    p = subprocess.run(
        [sys.executable, "-m", "cockpit", "release", "close", "--config", str(demo.scratch.runbook_path),
         "--env", "production", "--as", "Ann", "--note", "all layers in"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "stages not yet stable: layer-0, layer-1, layer-2" in p.stderr
    log.close()


def test_a_manual_item_is_ticked_headless_with_a_note(demo: Demo) -> None:
    def tick(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cockpit", "tick", *args, "--config", str(demo.scratch.runbook_path),
                               "--env", "production", "--as", "Carol"], capture_output=True, text=True, timeout=60)

    p = tick("overlap-tested", "--note", "tested on staging, ticket OPS-12")
    assert p.returncode == 0 and "overlap-tested ticked by Carol" in p.stdout, p.stderr
    assert tick("overlap-tested", "--note", "  ").returncode == 1  # a tick needs a note
    assert tick("health-availability", "--note", "x").returncode == 2  # not a manual item
    log = open_log(demo.runbook)
    ticks = list(log.entries(LogFilter(kind=kinds.ITEM_TICKED)))
    assert [(e.actor.name, e.payload["note"]) for e in ticks] == [("Carol", "tested on staging, ticket OPS-12")]
    log.close()


def test_a_headless_stage_start_judges_its_gate_on_evidence_taken_now(demo: Demo) -> None:
    log = open_log(demo.runbook)
    session = asyncio.run(in_cutover(demo.runbook, log, ANN, stage="layer-0"))
    asyncio.run(session.mark_stable("layer-0", "ok"))
    demo.target.set_health("availability", status_code=503)
    asyncio.run(session.take_evidence(["health-availability"]))  # the log says: failing
    demo.target.set_health("availability", status_code=200)  # fixed since
    p = stage_cmd(demo, "start", "layer-1", "--yes")
    assert p.returncode == 0, p.stdout + p.stderr
    asyncio.run(session.refresh())
    assert session.state.stage("layer-1").status.value == "started"
    log.close()
