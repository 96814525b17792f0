"""Scenes of the watched windows on the cutover screen, each at 120x40 and 80x24: layer-1's guardrail
watching after its flip (a sparkline of its samples, sampled by a `cockpit watch` on another machine),
and the same guardrail breached with `alert` (the banner offering the rollback with the breach as its
reason). The cockpit's own watcher is off: the windows are the log's, written here as a watcher writes them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from cockpit.core import kinds
from cockpit.core.evidence import Evidence, Status
from cockpit.core.log.entry import Actor, format_at
from cockpit.runbook.config import load_runbook
from cockpit.ui.app import CockpitApp, make_app
from tests.ui.fixtures import ANN, NOW, clock
from tests.ui.scenes import at_both_sizes
from tests.ui.scenes.cockpit import _cutover_release, highlight_layer1

CHECK = "availability-errors"
OPS_WATCH = Actor("ops (watch ops-host:4242)", "ops", "ops-host", "ops@example.com")
SAMPLES = [0.002, 0.003, 0.002, 0.004, 0.003, None, 0.003, 0.005, 0.004, 0.006, 0.004, 0.003, 0.005, 0.007,
           0.006, 0.005, 0.008, 0.006, 0.007, 0.009]
"""Twenty samples 30 s apart (one without data: Prometheus had no series then)."""
RISING = SAMPLES[:14] + [0.012, 0.031, 0.058, 0.083, 0.097, 0.11]


def guard_layer_1(text: str, on_breach: str) -> str:
    """Layer-1 guarded by its 5xx share from Prometheus, for 30 minutes after its flip."""
    if "[prometheus]" not in text:
        text += '\n[prometheus]\nurl = "http://127.0.0.1:9090"\n'
    head, sep, rest = text.partition('id = "layer-1"')
    block, nxt, tail = rest.partition("[[stages]]")
    rail = (f'\n[[stages.guardrails]]\ncheck = "{CHECK}"\ninterval = "30s"\nwindow = "30m"\nfailure_limit = 3\n'
            f'max_increase = 0.02\non_breach = "{on_breach}"\n\n')
    check = (f'\n[[checks]]\nid = "{CHECK}"\ntitle = "availability API 5xx share"\nkind = "prometheus"\n'
             "query = 'sum(rate(http_requests_total{job=\"availability\",code=~\"5..\"}[1m])) / "
             "sum(rate(http_requests_total{job=\"availability\"}[1m]))'\n"
             'expect = { lt = 0.05 }\nstage = "layer-1"\nblocking = false\n')
    return head + sep + block + rail + nxt + tail + check


def window_release(tmp: Path, on_breach: str, *, left: timedelta = timedelta(minutes=20),
                   other_watcher: bool = True):  # noqa: ANN201
    """The cutover scene with layer-1's window opened at its flip (ten minutes ago), `left` to run; with
    `other_watcher`, a `cockpit watch` on another machine holds the watch lease."""
    rel = _cutover_release(tmp)
    path = rel.scratch.runbook_path
    path.write_text(guard_layer_1(path.read_text(encoding="utf-8"), on_breach), encoding="utf-8")
    rel.runbook = load_runbook(path)
    baseline = Evidence(CHECK, "prometheus", Status.PASS, "0.002 (< 0.05)", "", duration_ms=38,
                        taken_at=NOW - timedelta(minutes=10), blocking=False, data={"value": 0.002})
    rel.add(kinds.EVIDENCE_TAKEN, {"evidence": [baseline.to_json()]}, minutes_ago=10)
    rel.add(kinds.GUARDRAIL_OPENED, {
        "stage": "layer-1", "check": CHECK, "baseline": 0.002, "baseline_detail": "0.002 (< 0.05)",
        "interval_s": 30.0, "window_s": 1800.0, "until": format_at(NOW + left),
        "failure_limit": 3, "consecutive": True, "on_breach": on_breach, "inconclusive_limit": None,
        "limits": "< 0.05 and ≤ baseline + 0.02"}, minutes_ago=10)
    lease = {"lease_s": 90, "taken_at": format_at(NOW - timedelta(minutes=10)),
             "expires_at": format_at(NOW + timedelta(seconds=80))}
    if other_watcher:
        rel.add(kinds.WATCH_STARTED, lease, minutes_ago=10, actor=OPS_WATCH)
    return rel


def changed(samples: list[float | None], state: str, failures: int, detail: str) -> dict[str, Any]:
    return {"stage": "layer-1", "check": CHECK, "state": state, "failures": failures, "value": samples[-1],
            "detail": detail, "sampled_at": format_at(NOW - timedelta(seconds=12)), "samples": samples}


def app_on(rel, *, watch: bool = False) -> CockpitApp:  # noqa: ANN001
    return make_app(rel.runbook, rel.log, actor=ANN, clock=clock, refresh_every=None, take_on_open=False, watch=watch)


def watching(tmp: Path) -> CockpitApp:
    rel = window_release(tmp, "kill")
    rel.add(kinds.GUARDRAIL_CHANGED, changed(SAMPLES, "passing", 0, "0.009 (< 0.05)"), minutes_ago=0.2,
            actor=OPS_WATCH)
    return app_on(rel)


def breached(tmp: Path) -> CockpitApp:
    rel = window_release(tmp, "alert")
    detail = "3 of 3 samples failed in a row: 0.11 is 0.108 above the baseline 0.002 (at most +0.02)"
    rel.add(kinds.GUARDRAIL_CHANGED, changed(RISING, "failing", 3, "0.11 (≥ 0.05)"), minutes_ago=0.2,
            actor=OPS_WATCH)
    rel.add(kinds.GUARDRAIL_BREACHED, {"stage": "layer-1", "check": CHECK, "action": "alert", "failures": 3,
                                       "detail": detail, "baseline": 0.002, "limits": "< 0.05 and ≤ baseline + 0.02",
                                       "value": 0.11, "samples": RISING}, minutes_ago=0.2, actor=OPS_WATCH)
    rel.add(kinds.GUARDRAIL_ACTED, {"stage": "layer-1", "check": CHECK, "action": "alert", "ok": True,
                                    "flags_off": [], "problems": []}, minutes_ago=0.2, actor=OPS_WATCH)
    return app_on(rel)


async def on_layer_1(pilot: Pilot) -> None:
    await highlight_layer1(pilot)  # once the cutover has drawn its stages


SCENES = [
    *at_both_sizes("cockpit-watched-window", watching, on_layer_1),
    *at_both_sizes("cockpit-guardrail-breach", breached, on_layer_1),
]
