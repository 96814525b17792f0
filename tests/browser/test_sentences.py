"""Every entry kind said as one readable sentence (cockpit/core/sentences.py), and the story built from them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cockpit.core import kinds
from cockpit.core.log.entry import Actor, Entry, NewEntry
from cockpit.core.sentences import sentence
from cockpit.core.story import release_story, summary
from tests.browser import logdata

ANN = Actor(name="Ann", os_user="root", host="ops-1")
BOB = Actor(name="Bob", os_user="root", host="ops-2")
FLIP = {"flag": "marketplace-layer-1", "before": False, "after": True, "requested": True, "backend": "http",
        "reason": "", "ok": True, "error": "", "stage": "layer-1", "break_glass": False}

# One payload of each kind as the cockpit records it, and the sentence it is told as.
SAID: list[tuple[str, Actor, dict[str, Any], str]] = [
    (kinds.SESSION_OPENED, ANN, {"target": {"ref": "origin/main", "sha": "abc1234def"}, "runbook": "shop",
                                 "resumed": False}, "Ann opened the release of origin/main (abc1234)"),
    (kinds.EVIDENCE_TAKEN, ANN, {"stage": "layer-1", "evidence": [{"id": "health", "status": "pass"},
                                                                  {"id": "smoke", "status": "fail"}]},
     "Ann took evidence for stage layer-1: 2 checks, 1 pass, 1 fail (smoke fail)"),
    (kinds.ITEM_TICKED, BOB, {"check_id": "backup", "note": "restored on scratch"},
     "Bob ticked backup: restored on scratch"),
    (kinds.SIGNOFF_RECORDED, ANN, {"release_owner": "Ann", "rollback_owner": "Bob", "rollback_ref": "v1.0.0",
                                   "rollback_sha": "abc1234ffff", "problems": []},
     "Ann signed off: Release Owner Ann, Rollback Owner Bob, rollback to v1.0.0 (abc1234)"),
    (kinds.DECISION_GO, ANN, {"target_sha": "def5678aaa", "confirmation": "def5678", "evidence": {"h": "pass"},
                              "warnings": ["latency SHOULD failed"]}, "Ann decided GO on def5678 (1 warning)"),
    (kinds.DECISION_NOGO, ANN, {"reason": "smoke failed", "reasons": ["'smoke' failed"]},
     "Ann decided NO-GO: smoke failed"),
    (kinds.GO_REFUSED, ANN, {"reasons": ["flag snapshot not taken: secret 'demo-flags' is not set",
                                         "tag pre-layer-0 not created"]},
     "Ann's GO was refused, nothing was flipped: flag snapshot not taken: secret 'demo-flags' is not set; "
     "tag pre-layer-0 not created"),
    (kinds.FLAGS_SNAPSHOT, ANN, {"flags": {"a": True, "b": False, "c": None}},
     "Ann took a snapshot of 3 flags: 1 on, 1 off, 1 unknown"),
    (kinds.FLAG_FLIPPED, BOB, FLIP, "Bob flipped marketplace-layer-1 off → on (stage layer-1)"),
    (kinds.TAG_CREATED, ANN, {"tag": "pre-layer-1", "sha": "def5678aaa", "ok": True},
     "Ann tagged def5678 as pre-layer-1"),
    (kinds.TAG_PUSHED, ANN, {"tag": "pre-layer-1", "remote": "origin", "ok": False, "error": "rejected"},
     "Ann FAILED to push tag pre-layer-1 to origin: rejected"),
    (kinds.STAGE_STARTED, ANN, {"stage": "layer-1", "flags": ["a", "b"]}, "Ann started stage layer-1 (flags a, b)"),
    (kinds.STAGE_STABLE, ANN, {"stage": "layer-1", "note": "error rate flat"},
     "Ann marked stage layer-1 stable: error rate flat"),
    (kinds.STAGE_KILLED, BOB, {"stage": "layer-1", "flags": ["a", "b"], "reason": "5xx spike", "ok": False,
                               "outcome": [{"flag": "a", "ok": True}, {"flag": "b", "ok": False}]},
     "Bob killed stage layer-1: 1 of 2 flags off, b FAILED — 5xx spike"),
    (kinds.STAGE_ABORTED, ANN, {"stage": "layer-1", "reason": "db too slow", "flags_off": ["a"], "ok": True},
     "Ann aborted stage layer-1, a off again — db too slow"),
    (kinds.STEP_STARTED, ANN, {"stage": "layer-1", "step": "deploy", "kind": "command", "does": "run ./deploy.sh abc"},
     "Ann started step deploy of stage layer-1: run ./deploy.sh abc"),
    (kinds.STEP_FINISHED, ANN, {"stage": "layer-1", "step": "deploy", "outcome": "failed", "detail": "exit 2"},
     "Ann's step deploy of stage layer-1 FAILED — exit 2"),
    (kinds.STEP_FINISHED, ANN, {"stage": "layer-1", "step": "tag-1", "outcome": "skipped", "detail": "tagged by hand"},
     "Ann skipped step tag-1 of stage layer-1: tagged by hand"),
    (kinds.DEPLOY_STARTED, BOB, {"ref": "v1.0.0", "command": "./deploy v1.0.0"}, "Bob started the redeploy of v1.0.0"),
    (kinds.DEPLOY_FINISHED, BOB, {"ref": "v1.0.0", "exit_code": 2, "ok": False, "timed_out": False,
                                  "elapsed_s": 12.4}, "Bob's redeploy of v1.0.0 FAILED (exit 2) in 12 s"),
    (kinds.ROLLBACK_STARTED, BOB, {"rollback_ref": "v1.0.0", "scope": "all", "resumed": False,
                                   "plan": {"steps": ["flags", "deploy"]}}, "Bob started a rollback to v1.0.0 (scope all)"),
    (kinds.ROLLBACK_STEP, BOB, {"step": "deploy", "outcome": "skipped", "detail": "deployed by hand"},
     "Bob skipped rollback step deploy: deployed by hand"),
    (kinds.ROLLBACK_STEP, BOB, {"step": "netlify", "outcome": "waiting", "detail": "run again with --manual netlify=NOTE"},
     "Bob's rollback waits for a person at step netlify — run again with --manual netlify=NOTE"),
    (kinds.ROLLBACK_FINISHED, BOB, {"outcome": "done", "elapsed_s": 94.0, "note": "calm again"},
     "Bob closed the rollback: done in 94 s"),
    (kinds.RELEASE_DONE, ANN, {"note": "all layers stable"}, "Ann closed the release: all layers stable"),
    (kinds.LOCK_TAKEN, ANN, {"lease_s": 1800, "taken_at": "2024-05-06T10:00:00.000000Z",
                             "expires_at": "2024-05-06T10:30:00.000000Z"},
     "lock on production taken by Ann for 30 min (until 10:30:00 UTC)"),
    (kinds.LOCK_RENEWED, ANN, {"lease_s": 1800, "expires_at": "2024-05-06T10:35:00.000000Z"},
     "lock on production renewed by Ann until 10:35:00 UTC"),
    (kinds.LOCK_RELEASED, BOB, {"forced": True, "reason": "Ann's laptop died", "previous_holder": {"name": "Ann"}},
     "lock on production FORCED open by Bob (held by Ann): Ann's laptop died"),
    (kinds.NOTE, BOB, {"text": "go/no-go at 14:00"}, "Bob noted: go/no-go at 14:00"),
    (kinds.GUARDRAIL_OPENED, ANN, {"stage": "layer-1", "check": "errors", "baseline": 0.002, "interval_s": 30,
                                   "window_s": 86400, "limits": "< 0.01 and ≤ baseline + 0.005"},
     "Ann opened guardrail errors of stage layer-1 for 24 h, every 30 s: < 0.01 and ≤ baseline + 0.005; baseline 0.002"),
    (kinds.GUARDRAIL_CHANGED, ANN, {"stage": "layer-1", "check": "errors", "state": "failing", "failures": 2,
                                    "detail": "value 0.03, expected < 0.01", "samples": [0.0, 0.03]},
     "Ann saw guardrail errors of stage layer-1 failing (2 failed): value 0.03, expected < 0.01"),
    (kinds.GUARDRAIL_SUMMARY, ANN, {"stage": "layer-1", "check": "errors", "count": 120, "failures": 0,
                                    "min": 0.001, "max": 0.004, "last": 0.002},
     "Ann summed up guardrail errors of stage layer-1: 120 samples in the last hour, 0 failed, 0.001–0.004, last 0.002"),
    (kinds.GUARDRAIL_BREACHED, ANN, {"stage": "layer-1", "check": "errors", "action": "kill",
                                     "detail": "3 of 3 samples failed in a row: value 0.2, expected < 0.01"},
     "Ann saw guardrail errors of stage layer-1 BREACHED (kill): 3 of 3 samples failed in a row: value 0.2, expected < 0.01"),
    (kinds.GUARDRAIL_ACTED, BOB, {"stage": "layer-1", "check": "errors", "action": "kill", "ok": True,
                                  "flags_off": ["a", "b"], "problems": []},
     "Bob turned a, b off automatically for guardrail errors of stage layer-1"),
    (kinds.GUARDRAIL_CLOSED, ANN, {"stage": "layer-1", "check": "errors", "outcome": "clean", "count": 2880},
     "Ann closed the window of guardrail errors of stage layer-1: clean"),
    (kinds.WATCH_STARTED, BOB, {"lease_s": 90, "taken_at": "2024-05-06T10:00:00.000000Z"},
     "Bob watches production (lease 1.5 min)"),
    (kinds.WATCH_STOPPED, BOB, {"reason": "no window open"}, "Bob stopped watching production: no window open"),
]


def entry(kind: str, payload: Any, actor: Actor = ANN, env: str = "production", seq: int = 1) -> Entry:
    new = NewEntry("shop-2.0", env, kind, payload, actor, at=logdata.T0 + timedelta(minutes=seq))
    return logdata.sealed([new], first_seq=seq)[0]


def test_the_table_covers_every_kind_of_the_log() -> None:
    known = {v for k, v in vars(kinds).items() if k.isupper() and isinstance(v, str)}
    assert {kind for kind, *_ in SAID} == known


@pytest.mark.parametrize(("kind", "actor", "payload", "said"), SAID, ids=[k for k, *_ in SAID])
def test_each_kind_is_one_readable_sentence(kind: str, actor: Actor, payload: dict[str, Any], said: str) -> None:
    assert sentence(entry(kind, payload, actor)) == said


def test_what_people_wrote_is_added_once_where_the_entry_cannot_be_opened() -> None:
    finished = entry(kinds.ROLLBACK_FINISHED, {"outcome": "done", "elapsed_s": 94.0, "note": "calm again"}, BOB)
    assert summary(finished, words=True) == "Bob closed the rollback: done in 94 s — calm again"
    killed = next(e for k, a, p, _ in SAID if k == kinds.STAGE_KILLED for e in [entry(k, p, a)])
    assert summary(killed, words=True) == summary(killed)  # its reason is in the sentence already


@pytest.mark.parametrize("kind", [k for k, *_ in SAID])
@pytest.mark.parametrize("payload", [{}, {"flag": ["x", "y"], "evidence": "oops", "outcome": {"a": 1},
                                          "target": "main", "flags": [1, 2], "stage": {"id": 3}, "before": 7,
                                          "lease_s": "long", "expires_at": {"t": 1}, "previous_holder": "ann"}],
                         ids=["empty", "odd-shapes"])
def test_any_payload_of_a_known_kind_is_still_a_sentence_never_a_dict(kind: str, payload: dict[str, Any]) -> None:
    text = sentence(entry(kind, payload, BOB))
    assert text and "{" not in text and "}" not in text and '"' not in text, text
    assert "Bob" in text


def test_an_unknown_kind_is_said_by_its_keys_and_values() -> None:
    e = entry("approval.requested", {"ticket": "OPS-17", "count": 3, "urgent": True, "links": ["a", "b"],
                                     "by_team": {"name": "payments", "size": 4}})
    assert sentence(e) == ("Ann recorded approval.requested: by team: (name: payments; size: 4); count: 3; "
                           "links: a, b; ticket: OPS-17; urgent: yes")
    assert sentence(entry("x.empty", {})) == "Ann recorded x.empty"


def test_a_sentence_is_one_printable_line_whatever_the_payload_holds() -> None:
    e = entry(kinds.FLAG_FLIPPED, {**FLIP, "flag": "[bold]x[/]\x1b[2J\nsecond", "reason": "\x9b31m red"},
              Actor(name="eve\x07", os_user="e", host="h"))
    text = sentence(e)
    assert text == "eve\\x07 flipped [bold]x[/]\\x1b[2J second off → on (stage layer-1) — \\x9b31m red"


def _release(*extra: tuple[str, Actor, dict[str, Any]]) -> list[Entry]:
    news = [NewEntry("shop-2.0", "production", kind, payload, actor, at=logdata.T0 + timedelta(minutes=i))
            for i, (kind, actor, payload) in enumerate(extra)]
    return logdata.sealed(news)


CI = Actor(name="ci-bot", os_user="runner", host="ci-7")


def test_the_storys_people_are_the_signers_and_the_actors_never_the_os_user() -> None:
    signoff = next(p for k, _, p, _ in SAID if k == kinds.SIGNOFF_RECORDED)
    entries = _release((kinds.SESSION_OPENED, CI, {"target": {"ref": "origin/main", "sha": "abc1234"}}),
                       (kinds.SIGNOFF_RECORDED, CI, signoff), (kinds.NOTE, Actor("Carol", "root", "h"), {"text": "hi"}))
    story = release_story("shop-2.0", entries)
    people = next(ln.text for ln in story.section("Overview").lines if ln.text.startswith("people:"))
    assert people == "people: Ann (release owner), Bob (rollback owner), ci-bot, Carol"
    assert "root" not in story.to_text() and "runner" not in story.to_text()


def test_a_tag_and_its_push_are_one_line_of_the_story() -> None:
    entries = _release((kinds.SESSION_OPENED, ANN, {"target": {"ref": "origin/main", "sha": "abc1234"}}),
                       (kinds.TAG_CREATED, ANN, {"tag": "pre-layer-0", "sha": "abc1234", "ok": True}),
                       (kinds.TAG_PUSHED, ANN, {"tag": "pre-layer-0", "remote": "origin", "ok": True}),
                       (kinds.TAG_CREATED, ANN, {"tag": "pre-layer-1", "sha": "abc1234", "ok": True}),
                       (kinds.TAG_PUSHED, ANN, {"tag": "pre-layer-1", "remote": "origin", "ok": False,
                                                "error": "rejected"}))
    story = release_story("shop-2.0", entries)
    timeline = [ln.text for ln in story.section("Timeline").lines]
    assert [t for t in timeline if "pre-layer-0" in t] == [
        "#2 2024-05-06 09:01:00 Ann tagged abc1234 as pre-layer-0 and pushed it to origin"]
    assert [t for t in timeline if "pre-layer-1" in t] == [
        "#4 2024-05-06 09:03:00 Ann tagged abc1234 as pre-layer-1, but the push to origin FAILED: rejected"]
    overview = story.section("Overview").lines
    assert [ln.text for ln in overview if ln.text.startswith("tags:")] == [
        "tags: pre-layer-0 (pushed to origin), pre-layer-1 (push FAILED to origin)"]


def test_a_run_of_lease_renewals_is_one_line_of_the_timeline() -> None:
    renew = (kinds.LOCK_RENEWED, ANN, {"lease_s": 1800, "expires_at": "2024-05-06T10:30:00.000000Z"})
    entries = _release((kinds.LOCK_TAKEN, ANN, {"lease_s": 1800, "expires_at": "2024-05-06T09:30:00.000000Z"}),
                       *[renew] * 5, (kinds.NOTE, BOB, {"text": "still here"}), renew)
    timeline = [ln.text for ln in release_story("shop-2.0", entries).section("Timeline").lines]
    assert timeline == [
        "#1 2024-05-06 09:00:00 lock on production taken by Ann for 30 min (until 09:30:00 UTC)",
        "#2 2024-05-06 09:01:00 lock on production renewed by Ann until 10:30:00 UTC (5 renewals since "
        "2024-05-06 09:01:00)",
        "#7 2024-05-06 09:06:00 Bob noted: still here",
        "#8 2024-05-06 09:07:00 lock on production renewed by Ann until 10:30:00 UTC",
    ]


def test_a_refused_go_is_told_in_the_decision_before_the_go_that_stood() -> None:
    entries = _release((kinds.SESSION_OPENED, ANN, {"target": {"ref": "origin/main", "sha": "abc1234"}}),
                       (kinds.GO_REFUSED, ANN, {"reasons": ["flag snapshot not taken: flag API away"]}),
                       (kinds.DECISION_GO, ANN, {"target_sha": "abc1234", "confirmation": "abc1234", "warnings": []}))
    lines = release_story("shop-2.0", entries).section("Decision").lines
    assert [(ln.text, ln.tone) for ln in lines] == [
        ("2024-05-06 09:01:00 Ann's GO was refused, nothing was flipped: flag snapshot not taken: flag API away",
         "bad"),
        ("2024-05-06 09:02:00 Ann decided GO on abc1234", "ok"),
        ("confirmed by typing abc1234", "dim")]
