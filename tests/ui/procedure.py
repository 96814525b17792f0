"""The demo runbook's layer-1 as a procedure (seed 000's order: the layer's tag, a deploy, the smoke after
the tag, a person's confirmation, a soak, then the flag), written into a scratch copy of the runbook —
config/demo.toml itself stays a runbook without steps."""

from __future__ import annotations

from pathlib import Path

DEPLOY = '["bash", "./scripts/deploy-prod-from-ref.sh", "{sha}", "."]'

TAG_CHECK = '''
[[checks]]
id = "layer-1-tag"
title = "pre-marketplace-layer-1 on the target (made by the stage's own tag step)"
kind = "git"
rule = "tag-exists"
ref = "pre-marketplace-layer-1"
stage = "layer-1"
'''


def layer1_steps(*, deploy: str = DEPLOY, soak: str = "1s", planned: bool = False) -> str:
    """The steps; `planned`: with seed 004's release-day times (after GO), titled as a team would."""
    at = (lambda when: f'at = "{when}"\n') if planned else (lambda when: "")
    title = (lambda text: f'title = "{text}"\n') if planned else (lambda text: "")
    return f'''
[[stages.steps]]
id = "tag"
kind = "tag"
{title("Tag pre-marketplace-layer-1 on the release")}{at("+15m")}
[[stages.steps]]
id = "deploy"
kind = "command"
run = {deploy}
timeout = "1m"
produces = ".deploy/deployed-sha"
{title("Deploy the release (scripts/deploy-prod-from-ref.sh)")}{at("+20m")}
[[stages.steps]]
id = "smoke"
kind = "checks"
checks = ["layer-1-tag", "health-availability"]
{title("Smoke after the tag: the tag and the availability API")}{at("+25m")}
[[stages.steps]]
id = "announce"
kind = "manual"
instruction = "Announce layer 1 in #releases"
who = "Release Owner"
{at("+30m")}
[[stages.steps]]
id = "soak"
kind = "wait"
duration = "{soak}"
confirm = false
{title("Soak: watch the dashboards")}
[[stages.steps]]
id = "flags"
kind = "flags"
{title("MARKETPLACE_AVAILABILITY_ENABLED on")}{at("+45m")}'''


def with_procedure(runbook: Path, steps: str | None = None) -> None:
    """Give layer-1 its procedure (and no monitor window: its soak is a step now) and the check of its tag."""
    text = runbook.read_text(encoding="utf-8")
    head, sep, rest = text.partition('id = "layer-1"')
    block, nxt, tail = rest.partition("[[stages]]")
    block = block.replace('monitor = "2m"\n', "")
    runbook.write_text(head + sep + block + (steps or layer1_steps()) + "\n\n" + nxt + tail + TAG_CHECK,
                       encoding="utf-8")
