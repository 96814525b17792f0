"""Seed 003's repository on top of the harness's shop: the scripts its runbook names, committed to main
as the team's merge would bring them, and a tick of a manual GO item the way the readiness screen does it.

    scripts/examples/deploy-prod-from-ref.sh <ref> <repo-dir>   §5.3's prod deploy (and rollback)
    scripts/examples/deploy-test-from-ref.sh <ref> <repo-dir>   its test twin
    scripts/deploy-test-smoke.sh      `TEST_REF=<ref> npm run deploy:test:smoke` (§3.1)
    scripts/smoke-web-e2e.sh          `npm run smoke:web:e2e` (§3.2): sso, realtime, reconnect, call relay,
                                      written to .deploy/last-smoke-summary.env with the gate record's keys

The harness has one shop, so `test` and `prod` are the same loopback service here: both deploy scripts
ship to it (what differs is the script the runbook names for each environment). The shop's /api/…
stands in for Boltorezka's app: it answers 200 while the app's pods are ready and 502 while they crash,
and every request lands in the pods' log (`kubectl logs`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.core.session import ReleaseSession
from tests.seeds.harness import Harness
from tests.seeds.scratchrepo import PACKAGE_JSON

SUMMARY = ".deploy/last-smoke-summary.env"

_DEPLOY = r"""#!/usr/bin/env bash
# Boltorezka's {env} deploy: deploy-{env}-from-ref.sh <ref> <repo-dir>. The ref's own migrations first (the
# code it ships must find its schema), then its image built, pushed and rolled out (scripts/deploy-prod-from-ref.sh).
set -euo pipefail
ref="${{1:?usage: deploy-{env}-from-ref.sh <ref> <repo-dir>}}"
cd "${{2:-.}}"
sha="$(git rev-parse --verify --quiet "${{ref}}^{{commit}}")" || {{ echo "deploy: unknown ref: ${{ref}}" >&2; exit 1; }}
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
git archive "$sha" | tar -x -C "$tree"
echo "==> {env}: migrations of ${{sha:0:7}}"
bash "$tree/scripts/migrate.sh" up
bash scripts/deploy-prod-from-ref.sh "$sha" .
echo "==> {env} runs ${{sha}}"
"""

DEPLOY_TEST_SMOKE = r"""#!/usr/bin/env bash
# TEST_REF=<ref> npm run deploy:test:smoke: the ref to test, then the smoke with a reconnect.
set -euo pipefail
: "${TEST_REF:?set TEST_REF (the ref to deploy to test)}"
bash scripts/examples/deploy-test-from-ref.sh "$TEST_REF" .
SMOKE_RECONNECT=1 bash scripts/smoke-web-e2e.sh
"""

SMOKE_WEB_E2E = r"""#!/usr/bin/env bash
# Boltorezka's web e2e smoke against $SMOKE_API_URL: login redirect (smoke:sso), room join + message send and
# receive (smoke:realtime), a disconnect and resume with SMOKE_RECONNECT=1 (reconnectOk), the call relay path
# call.offer / call.reject / call.hangup with SMOKE_CALL_SIGNAL=1. The summary (.deploy/last-smoke-summary.env)
# holds the keys of the gate record and the SHA that answered; exit 1 when a scenario failed.
set -uo pipefail
url="${SMOKE_API_URL:?set SMOKE_API_URL (the environment under test)}"
cd "$(dirname "$0")/.."
summary="${SMOKE_SUMMARY:-.deploy/last-smoke-summary.env}"
result=""
scenario() {
  local name="$1" path code
  shift
  result=PASS
  for path in "$@"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${url}${path}" || true)"
    echo "${name}: GET ${path} -> ${code}"
    [ "$code" = 200 ] || result=FAIL
  done
}
scenario smoke:sso /api/auth/sso/login
sso="$result"
scenario smoke:realtime /api/rooms/smoke/join /api/rooms/smoke/messages/send /api/rooms/smoke/messages/receive
realtime="$result"
reconnect=skipped
if [ "${SMOKE_RECONNECT:-0}" = 1 ]; then
  scenario reconnect /api/realtime/disconnect /api/realtime/resume
  if [ "$result" = PASS ]; then reconnect=true; else reconnect=false; fi
fi
call=SKIPPED
if [ "${SMOKE_CALL_SIGNAL:-0}" = 1 ]; then
  scenario call-relay /api/calls/smoke/offer /api/calls/smoke/reject /api/calls/smoke/hangup
  call="$result"
fi
e2e=PASS
for v in "$sso" "$realtime" "$call"; do [ "$v" != FAIL ] || e2e=FAIL; done
[ "$reconnect" != false ] || e2e=FAIL
sha="$(curl -s --max-time 10 "${url}/version" | sed -n 's/.*"sha": *"\([0-9a-f]*\)".*/\1/p')"
mkdir -p "$(dirname "$summary")"
{
  echo "generated_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "api_url=${url}"
  echo "sha=${sha}"
  echo "smoke_sso=${sso}"
  echo "smoke_realtime=${realtime}"
  echo "reconnectOk=${reconnect}"
  echo "smoke_web_e2e=${e2e}"
  echo "call_relay=${call}"
} > "${summary}.tmp" && mv "${summary}.tmp" "$summary"
echo "smoke:web:e2e ${e2e} (sha ${sha:-unknown})"
[ "$e2e" = PASS ]
"""


def package_json() -> str:
    pkg = json.loads(PACKAGE_JSON)
    pkg["name"] = "boltorezka"
    pkg["scripts"].update({"deploy:test:smoke": "bash scripts/deploy-test-smoke.sh",
                           "smoke:web:e2e": "bash scripts/smoke-web-e2e.sh"})
    return json.dumps(pkg, indent=2) + "\n"


def boltorezka(make_harness: Callable[..., Harness]) -> Harness:
    """The harness as seed 003's team has it: app "boltorezka", and main one merge ahead of the shop's 1.1.0
    (version 1.2.0 with the scripts above). h.shas["main"] is that merge; the feature branch stays unmerged."""
    h = make_harness(app="boltorezka")
    h.shas["main"] = h.commit("boltorezka 1.2.0: merge the web e2e smoke and the deploy scripts", {
        "VERSION": "1.2.0\n",
        "package.json": package_json(),
        "scripts/examples/deploy-prod-from-ref.sh": _DEPLOY.format(env="prod"),
        "scripts/examples/deploy-test-from-ref.sh": _DEPLOY.format(env="test"),
        "scripts/deploy-test-smoke.sh": DEPLOY_TEST_SMOKE,
        "scripts/smoke-web-e2e.sh": SMOKE_WEB_E2E,
    })
    return h


def summary(h: Harness) -> dict[str, str]:
    text = (h.checkout / SUMMARY).read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def tick(h: Harness, environment: str, ticks: dict[str, str], actor: str) -> None:
    """Tick manual GO items with their notes through the release session, as the readiness screen does:
    the command line has no tick of its own."""
    async def run() -> None:
        runbook = h.runbook()
        log = open_log(runbook)
        try:
            who = Actor(actor, actor.lower(), "mac-mini", f"{actor.lower()}@boltorezka.invalid")
            session = await ReleaseSession.open(runbook, log, environment, who)
            try:
                for check_id, note in ticks.items():
                    await session.tick(check_id, note)
            finally:
                session.close()
        finally:
            log.close()

    asyncio.run(run())
