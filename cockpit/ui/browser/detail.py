"""The detail pane: one whole entry — its sentence, who (with OS user and host), evidence with its
excerpts or a snapshot's flags one by one, the whole payload — with its hash and prev_hash, and
whether the chain holds there.

Everything from the entry is rendered as rich Text built piece by piece, never as markup: a
payload may hold "[bold]" or escape sequences and must show as the characters it holds.
"""

from __future__ import annotations

import json
from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from cockpit.core import kinds
from cockpit.core.log.entry import Entry, format_at
from cockpit.core.sentences import flag_word, said, sentence
from cockpit.runbook.textsafe import printable

EXCERPT_LINES = 30
_JSON_COLOURS = JSONHighlighter()


def _p(value: Any) -> str:
    return printable(said(value))


def entry_text(e: Entry, *, bad_seq: int | None = None, reason: str = "") -> Text:
    t = Text(no_wrap=False)
    t.append(f"#{e.seq}", "bold")
    t.append(f"  {format_at(e.at)}  ")
    t.append(_p(e.kind), "bold")
    t.append("\n")
    if bad_seq is not None and e.seq == bad_seq:
        t.append(f" ✗ THE CHAIN BREAKS HERE: {printable(reason) or 'this entry does not match its hash'} \n",
                 "bold reverse red")
    elif bad_seq is not None and e.seq > bad_seq:
        t.append(f" ? after the break at #{bad_seq}: not covered by the verified chain \n", "bold yellow")
    t.append(sentence(e), "bold").append("\n\n")
    t.append("release ", "dim").append(_p(e.release_id)).append("   environment ", "dim").append(_p(e.environment))
    t.append("\nactor   ", "dim").append(_p(e.actor.name))
    t.append(f"  (os user {_p(e.actor.os_user)} on {_p(e.actor.host)}"
             + (f", git {_p(e.actor.git_email)}" if e.actor.git_email else "") + ")", "dim")
    t.append("\n")
    listing = _listing(e)
    if listing is not None:
        t.append("\n").append(listing)
    t.append("\npayload\n", "bold")
    t.append(payload_text(e.payload))
    t.append("\n\nhash      ", "dim").append(e.hash)
    t.append("\nprev_hash ", "dim").append(e.prev_hash)
    return t


def payload_text(payload: object) -> Text:
    """The whole payload as indented JSON, coloured by a highlighter over plain Text: never parsed
    again (a C1 control shown as \\x9b is no JSON) and never read as markup."""
    pretty = printable(json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True, default=str))
    text = Text(pretty)
    if len(pretty) < 200_000:  # colouring a huge payload would hold up the pane
        _JSON_COLOURS.highlight(text)
    return text


def _listing(e: Entry) -> Text | None:
    """What the sentence only counts, item by item: each flag of a snapshot, each check's evidence."""
    p = e.payload
    if e.kind == kinds.FLAGS_SNAPSHOT and isinstance(p.get("flags"), dict):
        t = Text()
        for name, value in sorted(p["flags"].items()):
            t.append(f"{_p(name)}: ", "dim").append(flag_word(value), "bold").append("\n")
        return t
    if e.kind == kinds.EVIDENCE_TAKEN and isinstance(p.get("evidence"), list):
        t = Text()
        for ev in p["evidence"]:
            if not isinstance(ev, dict):
                continue
            status = str(ev.get("status", "?"))
            style = {"pass": "green", "fail": "bold red", "error": "bold red", "stale": "yellow"}.get(status, "")
            t.append(f"{status.upper():7} ", style).append(_p(ev.get("id", "?")), "bold")
            t.append(" [MUST] " if ev.get("blocking", True) else " [SHOULD] ", "dim")
            t.append(_p(ev.get("detail", ""))).append(f"  taken {_p(ev.get('taken_at', ''))}\n", "dim")
            excerpt = str(ev.get("excerpt") or "")
            if excerpt:
                lines = excerpt.splitlines()
                for line in lines[:EXCERPT_LINES]:
                    t.append("   │ ", "dim").append(printable(line)).append("\n")
                if len(lines) > EXCERPT_LINES:
                    t.append(f"   │ … {len(lines) - EXCERPT_LINES} more lines (in the payload below)\n", "dim")
        return t
    return None


class DetailPane(VerticalScroll):
    """Shows one entry (mounted the first time an entry is chosen)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.body = Static(Text("loading…", "dim"), id="detail-body")

    def compose(self):  # type: ignore[override]
        yield self.body

    def show(self, entry: Entry | None, *, bad_seq: int | None = None, reason: str = "") -> None:
        if entry is None:
            self.body.update(Text("loading…", "dim"))
        else:
            self.body.update(entry_text(entry, bad_seq=bad_seq, reason=reason))
        self.scroll_home(animate=False)
