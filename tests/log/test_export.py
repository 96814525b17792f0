"""Exports: TSV with seed 003's columns, a RELEASE_LOG.md, JSON Lines that re-verify."""

from __future__ import annotations

import io
import json

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry
from cockpit.core.log.export import TSV_COLUMNS, export
from tests.log.conftest import ALICE, BOB, Stores, new


def _release(stores: Stores):  # type: ignore[no-untyped-def]
    log = stores.open()
    log.append(new("session.opened", target={"ref": "origin/main", "sha": "de48a78"}))
    log.append(new("signoff.recorded", release_owner="alice", rollback_owner="bob", rollback_ref="c52890d"))
    log.append(new("note", release="other-1", text="tab\there | `pipe` <b>x</b> \x1b[31m"))
    log.append(new("decision.go", actor=BOB, target_sha="de48a78"))
    return log


def test_tsv_has_seed_003_columns_and_one_line_per_entry(stores: Stores) -> None:
    log = _release(stores)
    out = io.StringIO()
    assert export(log, "tsv", out) == 4
    rows = [line.split("\t") for line in out.getvalue().splitlines()]
    assert rows[0] == TSV_COLUMNS and all(len(r) == len(TSV_COLUMNS) for r in rows)
    opened, signoff, note, go = (dict(zip(TSV_COLUMNS, r)) for r in rows[1:])
    assert opened["target_sha"] == "de48a78" and signoff["rollback_ref"] == "c52890d"
    assert (go["decision"], go["actor"], go["event"], go["seq"]) == ("GO", "bob", "decision.go", "4")
    assert "\x1b" not in out.getvalue() and note["detail"].startswith("alice noted: tab here")
    assert signoff["detail"] == "alice signed off: Release Owner alice, Rollback Owner bob, rollback to c52890d"


def test_markdown_has_a_section_per_release_and_keeps_remote_text_as_text(stores: Stores) -> None:
    log = _release(stores)
    out = io.StringIO()
    assert export(log, "md", out, title="Release log — shop") == 4
    md = out.getvalue()
    assert md.startswith("# Release log — shop\n")
    assert md.index("## shop-1") < md.index("## other-1")
    shop = md[md.index("## shop-1"):md.index("## other-1")]
    assert shop.count("\n- ") == 3 and "**decision.go**" in shop and "target `de48a78`" in shop
    assert "prod: bob decided GO on de48a78" in shop  # each entry as its sentence
    assert "<b>" not in md and "\\<b\\>" in md and "\x1b" not in md and "\\|" in md


def test_jsonl_round_trips_and_rehashes(stores: Stores) -> None:
    log = _release(stores)
    out = io.StringIO()
    export(log, "jsonl", out, LogFilter(release_id="shop-1"))
    entries = [Entry.from_json(json.loads(line)) for line in out.getvalue().splitlines()]
    assert [e.seq for e in entries] == [1, 2, 4]
    assert all(e.expected_hash() == e.hash for e in entries)


def test_tsv_escapes_every_control_the_textsafe_way(stores: Stores) -> None:
    log = stores.open()
    log.append(new("note", text="csi \x9b31m c1 \x85 nel, esc \x1b[2J, del \x7f, bell \x07, tab\tand\r\nbreak"))
    log.append(new("note", actor=ALICE.__class__(name="eve\x9b2J", os_user="e", host="h"), text="x"))
    out = io.StringIO()
    export(log, "tsv", out)
    text = out.getvalue()
    assert not any(0x7F <= ord(c) <= 0x9F or (ord(c) < 0x20 and c not in "\t\n") for c in text), ascii(text)
    rows = [line.split("\t") for line in text.splitlines()]
    assert all(len(r) == len(TSV_COLUMNS) for r in rows) and len(rows) == 3
    first, second = (dict(zip(TSV_COLUMNS, r)) for r in rows[1:])
    assert first["detail"] == "alice noted: csi \\x9b31m c1 \\x85 nel, esc \\x1b[2J, del \\x7f, bell \\x07, tab and break"
    assert second["actor"] == "eve\\x9b2J"


def test_jsonl_keeps_c1_controls_as_json_escapes(stores: Stores) -> None:
    log = stores.open()
    log.append(new("note", text="csi \x9b31m"))
    out = io.StringIO()
    export(log, "jsonl", out)
    assert "\x9b" not in out.getvalue() and "\\u009b" in out.getvalue()
    (line,) = out.getvalue().splitlines()
    e = Entry.from_json(json.loads(line))
    assert e.payload["text"] == "csi \x9b31m" and e.expected_hash() == e.hash
