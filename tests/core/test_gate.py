"""The gate is a pure function: evidence, sign-off and stages in, GO / NO-GO with reasons out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.runbook.config import parse_runbook
from cockpit.core.evidence import Evidence, Status
from cockpit.core.gate import GO, NO_GO, Requirement, SignOff, evaluate
from cockpit.core.promotion import Passage, Promotion
from cockpit.core.release import Phase

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

RUNBOOK = parse_runbook("""
[release]
name = "shop"
[log]
path = "x.sqlite"
[environments.prod]
url = "http://prod"
[environments.staging]
url = "http://staging"
protected = false
[flags]
backend = "http"
url = "http://flags"
[[stages]]
id = "layer-0"
[[stages]]
id = "layer-1"
after = ["layer-0"]
flags = ["F1"]
[[checks]]
id = "health"
title = "API health"
kind = "http"
url = "{env.url}/health"
[[checks]]
id = "smoke-sso"
kind = "smoke"
source = "s.env"
key = "smoke_sso"
max_age = "15m"
[[checks]]
id = "backup"
kind = "manual"
prompt = "Postgres dump created and restore verified"
[[checks]]
id = "grafana"
kind = "manual"
prompt = "Dashboards ready"
blocking = false
[[checks]]
id = "layer1-health"
kind = "http"
url = "{env.url}/health/availability"
stage = "layer-1"
""")


def ev(check_id: str, status: Status, age: timedelta = timedelta(0), detail: str = "") -> Evidence:
    return Evidence(check_id=check_id, kind="x", status=status, detail=detail or status.value, taken_at=NOW - age)


ALL_PASS = {c: ev(c, Status.PASS) for c in ("health", "smoke-sso", "backup", "grafana")}
OWNERS = SignOff(release_owner="Ann", rollback_owner="Bob", rollback_ref="v1.0.0", rollback_sha="abc")


def test_go_when_every_release_check_passes() -> None:
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True)
    assert v.decision == GO and v.reasons == [] and (v.passed, v.counted) == (4, 4)


def test_each_blocking_problem_is_a_reason_in_words() -> None:
    evidence = dict(ALL_PASS)
    evidence["health"] = ev("health", Status.FAIL, detail="HTTP 503 from http://prod/health")
    evidence["smoke-sso"] = ev("smoke-sso", Status.PASS, age=timedelta(minutes=20))
    del evidence["backup"]
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", target_on_main=False)
    assert v.decision == NO_GO
    assert v.reasons == [
        "MUST 'API health' failed: HTTP 503 from http://prod/health",
        "MUST 'smoke-sso' is stale: taken 20m ago, counts for 15m",
        "MUST 'backup' is waiting for a person to confirm: Postgres dump created and restore verified",
        "the target is not on origin/main: a production rollout may come only from it",
    ]


def test_should_items_warn_but_do_not_block() -> None:
    evidence = dict(ALL_PASS)
    evidence["grafana"] = ev("grafana", Status.PENDING)
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", target_on_main=True)
    assert v.go and v.warnings == ["SHOULD 'grafana' is waiting for a person to confirm: Dashboards ready"]


def test_stale_data_found_by_the_check_is_worded_with_its_own_age() -> None:
    evidence = dict(ALL_PASS, **{"smoke-sso": ev("smoke-sso", Status.STALE, detail="results are 2h old (max 15m)")})
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", target_on_main=True)
    assert v.reasons == ["MUST 'smoke-sso' is stale: results are 2h old (max 15m)"]


def test_error_status_is_worded_as_could_not_check() -> None:
    evidence = dict(ALL_PASS, health=ev("health", Status.ERROR, detail="secret 'x' is not set"))
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", target_on_main=True)
    assert v.reasons == ["MUST 'API health' could not be checked: secret 'x' is not set"]


def test_unprotected_environment_may_release_off_main() -> None:
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="staging", target_on_main=False)
    assert v.go


def test_signoff_is_required_at_the_decision_and_judged_once_recorded() -> None:
    assert evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True).go
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True, require_signoff=True)
    assert not v.go and "no owner sign-off" in v.reasons[0]
    partial = SignOff(release_owner="Ann", rollback_owner=" ", rollback_ref="")
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True, signoff=partial)
    assert v.reasons == ["no Rollback Owner is named", "no rollback ref was fixed before rollout"]
    bad_ref = SignOff("Ann", "Bob", "abc", problems=("is not an ancestor of the target",))
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True, signoff=bad_ref)
    assert v.reasons == ["rollback ref abc: is not an ancestor of the target"]
    assert evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True, signoff=OWNERS,
                    require_signoff=True).go


def test_stage_gate_uses_only_that_stage_checks_and_order() -> None:
    evidence = dict(ALL_PASS, **{"layer1-health": ev("layer1-health", Status.PASS)})
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", stage="layer-1")
    assert not v.go and v.reasons == ["stage 'layer-1' may start only after layer-0 is marked stable"]
    assert v.counted == 1
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", stage="layer-1", stable_stages=frozenset({"layer-0"}))
    assert v.go


def test_stage_started_out_of_order_is_a_no_go() -> None:
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True,
                 started_stages=frozenset({"layer-1"}))
    assert v.reasons == ["stage 'layer-1' was started before layer-0 was marked stable"]


def test_undecidable_branch_discipline_is_a_reason_in_production_only() -> None:
    problem = "unknown ref 'origin/main' in /srv/shop"
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=None, main_problem=problem)
    assert v.reasons == [f"cannot tell whether the target is on origin/main: {problem}"]
    assert evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="staging", target_on_main=None, main_problem=problem).go


def test_a_pending_check_says_what_it_waits_for() -> None:
    evidence = dict(ALL_PASS, health=ev("health", Status.PENDING, detail="no rollback ref recorded yet"))
    v = evaluate(RUNBOOK, evidence, now=NOW, environment="prod", target_on_main=True)
    assert v.reasons == ["MUST 'API health' is pending: no rollback ref recorded yet"]


def test_a_target_not_promoted_is_a_must_rule_for_the_release_not_for_a_stage() -> None:
    rolled_back = Passage("shop-staging-def5678", "def5678" + "0" * 33, Phase.ROLLED_BACK, True)
    promotion = Promotion("staging", "abc1234" + "0" * 33, timedelta(days=7), last=rolled_back)
    v = evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True, promotion=promotion)
    said = ("target abc1234 has not passed staging: no closed, stable release of it there in the last 7d; "
            "staging's last is shop-staging-def5678, rolled back")
    assert not v.go and v.reasons == [said]
    item = v.items[-1]
    assert item.requirement is Requirement.MUST and item.check_id is None
    evidence = dict(ALL_PASS, **{"layer1-health": ev("layer1-health", Status.PASS)})
    assert evaluate(RUNBOOK, evidence, now=NOW, environment="prod", stage="layer-1", promotion=promotion,
                    stable_stages=frozenset({"layer-0"})).go
    passed = Passage("shop-staging-abc1234", promotion.target_sha, Phase.DONE, True, NOW - timedelta(hours=3))
    promoted = Promotion("staging", promotion.target_sha, timedelta(days=7), (passed,))
    assert evaluate(RUNBOOK, ALL_PASS, now=NOW, environment="prod", target_on_main=True, promotion=promoted).go
