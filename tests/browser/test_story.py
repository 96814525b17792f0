"""The release story and one-line summaries, from sealed entries (pure: no store needed)."""

from __future__ import annotations

from datetime import timedelta

from cockpit.core import kinds
from cockpit.core.log.entry import NewEntry
from cockpit.core.story import release_story, summary
from tests.browser import logdata


def _sealed(news: list[NewEntry]):  # type: ignore[no-untyped-def]
    return logdata.sealed(news)


def test_a_go_release_tells_evidence_signoff_decision_stages_and_flags() -> None:
    entries = _sealed(logdata.release_history(3, logdata.T0))
    story = release_story("shop-1.3", entries)
    assert story.phase == "done" and story.entry_count == len(entries) and story.environments == ("prod",)
    ev = story.section("Evidence at GO")
    assert ev is not None
    texts = [ln.text for ln in ev.lines]
    assert any(t.startswith("PASS    health-api [MUST] 200 in 87 ms") for t in texts)
    assert any("latency-p95 [SHOULD]" in t for t in texts)
    assert any("backup" in t and "bob" in t for t in texts)
    assert [ln.text for ln in story.section("Sign-off").lines] == [
        "2024-05-06 09:03:00 alice signed off: Release Owner alice, Rollback Owner bob, rollback to pre-release-1.3 "
        "(9f8e7d6)"]
    decision = story.section("Decision").lines[0]
    assert decision.text == "2024-05-06 09:04:00 alice decided GO on 0003ab1" and decision.tone == "ok"
    assert decision.seq == next(e.seq for e in entries if e.kind == kinds.DECISION_GO)
    assert "layer-1: stable · started 2024-05-06 09:06:00 · stable 2024-05-06 09:08:00" in \
        [ln.text for ln in story.section("Stages").lines]
    flags = [ln.text for ln in story.section("Flags (before GO → after)").lines]
    assert "CHECKOUT_V2: off → on" in flags and "LEGACY_CART: on → on" in flags
    assert story.section("Rollback") is None


def test_a_rolled_back_release_lists_its_steps_and_flags_end_where_they_began() -> None:
    entries = _sealed(logdata.release_history(5, logdata.T0, rollback=True))
    story = release_story("shop-1.5", entries)
    assert story.phase == "rolled back"
    rb = [ln.text for ln in story.section("Rollback").lines]
    assert rb == ["2024-05-06 09:08:00 bob started a rollback to pre-release-1.5 (scope all)",
                  "2024-05-06 09:10:00 bob did rollback step flags-off: CHECKOUT_V2 off",
                  "2024-05-06 09:11:00 bob did rollback step deploy: exit 0",
                  "2024-05-06 09:12:00 bob closed the rollback: done in 94 s"]
    flags = [ln.text for ln in story.section("Flags (before GO → after)").lines]
    assert "CHECKOUT_V2: off → off" in flags
    assert sum("CHECKOUT_V2" in t and "→" in t for t in flags) == 3  # the summary line and both flips


def test_a_nogo_release_says_why_and_evidence_is_at_the_nogo() -> None:
    entries = _sealed(logdata.release_history(7, logdata.T0, nogo=True))
    story = release_story("shop-1.7", entries)
    assert story.phase == "no-go"
    assert story.section("Evidence at NO-GO") is not None
    lines = story.section("Decision").lines
    assert lines[0].tone == "bad" and "smoke-sso failed" in lines[0].text
    assert "retry after the SSO fix" in story.section("Notes").lines[0].text
    md = story.to_markdown()
    assert md.startswith("# Release shop-1.7") and "## Decision" in md


def test_evidence_shown_is_the_one_at_the_decision_not_later() -> None:
    news = logdata.release_history(3, logdata.T0)
    later = NewEntry("shop-1.3", "prod", kinds.EVIDENCE_TAKEN, {"evidence": [logdata._ev(
        "health-api", "fail", "503 after GO", logdata.T0 + timedelta(hours=1))]}, logdata.ALICE,
        at=logdata.T0 + timedelta(hours=1))
    story = release_story("shop-1.3", _sealed([*news, later]))
    texts = [ln.text for ln in story.section("Evidence at GO").lines]
    assert any("PASS    health-api" in t for t in texts) and not any("503 after GO" in t for t in texts)


def test_untrusted_text_stays_one_line_of_plain_characters() -> None:
    evil = NewEntry("r\x1b[2J", "prod", kinds.NOTE, {"text": "[bold red]x[/]\x1b]0;pwn\x07\nsecond line"},
                    logdata.ALICE, at=logdata.T0)
    e = _sealed([evil])[0]
    s = summary(e)
    assert "\n" not in s and "\x1b" not in s and "\x07" not in s and s.startswith("alice noted: [bold red]x[/]\\x1b")
    story = release_story("r\x1b[2J", [e])
    assert all("\x1b" not in ln.text for sec in story.sections for ln in sec.lines)


def test_summaries_of_every_kind_and_of_unexpected_payloads() -> None:
    entries = _sealed(logdata.release_history(5, logdata.T0, rollback=True))
    by_kind = {e.kind: summary(e) for e in entries}
    assert by_kind[kinds.EVIDENCE_TAKEN] == "alice took evidence: 3 checks, 3 pass"
    assert by_kind[kinds.FLAGS_SNAPSHOT] == "alice took a snapshot of 3 flags: 1 on, 2 off"
    assert by_kind[kinds.ROLLBACK_FINISHED] == "bob closed the rollback: done in 94 s"
    odd = _sealed([NewEntry("r", "prod", kinds.FLAG_FLIPPED, {"flag": ["not", "a", "name"], "before": 3},
                            logdata.ALICE, at=logdata.T0)])[0]
    assert summary(odd)  # a payload of an unexpected shape still gets a line, never an exception
    long = _sealed([NewEntry("r", "prod", "custom.kind", {"x": "y" * 500}, logdata.ALICE, at=logdata.T0)])[0]
    assert len(summary(long, 60)) == 60


def test_words_people_wrote_are_added_where_the_entry_cannot_be_opened() -> None:
    entries = _sealed(logdata.release_history(5, logdata.T0, rollback=True))
    finished = next(e for e in entries if e.kind == kinds.ROLLBACK_FINISHED)
    assert summary(finished) == "bob closed the rollback: done in 94 s"
    assert summary(finished, words=True) == "bob closed the rollback: done in 94 s — error rate back to 0.1%"
    flip = next(e for e in entries if e.kind == kinds.FLAG_FLIPPED)
    assert summary(flip, words=True) == summary(flip) == \
        "alice flipped CHECKOUT_V2 off → on (stage layer-1) — layer-1"  # the reason said once
