"""Cockpit A open (Pilot) while process B signs off, goes GO, flips and kills: A's screen shows each,
with B's name, within a second of B's command returning — on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable

from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.release import Phase
from cockpit.ui.app import CockpitApp, make_app
from tests.live.conftest import Demo, cockpit
from tests.rollback.release import LAYER_FLAGS
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop-a", "ann@example.com")
WITHIN = 1.0
"""The issue's promise: what another terminal did is on screen within a second (the benchmark
tests/benchmarks/bench_live.py measures how far within)."""


async def shows(pilot, what: Callable[[CockpitApp], bool]) -> float:  # noqa: ANN001
    """Seconds until `what` holds on A (asserts it does within WITHIN)."""
    started = time.monotonic()
    while time.monotonic() - started < WITHIN:
        await pilot.pause(0.02)
        if what(pilot.app):
            return time.monotonic() - started
    raise AssertionError(f"not on A's screen {WITHIN}s after B's command returned")


def said_by(app: CockpitApp, name: str, words: str) -> bool:
    return any(n.message.startswith(f"{name}: ") and words in n.message for n in app._notifications)


def on_screen(app: CockpitApp, text: str) -> bool:
    """Text somewhere in what the current screen renders (not only in the session's state)."""
    return any(text in str(w.render()) for w in app.screen.query("*") if w.display and hasattr(w, "render"))


async def test_a_shows_what_b_does_within_a_second(demo: Demo, store: str) -> None:
    flag = LAYER_FLAGS["layer-1"]
    app = make_app(demo.runbook, open_log(demo.runbook), actor=ANN, refresh_every=None)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 30
        while app.session is None and time.monotonic() < deadline:  # it opens after the first paint
            await pilot.pause(0.05)
        await workers_done(app)  # then its evidence is taken
        session = app.session
        assert session is not None and session.state.phase is Phase.PREPARING
        await session.tick("overlap-tested", "tested on staging")  # Ann's part, in her cockpit

        b = cockpit(demo, "signoff", "--release-owner", "Bob", "--rollback-owner", "Carol",
                    "--rollback-ref", "v1.0.0", "--release", session.release_id)
        assert b.returncode == 0, b.stderr
        await shows(pilot, lambda a: a.session.state.signoff is not None
                    and a.session.state.signoff.release_owner == "Bob" and said_by(a, "Bob", "sign"))

        b = cockpit(demo, "signoff", "--release-owner", "Bob", "--rollback-owner", "Carol",
                    "--rollback-ref", "v1.0.0", "--decision", "go")
        assert b.returncode == 0, b.stderr + b.stdout
        await shows(pilot, lambda a: a.session.state.phase is Phase.GO and said_by(a, "Bob", "GO"))
        await shows(pilot, lambda a: a.current_mode == "cutover" and "lock: Bob" in a.view.log_status)

        b = cockpit(demo, "flags", "set", flag, "on", "--reason", "layer 1 by hand")
        assert b.returncode == 0, b.stderr
        await shows(pilot, lambda a: any(f.flag == flag and f.after is True and f.by == "Bob"
                                         for f in a.session.state.flips) and said_by(a, "Bob", flag))

        b = cockpit(demo, "flags", "kill", "--stage", "layer-1", "--reason", "5xx on availability")
        assert b.returncode == 0, b.stderr
        await shows(pilot, lambda a: a.session.state.flips[-1].after is False
                    and a.session.state.flips[-1].by == "Bob" and said_by(a, "Bob", flag))
        assert not [w for w in app.workers if w.group == "catch-up" and w.is_running]
