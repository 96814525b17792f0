"""A release's story, end to end, told from its log entries alone (for the auditor).

Who decided GO, on which evidence, who signed off, which stages ran, which flags were flipped
(state before GO and after), what the rollback did. The story is data (sections of lines with a
tone and the seq they come from), so the browser renders it and exports can reuse it; it is
derived with the lead's fold (cockpit/core/release.py), so it shows the same facts the release
owner acted on. `summary(entry)` is the one-line description of an entry: the log list, `cockpit
log tail` and the webhook messages all use it.

Entry contents are untrusted text: everything here goes through textsafe.printable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from cockpit.core import kinds
from cockpit.core.flags.base import on_off
from cockpit.core.log.entry import Entry
from cockpit.runbook.textsafe import one_line, printable, shorten

if TYPE_CHECKING:  # the fold pulls in the runbook models: the log list's first paint does not need them
    from cockpit.core.release import ReleaseState

Tone = Literal["ok", "bad", "warn", "info", "dim"]

TIMELINE_LIMIT = 400
"""Lines of the timeline kept in a story (a release of thousands of entries stays readable)."""


def when(at: datetime) -> str:
    """The one spelling of a time in the browser: UTC, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _s(value: Any, width: int = 0) -> str:
    text = printable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str),
                     one_line=True)
    return shorten(text, width) if width else text


def flag_word(value: Any) -> str:
    """A flag's state in the story's prose: on, off, unknown (flags.base.on_off, lower case), or the
    value as it was logged when it is not a state."""
    if value is None or isinstance(value, bool):
        return on_off(value).lower()
    return _s(value)


# -- one line per entry ------------------------------------------------------------------------


_WORDS = ("text", "reason", "note")
"""Payload keys that hold what a person wrote."""


def summary(entry: Entry, width: int = 200, *, words: bool = False) -> str:
    """What this entry says, in one line (no newlines, control characters escaped), at most `width`.

    words=True adds what a person wrote (text, reason, note) where the kind's phrase leaves it out:
    for lines read where the entry cannot be opened (`cockpit log tail`, webhook messages); the
    browser's list leaves it to the detail pane.
    """
    p = entry.payload
    k = entry.kind
    try:
        text = _SUMMARY[k](p) if k in _SUMMARY else _generic(p)
    except Exception:  # a payload shaped differently (a newer cockpit): fall back to its JSON
        text = _generic(p)
    if words and k in _SUMMARY:  # (the JSON of other kinds holds them already)
        for key in _WORDS:
            said = p.get(key)
            if isinstance(said, str) and said.strip() and said not in text:
                text += f" — {said}"
    return one_line(text, width)


def _generic(p: dict[str, Any]) -> str:
    return json.dumps(p, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=str)


def _evidence_summary(p: dict[str, Any]) -> str:
    evs = p.get("evidence", [])
    counts: dict[str, int] = {}
    for e in evs:
        counts[e.get("status", "?")] = counts.get(e.get("status", "?"), 0) + 1
    bad = [f"{e.get('id')} {e.get('status')}" for e in evs if e.get("status") not in ("pass", "pending")]
    parts = [f"{len(evs)} check{'s' if len(evs) != 1 else ''}"]
    parts.append(", ".join(f"{n} {st}" for st, n in sorted(counts.items())))
    text = ": ".join(x for x in parts if x)
    if bad:
        text += " (" + ", ".join(bad[:3]) + (", …" if len(bad) > 3 else "") + ")"
    if p.get("stage"):
        text += f" [stage {p['stage']}]"
    return text


def _flip_summary(p: dict[str, Any]) -> str:
    text = f"{p.get('flag', '?')} {flag_word(p.get('before'))} → {flag_word(p.get('after'))}"
    if not p.get("ok", False):
        text += f" FAILED (wanted {flag_word(p.get('requested'))}): {p.get('error') or 'no detail'}"
    if p.get("break_glass"):
        text += " [break-glass]"
    if p.get("reason"):
        text += f" — {p['reason']}"
    return text


def _snapshot_summary(p: dict[str, Any]) -> str:
    flags = p.get("flags", {})
    on = sorted(n for n, v in flags.items() if v is True)
    off = sorted(n for n, v in flags.items() if v is False)
    text = f"{len(flags)} flags: {len(on)} on, {len(off)} off"
    if p.get("error"):
        text += f" (error: {p['error']})"
    return text


def _target(p: dict[str, Any]) -> str:
    t = p.get("target", {})
    return f"opened for {t.get('ref', '?')}@{str(t.get('sha', ''))[:10]}"


_SUMMARY = {
    kinds.SESSION_OPENED: _target,
    kinds.EVIDENCE_TAKEN: _evidence_summary,
    kinds.ITEM_TICKED: lambda p: f"ticked {p.get('check_id', '?')}" + (f": {p['note']}" if p.get("note") else ""),
    kinds.SIGNOFF_RECORDED: lambda p: (f"release owner {p.get('release_owner', '?')}, rollback owner "
                                       f"{p.get('rollback_owner', '?')}, rollback ref {p.get('rollback_ref', '?')}"),
    kinds.DECISION_GO: lambda p: f"GO on {str(p.get('target_sha', ''))[:10]}"
                                 + (f" ({len(p['warnings'])} warnings)" if p.get("warnings") else ""),
    kinds.DECISION_NOGO: lambda p: "NO-GO: " + (p.get("reason") or "; ".join(p.get("reasons", [])) or "no reason given"),
    kinds.FLAGS_SNAPSHOT: _snapshot_summary,
    kinds.FLAG_FLIPPED: _flip_summary,
    kinds.TAG_CREATED: lambda p: f"tag {p.get('tag', '?')} at {str(p.get('sha', ''))[:10]}",
    kinds.TAG_PUSHED: lambda p: f"pushed {p.get('tag', '?')} to {p.get('remote', '?')}"
                                + ("" if p.get("ok", True) else f" FAILED: {p.get('error', '')}"),
    kinds.STAGE_STARTED: lambda p: f"stage {p.get('stage', '?')} started" + (
        f" ({', '.join(map(str, p['flags']))})" if p.get("flags") else ""),
    kinds.STAGE_STABLE: lambda p: f"stage {p.get('stage', '?')} stable" + (f": {p['note']}" if p.get("note") else ""),
    kinds.STAGE_KILLED: lambda p: f"stage {p.get('stage', '?')} killed: {p.get('outcome', '')}",
    kinds.DEPLOY_STARTED: lambda p: f"deploy {p.get('ref', '?')}",
    kinds.DEPLOY_FINISHED: lambda p: f"deploy {p.get('ref', '?')} " + (
        "ok" if p.get("ok") else f"FAILED (exit {p.get('exit_code')})"),
    kinds.ROLLBACK_STARTED: lambda p: f"rollback to {p.get('rollback_ref', '?')} (scope {p.get('scope', 'all')})",
    kinds.ROLLBACK_STEP: lambda p: f"{p.get('step', '?')}: {p.get('outcome', '?')}" + (
        f" — {p['detail']}" if p.get("detail") else ""),
    kinds.ROLLBACK_FINISHED: lambda p: f"rollback {p.get('outcome', '?')}" + (
        f" in {p['elapsed_s']:.0f} s" if isinstance(p.get("elapsed_s"), (int, float)) else ""),
    kinds.RELEASE_DONE: lambda p: "release done" + (f": {p['note']}" if p.get("note") else ""),
    kinds.NOTE: lambda p: str(p.get("text", "")),
}


# -- the story ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    text: str
    tone: Tone = "info"
    seq: int | None = None
    """The entry this line comes from (the browser can jump there)."""


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Story:
    release_id: str
    environments: tuple[str, ...]
    phase: str
    entry_count: int
    sections: tuple[Section, ...]

    def section(self, title: str) -> Section | None:
        return next((s for s in self.sections if s.title == title), None)

    def to_text(self) -> str:
        out = [f"Release {self.release_id} ({', '.join(self.environments) or '-'}) — {self.phase}"]
        for s in self.sections:
            out += ["", s.title, *(f"  {ln.text}" for ln in s.lines)]
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        out = [f"# Release {_md(self.release_id)}", "",
               f"Environment: {_md(', '.join(self.environments) or '-')} · phase: **{self.phase}** · "
               f"{self.entry_count} entries", ""]
        for s in self.sections:
            out += [f"## {s.title}", "", *(f"- {_md(ln.text)}" for ln in s.lines), ""]
        return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("*", "\\*").replace("_", "\\_")


def release_story(release_id: str, entries: Iterable[Entry], *, timeline_limit: int = TIMELINE_LIMIT) -> Story:
    """The story of one release from its entries (entries of other releases are ignored)."""
    from cockpit.core.release import fold  # startup: `log tail` and notifications need summaries, not the fold

    mine = [e for e in entries if e.release_id == release_id]
    mine.sort(key=lambda e: e.seq)
    envs = tuple(dict.fromkeys(e.environment for e in mine))
    state = fold(release_id, envs[0] if envs else "", mine)
    decision_entry = next((e for e in reversed(mine) if e.kind in (kinds.DECISION_GO, kinds.DECISION_NOGO)), None)
    at_decision = (fold(release_id, state.environment, (e for e in mine if e.seq <= decision_entry.seq))
                   if decision_entry else state)
    sections = [
        _overview(state, mine),
        _evidence(at_decision, decision_entry, mine),
        _signoff(state, mine),
        _decision(state, decision_entry),
        _stages(state, mine),
        _flags(state, mine),
        _rollback(state, mine),
        _notes(mine),
        _timeline(mine, timeline_limit),
    ]
    return Story(release_id=release_id, environments=envs, phase=str(state.phase), entry_count=len(mine),
                 sections=tuple(s for s in sections if s is not None))


def _last(entries: list[Entry], kind: str) -> Entry | None:
    return next((e for e in reversed(entries) if e.kind == kind), None)


def _overview(state: ReleaseState, entries: list[Entry]) -> Section:
    lines: list[Line] = []
    opened = next((e for e in entries if e.kind == kinds.SESSION_OPENED), None)
    if state.target is not None and opened is not None:
        lines.append(Line(f"target {_s(state.target.ref)}@{_s(state.target.sha)[:12]}, opened {when(opened.at)} "
                          f"by {_s(opened.actor.name)}", seq=opened.seq))
    if entries:
        lines.append(Line(f"{len(entries)} entries, seq {entries[0].seq}–{entries[-1].seq}, "
                          f"{when(entries[0].at)} → {when(entries[-1].at)}", "dim"))
        actors = sorted({e.actor.name for e in entries})
        lines.append(Line(f"people: {_s(', '.join(actors))}", "dim"))
    else:
        lines.append(Line("no entries for this release", "warn"))
    tone: Tone = {"done": "ok", "rolled back": "warn", "rollback failed": "bad", "no-go": "bad"}.get(
        str(state.phase), "info")  # type: ignore[assignment]
    lines.append(Line(f"phase: {state.phase}", tone))
    if state.tags:
        lines.append(Line(f"tags: {_s(', '.join(state.tags))}", "dim"))
    return Section("Overview", tuple(lines))


_EV_TONE: dict[str, Tone] = {"pass": "ok", "fail": "bad", "error": "bad", "stale": "warn", "pending": "warn"}


def _evidence(state: ReleaseState, decision: Entry | None, entries: list[Entry]) -> Section:
    title = ("Evidence at GO" if decision is not None and decision.kind == kinds.DECISION_GO
             else "Evidence at NO-GO" if decision is not None else "Evidence (latest)")
    lines: list[Line] = []
    seq_of = _evidence_seqs(entries, decision.seq if decision else None)
    for cid, ev in sorted(state.evidence.items()):
        must = "MUST" if ev.blocking else "SHOULD"
        lines.append(Line(f"{ev.status.value.upper():7} {_s(cid)} [{must}] {_s(ev.detail, 100)} "
                          f"(taken {when(ev.taken_at)})", _EV_TONE.get(ev.status.value, "info"), seq_of.get(cid)))
        if ev.excerpt:
            first = next((x for x in ev.excerpt.splitlines() if x.strip()), "")
            lines.append(Line(f"        excerpt: {_s(first, 90)}", "dim", seq_of.get(cid)))
    for cid, tick in sorted(state.ticks.items()):
        if cid in state.evidence:
            continue  # the fold already counts the tick as this item's evidence (shown above)
        lines.append(Line(f"TICKED  {_s(cid)} by {_s(tick.by)} at {when(tick.at)}"
                          + (f": {_s(tick.note, 80)}" if tick.note else ""), "ok"))
    if not lines:
        lines.append(Line("no evidence was recorded", "warn"))
    return Section(title, tuple(lines))


def _evidence_seqs(entries: list[Entry], through: int | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entries:
        if through is not None and e.seq > through:
            break
        if e.kind == kinds.EVIDENCE_TAKEN:
            for d in e.payload.get("evidence", []):
                if isinstance(d, dict) and "id" in d:
                    out[str(d["id"])] = e.seq
    return out


def _signoff(state: ReleaseState, entries: list[Entry]) -> Section:
    so = state.signoff
    e = _last(entries, kinds.SIGNOFF_RECORDED)
    if so is None or e is None:
        return Section("Sign-off", (Line("no sign-off was recorded", "warn"),))
    lines = [
        Line(f"release owner {_s(so.release_owner)}, rollback owner {_s(so.rollback_owner)}", "ok", e.seq),
        Line(f"rollback ref {_s(so.rollback_ref)}@{_s(so.rollback_sha)[:12] or '?'}", "info", e.seq),
        Line(f"recorded by {_s(state.signoff_by)} at {when(e.at)}", "dim", e.seq),
    ]
    lines += [Line(f"problem: {_s(p)}", "bad", e.seq) for p in so.problems]
    return Section("Sign-off", tuple(lines))


def _decision(state: ReleaseState, e: Entry | None) -> Section:
    d = state.decision
    if d is None or e is None:
        return Section("Decision", (Line("no decision was recorded", "warn"),))
    if d.go:
        lines = [Line(f"GO by {_s(d.by)} at {when(d.at)} on {_s(e.payload.get('target_sha', ''))[:12]}", "ok", e.seq)]
        if e.payload.get("confirmation"):
            lines.append(Line(f"confirmed by typing {_s(e.payload['confirmation'])}", "dim", e.seq))
        lines += [Line(f"warning: {_s(w)}", "warn", e.seq) for w in e.payload.get("warnings", []) or []]
    else:
        lines = [Line(f"NO-GO by {_s(d.by)} at {when(d.at)}" + (f": {_s(d.note)}" if d.note else ""), "bad", e.seq)]
        lines += [Line(f"reason: {_s(r)}", "bad", e.seq) for r in d.reasons]
    return Section("Decision", tuple(lines))


def _stages(state: ReleaseState, entries: list[Entry]) -> Section | None:
    if not state.stages:
        return None
    tone: dict[str, Tone] = {"stable": "ok", "started": "warn", "killed": "bad", "pending": "dim"}
    seqs: dict[str, int] = {}
    for e in entries:
        if e.kind in (kinds.STAGE_STARTED, kinds.STAGE_STABLE, kinds.STAGE_KILLED):
            seqs[str(e.payload.get("stage", ""))] = e.seq
    lines = []
    for sid, st in state.stages.items():
        times = ""
        if st.started_at:
            times += f" · started {when(st.started_at)}"
        if st.stable_at:
            times += f" · stable {when(st.stable_at)}"
        lines.append(Line(f"{_s(sid)}: {st.status.value}{times}", tone.get(st.status.value, "info"), seqs.get(sid)))
    return Section("Stages", tuple(lines))


def _flags(state: ReleaseState, entries: list[Entry]) -> Section | None:
    if state.flag_snapshot is None and not state.flips:
        return None
    before: dict[str, bool | None] = dict(state.flag_snapshot or {})
    for f in state.flips:  # flags not in the snapshot: their state before is the first flip's "before"
        before.setdefault(f.flag, f.before)
    after = dict(before)
    for f in state.flips:
        if f.ok:
            after[f.flag] = f.after
    lines: list[Line] = []
    if state.flag_snapshot is None:
        lines.append(Line("no snapshot of the flags was taken at GO; 'before' is each flag's first flip", "warn"))
    for name in sorted(after):
        changed = before.get(name) != after.get(name)
        lines.append(Line(f"{_s(name)}: {flag_word(before.get(name))} → {flag_word(after.get(name))}",
                          "warn" if changed else "dim"))
    flips = [e for e in entries if e.kind == kinds.FLAG_FLIPPED]
    for e in flips:
        p = e.payload
        lines.append(Line(f"  {when(e.at)} {_s(e.actor.name)}: {_flip_summary(p)}", "ok" if p.get("ok") else "bad",
                          e.seq))
    return Section("Flags (before GO → after)", tuple(Line(printable(ln.text, one_line=True), ln.tone, ln.seq)
                                                       for ln in lines))


def _rollback(state: ReleaseState, entries: list[Entry]) -> Section | None:
    rb = state.rollback
    if rb is None:
        return None
    started = _last(entries, kinds.ROLLBACK_STARTED)
    lines = [Line(f"started {when(rb.started_at)} by {_s(rb.by)}, scope {_s(rb.scope)}"
                  + (f", to {_s(started.payload.get('rollback_ref', ''))}" if started else ""),
                  "warn", started.seq if started else None)]
    tone: dict[str, Tone] = {"done": "ok", "failed": "bad", "skipped": "warn"}
    for e in entries:
        if e.kind == kinds.ROLLBACK_STEP and e.seq >= (started.seq if started else 0):
            p = e.payload
            lines.append(Line(f"{when(e.at)} {_s(p.get('step', '?'))}: {_s(p.get('outcome', '?'))}"
                              + (f" — {_s(p.get('detail'), 90)}" if p.get("detail") else ""),
                              tone.get(str(p.get("outcome")), "info"), e.seq))
    fin = _last(entries, kinds.ROLLBACK_FINISHED)
    if rb.outcome is None:
        lines.append(Line("not finished", "bad"))
    elif fin is not None:
        lines.append(Line(f"finished {when(fin.at)}: {summary(fin)}", "ok" if rb.outcome == "done" else "bad", fin.seq))
    return Section("Rollback", tuple(lines))


def _notes(entries: list[Entry]) -> Section | None:
    notes = [e for e in entries if e.kind == kinds.NOTE]
    if not notes:
        return None
    return Section("Notes", tuple(Line(f"{when(e.at)} {_s(e.actor.name)}: {_s(e.payload.get('text', ''), 160)}",
                                       "info", e.seq) for e in notes))


def _timeline(entries: list[Entry], limit: int) -> Section:
    shown = entries if len(entries) <= limit else entries[: limit // 2] + entries[-(limit // 2):]
    lines: list[Line] = []
    for i, e in enumerate(shown):
        if len(shown) < len(entries) and i == limit // 2:
            lines.append(Line(f"… {len(entries) - len(shown)} entries not shown …", "dim"))
        lines.append(Line(f"#{e.seq} {when(e.at)} {_s(e.actor.name, 16)} {e.kind}: {summary(e, 100)}", "dim", e.seq))
    return Section("Timeline", tuple(lines))
