"""A release's story, end to end, told from its log entries alone (for the auditor).

Who decided GO, on which evidence, who signed off, which stages ran, which flags were flipped
(state before GO and after), what the rollback did. The story is data (sections of lines with a
tone and the seq they come from), so the browser renders it and exports can reuse it; it is
derived with the lead's fold (cockpit/core/release.py), so it shows the same facts the release
owner acted on. Each entry is told by its sentence (cockpit/core/sentences.py); `summary(entry)` fits
it to one line for the log list, `cockpit log tail` and the webhook messages.

Entry contents are untrusted text: everything here goes through textsafe.printable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from cockpit.core import kinds
from cockpit.core.log.entry import Entry
from cockpit.core.sentences import flag_word, said, sentence, tag_sentence
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
    text = printable(said(value), one_line=True)
    return shorten(text, width) if width else text


def summary(entry: Entry, width: int = 200, *, words: bool = False) -> str:
    """What this entry says — its sentence (cockpit/core/sentences.py) — in one line of at most `width`.

    words=True adds what a person wrote (text, reason, note) where the sentence leaves it out: for
    lines read where the entry cannot be opened (`cockpit log tail`, webhook messages); the
    browser's list leaves it to the detail pane.
    """
    return one_line(sentence(entry, words=words), width)


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
        _decision(state, decision_entry, mine),
        _stages(state, mine),
        _plan(state, mine),
        _flags(state, mine),
        _rollback(state, mine),
        _notes(mine),
        _timeline(mine, timeline_limit),
    ]
    return Story(release_id=release_id, environments=envs, phase=str(state.phase), entry_count=len(mine),
                 sections=tuple(s for s in sections if s is not None))


def _last(entries: list[Entry], kind: str) -> Entry | None:
    return next((e for e in reversed(entries) if e.kind == kind), None)


def _said(e: Entry, tone: Tone = "info", *, indent: str = "") -> Line:
    """The story's line for one entry: when, then its sentence."""
    return Line(f"{indent}{when(e.at)} {sentence(e)}", tone, e.seq)


def _overview(state: ReleaseState, entries: list[Entry]) -> Section:
    lines: list[Line] = []
    opened = next((e for e in entries if e.kind == kinds.SESSION_OPENED), None)
    if opened is not None:
        lines.append(_said(opened))
    if entries:
        lines.append(Line(f"{len(entries)} entries, seq {entries[0].seq}–{entries[-1].seq}, "
                          f"{when(entries[0].at)} → {when(entries[-1].at)}", "dim"))
        lines.append(Line(f"people: {_s(', '.join(people(state, entries)))}", "dim"))
    else:
        lines.append(Line("no entries for this release", "warn"))
    tone: Tone = {"done": "ok", "rolled back": "warn", "rollback failed": "bad", "no-go": "bad"}.get(
        str(state.phase), "info")  # type: ignore[assignment]
    lines.append(Line(f"phase: {state.phase}", tone))
    tags = [_tag_words(created, pushed) for created, pushed in _tags(entries)]
    if tags:
        lines.append(Line(f"tags: {_s(', '.join(dict.fromkeys(tags)))}", "dim"))
    return Section("Overview", tuple(lines))


def people(state: ReleaseState, entries: list[Entry]) -> list[str]:
    """Who took part: the signers with their roles, then whoever appended an entry (the name they acted
    under, never their OS user), each once, in order of appearance."""
    roles: dict[str, list[str]] = {}
    if state.signoff is not None:
        for name, role in ((state.signoff.release_owner, "release owner"),
                           (state.signoff.rollback_owner, "rollback owner")):
            if name:
                roles.setdefault(name, []).append(role)
    for e in entries:
        roles.setdefault(e.actor.name or "someone", [])
    return [f"{name} ({', '.join(r)})" if r else name for name, r in roles.items()]


def _tags(entries: list[Entry]) -> list[tuple[Entry, Entry | None]]:
    """Each tag.created with the tag.pushed of the same tag that followed it (one fact, told once)."""
    out: list[tuple[Entry, Entry | None]] = []
    for e in entries:
        if e.kind == kinds.TAG_CREATED:
            out.append((e, None))
        elif e.kind == kinds.TAG_PUSHED:
            i = next((i for i in range(len(out) - 1, -1, -1) if out[i][1] is None
                      and out[i][0].payload.get("tag") == e.payload.get("tag")), None)
            if i is not None:
                out[i] = (out[i][0], e)
    return out


def _tag_words(created: Entry, pushed: Entry | None) -> str:
    p = created.payload
    name = _s(p.get("tag", "?"))
    if not p.get("ok", True):
        return f"{name} (not created)"
    if pushed is None:
        return name
    return f"{name} ({'pushed to' if pushed.payload.get('ok', True) else 'push FAILED to'} " \
           f"{_s(pushed.payload.get('remote', '?'))})"


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
    lines = [_said(e, "bad" if so.problems else "ok")]
    lines += [Line(f"problem: {_s(p)}", "bad", e.seq) for p in so.problems]
    return Section("Sign-off", tuple(lines))


def _decision(state: ReleaseState, e: Entry | None, entries: list[Entry]) -> Section:
    d = state.decision
    # GO attempts refused because what GO promises (lock, snapshot, tag) could not be had, in order.
    lines = [_said(x, "bad") for x in entries if x.kind == kinds.GO_REFUSED]
    if d is None or e is None:
        return Section("Decision", tuple(lines or [Line("no decision was recorded", "warn")]))
    if d.go:
        lines.append(_said(e, "ok"))
        if e.payload.get("confirmation"):
            lines.append(Line(f"confirmed by typing {_s(e.payload['confirmation'])}", "dim", e.seq))
        lines += [Line(f"warning: {_s(w)}", "warn", e.seq) for w in e.payload.get("warnings", []) or []]
    else:
        lines.append(_said(e, "bad"))
        lines += [Line(f"reason: {_s(r)}", "bad", e.seq) for r in d.reasons if r != d.note]
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


def _plan(state: ReleaseState, entries: list[Entry]) -> Section | None:
    """The release-day plan fixed at GO against what ran (late is judged at the story's last entry)."""
    from cockpit.core.timeline import timeline  # startup: with the fold, which release_story loads the same way

    if not any(r.get("planned") for r in state.plan):
        return None
    now = entries[-1].at if entries else datetime.now(UTC)
    tone: dict[str, Tone] = {"done": "ok", "skipped": "warn", "failed": "bad", "pending": "dim", "started": "warn"}
    lines = tuple(Line(_s(r.text()), "bad" if r.late_by and r.outcome == "pending" else tone.get(r.outcome, "info"))
                  for r in timeline(state, now))
    return Section("Plan", lines)


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
    lines += [_said(e, "ok" if e.payload.get("ok") else "bad", indent="  ") for e in flips]
    return Section("Flags (before GO → after)", tuple(lines))


def _rollback(state: ReleaseState, entries: list[Entry]) -> Section | None:
    rb = state.rollback
    if rb is None:
        return None
    started = _last(entries, kinds.ROLLBACK_STARTED)
    lines = [_said(started, "warn") if started is not None
             else Line(f"started {when(rb.started_at)} by {_s(rb.by)}, scope {_s(rb.scope)}", "warn")]
    tone: dict[str, Tone] = {"done": "ok", "failed": "bad", "skipped": "warn"}
    lines += [_said(e, tone.get(str(e.payload.get("outcome")), "info")) for e in entries
              if e.kind == kinds.ROLLBACK_STEP and e.seq >= (started.seq if started else 0)]
    fin = _last(entries, kinds.ROLLBACK_FINISHED)
    if rb.outcome is None:
        lines.append(Line("not finished", "bad"))
    elif fin is not None:
        lines.append(_said(fin, "ok" if rb.outcome == "done" else "bad"))
    return Section("Rollback", tuple(lines))


def _notes(entries: list[Entry]) -> Section | None:
    notes = [e for e in entries if e.kind == kinds.NOTE]
    if not notes:
        return None
    return Section("Notes", tuple(_said(e) for e in notes))


def _timeline(entries: list[Entry], limit: int) -> Section:
    told = _told_once(entries)
    shown = told if len(told) <= limit else told[: limit // 2] + told[-(limit // 2):]
    lines: list[Line] = []
    for i, (e, text) in enumerate(shown):
        if len(shown) < len(told) and i == limit // 2:
            lines.append(Line(f"… {len(told) - len(shown)} lines not shown …", "dim"))
        lines.append(Line(f"#{e.seq} {when(e.at)} {shorten(text, 160)}", "dim", e.seq))
    return Section("Timeline", tuple(lines))


def _told_once(entries: list[Entry]) -> list[tuple[Entry, str]]:
    """The timeline's lines: a tag and its push are one line; a run of lease renewals is one line."""
    pushes = {id(pushed): created for created, pushed in _tags(entries) if pushed is not None}
    joined = {id(created): pushed for created, pushed in _tags(entries)}
    out: list[tuple[Entry, str]] = []
    run: list[Entry] = []
    for e in [*entries, None]:
        if e is not None and e.kind == kinds.LOCK_RENEWED and (not run or run[-1].actor.name == e.actor.name):
            run.append(e)
            continue
        if run:
            out.append((run[0], sentence(run[-1]) + (f" ({len(run)} renewals since {when(run[0].at)})"
                                                      if len(run) > 1 else "")))
            run = [e] if e is not None and e.kind == kinds.LOCK_RENEWED else []
            if run:
                continue
        if e is None or id(e) in pushes:
            continue
        out.append((e, tag_sentence(e, joined.get(id(e))) if e.kind == kinds.TAG_CREATED else sentence(e)))
    return out
