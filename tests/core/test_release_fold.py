"""A release's state is a fold over its entries: same entries, same state, whoever folds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cockpit.core import kinds
from cockpit.core.evidence import Evidence, Status
from cockpit.core.log.entry import GENESIS, Actor, NewEntry, format_at, seal
from cockpit.core.release import Phase, StageStatus, fold

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ANN = Actor("Ann", "ann", "laptop", "ann@example.com")


def chain(*items: tuple[str, dict], release: str = "shop-prod-abc1234") -> list:
    entries, prev = [], GENESIS
    for i, (kind, payload) in enumerate(items, start=1):
        e = seal(NewEntry(release, "prod", kind, payload, ANN, at=T0 + timedelta(seconds=i)), i, prev)
        entries.append(e)
        prev = e.hash
    return entries


OPEN = (kinds.SESSION_OPENED, {"target": {"ref": "origin/main", "sha": "abc1234def"}})


def test_preparing_then_go_then_cutover_then_done() -> None:
    evidence = Evidence("health", "http", Status.PASS, "HTTP 200", taken_at=T0)
    entries = chain(
        OPEN,
        (kinds.EVIDENCE_TAKEN, {"evidence": [evidence.to_json()]}),
        (kinds.ITEM_TICKED, {"check_id": "backup", "note": "dump 02:00 restored on staging"}),
        (kinds.SIGNOFF_RECORDED, {"release_owner": "Ann", "rollback_owner": "Bob", "rollback_ref": "v1.0.0",
                                  "rollback_sha": "0123"}),
        (kinds.DECISION_GO, {}), (kinds.FLAGS_SNAPSHOT, {"flags": {"F1": False}}),
        (kinds.STAGE_STARTED, {"stage": "layer-0"}),
        (kinds.FLAG_FLIPPED, {"flag": "F1", "before": False, "after": True, "requested": True, "ok": True,
                              "stage": "layer-0"}),
        (kinds.STAGE_STABLE, {"stage": "layer-0"}),
        (kinds.RELEASE_DONE, {"note": "all layers stable"}),
    )
    s = fold("shop-prod-abc1234", "prod", entries[:4])
    assert s.phase is Phase.PREPARING
    assert s.target.sha == "abc1234def" and s.target.short == "abc1234"
    assert s.evidence["health"] == evidence
    assert s.ticks["backup"].by == "Ann" and "restored" in s.ticks["backup"].note
    assert (s.signoff.release_owner, s.signoff.rollback_owner, s.signoff.rollback_ref) == ("Ann", "Bob", "v1.0.0")

    s = fold("shop-prod-abc1234", "prod", entries[:5])
    assert s.phase is Phase.GO
    s = fold("shop-prod-abc1234", "prod", entries[:8])
    assert s.phase is Phase.CUTOVER and s.is_go
    assert s.flag_snapshot == {"F1": False}
    assert s.stages["layer-0"].status is StageStatus.STARTED
    assert [f.flag for f in s.flips] == ["F1"] and s.flips[0].after is True
    s = fold("shop-prod-abc1234", "prod", entries)
    assert s.stages["layer-0"].status is StageStatus.STABLE and s.phase is Phase.DONE


def test_nogo_keeps_its_reasons() -> None:
    s = fold("shop-prod-abc1234", "prod", chain(OPEN, (kinds.DECISION_NOGO, {"reason": "smoke red", "reasons": ["MUST x failed"]})))
    assert s.phase is Phase.NO_GO and s.decision.note == "smoke red" and s.decision.reasons == ("MUST x failed",)


def test_rollback_phases_and_resume_of_an_unfinished_rollback() -> None:
    base = [OPEN, (kinds.DECISION_GO, {}), (kinds.ROLLBACK_STARTED, {"scope": "all"}),
            (kinds.ROLLBACK_STEP, {"step": "flags", "outcome": "done"})]
    s = fold("shop-prod-abc1234", "prod", chain(*base))
    assert s.phase is Phase.ROLLING_BACK and s.rollback.steps["flags"]["outcome"] == "done"
    resumed = chain(*base, (kinds.ROLLBACK_STARTED, {"scope": "all"}), (kinds.ROLLBACK_STEP, {"step": "deploy", "outcome": "done"}))
    s = fold("shop-prod-abc1234", "prod", resumed)
    assert set(s.rollback.steps) == {"flags", "deploy"}  # the second start resumed, it did not reset
    s = fold("shop-prod-abc1234", "prod", chain(*base, (kinds.ROLLBACK_FINISHED, {"outcome": "done"})))
    assert s.phase is Phase.ROLLED_BACK and s.phase.finished
    s = fold("shop-prod-abc1234", "prod", chain(*base, (kinds.ROLLBACK_FINISHED, {"outcome": "aborted"})))
    assert s.phase is Phase.ROLLBACK_FAILED and not s.phase.finished


def test_a_partial_rollback_that_ends_well_rolls_its_stage_back_and_the_release_goes_on() -> None:
    until = format_at(T0 + timedelta(hours=1))
    base = [OPEN, (kinds.DECISION_GO, {}),
            (kinds.STAGE_STARTED, {"stage": "products"}), (kinds.STAGE_STARTED, {"stage": "orders"}),
            (kinds.GUARDRAIL_OPENED, {"stage": "products", "check": "errors", "until": until}),
            (kinds.GUARDRAIL_OPENED, {"stage": "orders", "check": "errors", "until": until}),
            (kinds.ROLLBACK_STARTED, {"scope": "stage:orders"}),
            (kinds.ROLLBACK_STEP, {"step": "flags", "outcome": "done"})]
    s = fold("shop-prod-abc1234", "prod", chain(*base))
    assert s.phase is Phase.ROLLING_BACK  # while it runs, the incident holds the release
    # It stops the windows of its stage only: products is still watched.
    assert {k: w.is_open for k, w in s.windows.items()} == {"products/errors": True, "orders/errors": False}
    s = fold("shop-prod-abc1234", "prod", chain(*base, (kinds.ROLLBACK_FINISHED, {"outcome": "done"})))
    assert s.phase is Phase.CUTOVER and s.phase.holds_lock and s.phase.in_flight
    assert (s.stages["orders"].status, s.stages["products"].status) == (StageStatus.ROLLED_BACK, StageStatus.STARTED)
    again = chain(*base, (kinds.ROLLBACK_FINISHED, {"outcome": "done"}), (kinds.STAGE_STARTED, {"stage": "orders"}))
    assert fold("shop-prod-abc1234", "prod", again).stages["orders"].status is StageStatus.STARTED  # tried again
    s = fold("shop-prod-abc1234", "prod", chain(*base, (kinds.ROLLBACK_FINISHED, {"outcome": "failed"})))
    assert s.phase is Phase.ROLLBACK_FAILED and s.stages["orders"].status is StageStatus.STARTED
    whole = chain(*base, (kinds.ROLLBACK_FINISHED, {"outcome": "done"}), (kinds.ROLLBACK_STARTED, {"scope": "all"}),
                  (kinds.ROLLBACK_FINISHED, {"outcome": "done"}))
    s = fold("shop-prod-abc1234", "prod", whole)
    assert s.phase is Phase.ROLLED_BACK and not any(w.is_open for w in s.windows.values())


def test_entries_of_other_releases_and_unknown_kinds_are_ignored() -> None:
    mine = chain(OPEN, ("something.new", {"x": 1}))
    other = chain((kinds.DECISION_GO, {}), release="other")
    s = fold("shop-prod-abc1234", "prod", mine + other)
    assert s.phase is Phase.PREPARING and s.last_seq == 2
