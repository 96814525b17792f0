"""Bring a demo release to the state an incident finds it in: GO, flags snapshotted, layers flipped ON.

Everything goes through the real session, the real flag API of the demo target and a real log, so
the rollback reads exactly the entries a cutover writes. Used by the tests, the UI scenes and the benchmark.
"""

from __future__ import annotations

import socket
from datetime import datetime

from cockpit.runbook.config import Runbook
from cockpit.core import kinds
from cockpit.core.flags.factory import make_backend
from cockpit.core.flags.flip import snapshot, snapshot_payload
from cockpit.core.log.base import ReleaseLog
from cockpit.core.log.entry import Actor
from cockpit.core.session import ReleaseSession

ALICE = Actor(name="alice", os_user="alice", host="release-laptop", git_email="alice@example.com")
"""The release owner."""
BOB = Actor(name="bob", os_user="bob", host="incident-laptop", git_email="bob@example.com")
"""The rollback owner / incident commander."""
LAYER_FLAGS = {"layer-1": "MARKETPLACE_AVAILABILITY_ENABLED", "layer-2": "MARKETPLACE_REQUESTS_ENABLED"}


def free_port() -> int:
    """A port the demo target can stop and start again on (the 'flag API is down' tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def go_release(runbook: Runbook, log: ReleaseLog, *, rollback_ref: str | None = "v1.0.0",
                     flip_layers: tuple[str, ...] = ("layer-1", "layer-2"), actor: Actor = ALICE,
                     clock: object = None, backend_factory: object = None) -> ReleaseSession:
    """Open the release, take evidence, sign off (rollback owner bob), GO, snapshot the flags, flip the layers ON."""
    kw = {"clock": clock} if clock is not None else {}
    s = await ReleaseSession.open(runbook, log, "production", actor, **kw)  # type: ignore[arg-type]
    await s.take_evidence([c.id for c in runbook.checks if c.stage is None])
    await s.sign_off("alice", "bob", rollback_ref or "")
    if rollback_ref:  # GO as recorded by the gate; the lock, snapshot and flips are laid out below
        assert s.go_refusal(s.target.short) is None
        await s.record(kinds.DECISION_GO, {"target_sha": s.target.sha, "confirmation": s.target.short})
    else:  # without a rollback ref the gate says NO-GO; an incident can still happen (flags were flipped)
        await s.decide_nogo("shipped without a rollback ref")
    backend = backend_factory() if backend_factory else make_backend(runbook, "production")  # type: ignore[operator]
    try:
        snap = await snapshot(backend, runbook.all_flags)
        await s.record(kinds.FLAGS_SNAPSHOT, snapshot_payload(snap))
        for stage in flip_layers:
            await s.flip_flags({LAYER_FLAGS[stage]: True}, reason=f"start {stage}", stage=stage, backend=backend)
            await s.record(kinds.STAGE_STARTED, {"stage": stage, "flags": [LAYER_FLAGS[stage]]})
    finally:
        await backend.aclose()
    await s.refresh()
    return s


def fixed_clock(at: datetime):  # type: ignore[no-untyped-def]
    return lambda: at
