"""The release the guardrail tests run: the demo target (its /metrics in Prometheus' text format, its
error rate following a flag when a fault is injected) scraped by the suite's real Prometheus, and the
demo runbook with a guardrail on layer-1 that reads only this target's series."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.core.log.entry import Actor
from cockpit.core.session import ReleaseSession
from cockpit.runbook.config import Runbook, load_runbook
from tests.helpers.demo import Demo, in_cutover

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
FLAG = "MARKETPLACE_AVAILABILITY_ENABLED"


def guard_layer_1(demo: Demo, prom_url: str, job: str, *, rail: str, expect: str = "{ lt = 0.05 }") -> Runbook:
    """Point [prometheus] at the suite's server and guard layer-1 with `rail` (the guardrail's keys)."""
    path = demo.scratch.runbook_path
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'(\[prometheus\]\s*\nurl = )"[^"]*"', rf'\1"{prom_url}"', text)
    if "[prometheus]" not in text:
        text += f'\n[prometheus]\nurl = "{prom_url}"\n'
    head, sep, rest = text.partition('id = "layer-1"')
    block, nxt, tail = rest.partition("[[stages]]")
    block = block.replace('monitor = "2m"\n', "")
    query = (f'sum(rate(http_requests_total{{job="{job}",code=~"5.."}}[3s])) / '
             f'sum(rate(http_requests_total{{job="{job}"}}[3s]))')
    check = (f'\n[[checks]]\nid = "drill-errors"\ntitle = "5xx share (drill)"\nkind = "prometheus"\n'
             f"query = '{query}'\nexpect = {expect}\nblocking = false\ntimeout = \"3s\"\n")
    path.write_text(head + sep + block + "\n[[stages.guardrails]]\ncheck = \"drill-errors\"\n" + rail + "\n"
                    + nxt + tail + check, encoding="utf-8")
    return load_runbook(path)


async def at_layer_1(runbook: Runbook, log: object) -> ReleaseSession:
    """GO, layer-0 started and marked stable: layer-1 is next."""
    session = await in_cutover(runbook, log, ANN)
    await session.mark_stable("layer-0", "nothing to watch")
    return session


def runbook_path(demo: Demo) -> Path:
    return demo.scratch.runbook_path
