"""Scenes of the rollback wizard, one per step, each at 120x40 and 80x24; and a rollback the runbook
declares (seed 002's previous image, restart and Netlify's manual rollback) at its manual step.

Deterministic: git commit dates are fixed (so SHAs and the release id are), the clock is a manual
one the scene advances, the terminal size is fixed; no port or temp path reaches the screen.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from tests.ui.fixtures import temp_env, workers_done
from tests.ui.scenes import at_both_sizes

T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
GIT_DATE = "2025-03-01T12:00:00+00:00"


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)




DECLARED = '''
[[rollback.steps]]
id = "previous-image"
kind = "command"
title = "Previous image: redeploy the rollback ref"
run = ["bash", "./scripts/deploy-prod-from-ref.sh", "{ref}", "."]
timeout = "1m"

[[rollback.steps]]
id = "restart"
kind = "command"
title = "Restart web"
run = ["bash", "-c", "echo restarted $0 at $1", "web", "{short_sha}"]

[[rollback.steps]]
id = "netlify"
kind = "manual"
title = "Netlify: the frontend's previous deploy"
instruction = "Netlify: Deploys → the previous deploy → Rollback to this deploy"
who = "Rollback Owner"
'''


def make_app(tmp: Path, *, deploy_prefix: str = "", declared: str = "") -> App[Any]:
    from cockpit.runbook.config import load_runbook
    from cockpit.core.flags.http import HttpFlagBackend
    from cockpit.core.log.sqlite import SqliteLog
    from cockpit.demo import DEMO_TOKEN, DemoTarget
    from cockpit.demo.scratch import make_scratch
    from cockpit.ui.rollback_app import make_rollback_app
    from tests.rollback.release import BOB, go_release

    target = DemoTarget().start()
    with temp_env(GIT_AUTHOR_DATE=GIT_DATE, GIT_COMMITTER_DATE=GIT_DATE):
        scratch = make_scratch(tmp / "scratch", target)
    text = scratch.runbook_path.read_text()
    # smoke evidence only: its detail has no latency figure, so the verify step renders the same every run
    text = text.replace('verify = ["health-api", "health-db", "smoke-sso"]', 'verify = ["smoke-sso", "smoke-realtime"]')
    text = text.replace('deploy = "bash', f'deploy = "{deploy_prefix}bash')
    scratch.runbook_path.write_text(text + declared)
    runbook = load_runbook(scratch.runbook_path)
    log = SqliteLog(scratch.log_path)

    def backend() -> HttpFlagBackend:  # the demo token, without touching the environment or a keyring
        return HttpFlagBackend(target.flags_url, DEMO_TOKEN, timeout=5)

    clock = ManualClock(T0)
    asyncio.run(go_release(runbook, log, clock=clock, backend_factory=backend))
    clock.advance(600)  # the incident, ten minutes after GO

    def close() -> None:
        log.close()
        target.stop()

    app = make_rollback_app(runbook, log, "production", BOB, clock=clock, backend_factory=backend,
                            flag_backoff=0.01, tick_seconds=0, on_close=[close])
    app.scene_clock = clock  # type: ignore[attr-defined]
    return app


async def _settle(pilot: Pilot) -> None:
    for _ in range(2):
        await workers_done(pilot.app)
        await pilot.pause()


async def _step(pilot: Pilot, seconds: float) -> None:
    await pilot.press("enter")
    await pilot.pause()
    await pilot.click("#confirm")
    pilot.app.scene_clock.advance(seconds)  # type: ignore[attr-defined]
    await _settle(pilot)


async def _instant_step(pilot: Pilot, seconds: float) -> None:
    """A step that ends at once (flags on loopback, a smoke file re-read, an echo): the clock moves after it
    has ended, so it ends at the same time every run (`_step` is for a deploy, which outlasts the move)."""
    await pilot.press("enter")
    await pilot.pause()
    await pilot.click("#confirm")
    await _settle(pilot)
    pilot.app.scene_clock.advance(seconds)  # type: ignore[attr-defined]


async def plan(pilot: Pilot) -> None:
    await _settle(pilot)


async def confirm_flags(pilot: Pilot) -> None:
    await _settle(pilot)
    await pilot.press("enter")
    await pilot.pause()


async def deploy_step(pilot: Pilot) -> None:
    await _settle(pilot)
    await _instant_step(pilot, 4)  # the flags


async def deploy_failed(pilot: Pilot) -> None:
    await deploy_step(pilot)
    await _step(pilot, 35)


async def verify_done(pilot: Pilot) -> None:
    await deploy_step(pilot)
    await _step(pilot, 41)
    await _instant_step(pilot, 6)


async def closed(pilot: Pilot) -> None:
    await verify_done(pilot)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*"catalog mode restored, smoke green")
    await pilot.press("enter")
    await _settle(pilot)


async def declared_manual(pilot: Pilot) -> None:
    """The flags, the previous image and the restart done; the Netlify step waits for a person's note."""
    await _settle(pilot)
    await _instant_step(pilot, 4)
    await _step(pilot, 38)
    await _instant_step(pilot, 3)


SCENES = [
    *at_both_sizes("rollback-1-plan", make_app, plan),
    *at_both_sizes("rollback-2-confirm-flags", make_app, confirm_flags),
    *at_both_sizes("rollback-3-deploy", make_app, deploy_step),
    *at_both_sizes("rollback-4-deploy-failed", lambda tmp: make_app(tmp, deploy_prefix="DEMO_DEPLOY_FAIL=1 "),
                   deploy_failed),
    *at_both_sizes("rollback-5-verify", make_app, verify_done),
    *at_both_sizes("rollback-6-closed", make_app, closed),
    *at_both_sizes("rollback-7-declared-manual", lambda tmp: make_app(tmp, declared=DECLARED), declared_manual),
]
