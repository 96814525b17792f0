"""Every release-log entry as one readable sentence: who did what, in an operator's words.

    Ann signed off: Release Owner Ann, Rollback Owner Bob, rollback to v1.0.0 (abc1234)
    Bob flipped marketplace-layer-1 off → on (stage layer-1)
    lock on production taken by Ann for 30 min (until 09:40:00 UTC)

This is the one phrasing of an entry: the browser's list and detail, the release story, `cockpit log
tail`, the exports and the webhook messages all say an entry with `sentence` (story.summary fits it
to a width). A payload may come from an older or newer cockpit, or hold a value of another shape:
each value is said as what it holds, and a kind not known here as its keys and values — never as a
raw dict or JSON. Payloads are untrusted: the result is one printable line (textsafe).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cockpit.core import kinds
from cockpit.core.checks.compare import show_number
from cockpit.core.flags.base import on_off
from cockpit.core.log.entry import Entry, parse_at
from cockpit.runbook.textsafe import printable

WORDS = ("text", "reason", "note")
"""Payload keys that hold what a person wrote."""


def sentence(entry: Entry, *, words: bool = False) -> str:
    """What this entry says, as one printable line (not shortened).

    words=True adds what a person wrote (text, reason, note) where the kind's sentence leaves it out:
    for lines read where the entry cannot be opened (`cockpit log tail`, webhooks, exports).
    """
    p = entry.payload if isinstance(entry.payload, dict) else {"payload": entry.payload}
    say = _SAY.get(entry.kind)
    try:
        text = say(_who(entry), p, entry) if say else _generic(entry, p)
    except Exception:  # a payload shaped otherwise (another cockpit's version): still a sentence
        say, text = None, _generic(entry, p)
    if words and say is not None:
        for key in WORDS:
            written = p.get(key)
            if isinstance(written, str) and written.strip() and written not in text:
                text += f" — {written}"
    return printable(text, one_line=True)


def flag_word(value: Any) -> str:
    """A flag's state in prose: on, off, unknown (flags.base.on_off, lower case), or what was logged."""
    if value is None or isinstance(value, bool):
        return on_off(value).lower()
    return said(value)


def said(value: Any, nested: bool = False) -> str:
    """Any payload value in words: text as it is, lists joined, tables as `key: value` pairs."""
    if isinstance(value, str):
        return value if value.strip() else "(empty)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(said(v, True) for v in value) if value else "none"
    if isinstance(value, dict):
        pairs = "; ".join(f"{_key(k)}: {said(v, True)}" for k, v in value.items())
        return f"({pairs})" if nested and pairs else pairs or "nothing"
    return str(value)


def tag_sentence(created: Entry, pushed: Entry | None = None) -> str:
    """A tag and its push, said once (the story's one line for both)."""
    text = sentence(created)
    if pushed is None:
        return text
    p = pushed.payload
    if p.get("ok", True):
        return text + f" and pushed it to {said(p.get('remote', '?'))}"
    return text + f", but the push to {said(p.get('remote', '?'))} FAILED: {said(p.get('error') or 'no detail')}"


# -- one sentence per kind -----------------------------------------------------------------------


def _who(e: Entry) -> str:
    return e.actor.name or "someone"


def _key(key: Any) -> str:
    return str(key).replace("_", " ")


def _sha(value: Any) -> str:
    return said(value)[:7] if value else "?"


def _generic(e: Entry, p: dict[str, Any]) -> str:
    return f"{_who(e)} recorded {e.kind}" + (f": {said(p)}" if p else "")


def _opened(who: str, p: dict[str, Any], e: Entry) -> str:
    t = p.get("target") if isinstance(p.get("target"), dict) else {}
    verb = "reopened" if p.get("resumed") else "opened"
    return f"{who} {verb} the release of {said(t.get('ref', '?'))} ({_sha(t.get('sha'))})"


def _evidence(who: str, p: dict[str, Any], e: Entry) -> str:
    evs = [x for x in p.get("evidence") or [] if isinstance(x, dict)]
    counts: dict[str, int] = {}
    for x in evs:
        counts[said(x.get("status", "?"))] = counts.get(said(x.get("status", "?")), 0) + 1
    bad = [f"{said(x.get('id', '?'))} {said(x.get('status', '?'))}" for x in evs
           if x.get("status") not in ("pass", "pending")]
    stage = f" for stage {said(p['stage'])}" if p.get("stage") else ""
    text = f"{who} took evidence{stage}: {len(evs)} check{'' if len(evs) == 1 else 's'}"
    order = {status: i for i, status in enumerate(("pass", "fail", "error", "stale", "pending"))}
    text += "".join(f", {counts[st]} {st}" for st in sorted(counts, key=lambda st: (order.get(st, 9), st)))
    return text + (f" ({', '.join(bad[:3])}{', …' if len(bad) > 3 else ''})" if bad else "")


def _signoff(who: str, p: dict[str, Any], e: Entry) -> str:
    text = (f"{who} signed off: Release Owner {said(p.get('release_owner', '?'))}, "
            f"Rollback Owner {said(p.get('rollback_owner', '?'))}, rollback to {said(p.get('rollback_ref') or '?')}")
    text += f" ({_sha(p['rollback_sha'])})" if p.get("rollback_sha") else ""
    problems = p.get("problems") or []
    return text + (f" — problem: {said(problems)}" if problems else "")


def _go(who: str, p: dict[str, Any], e: Entry) -> str:
    warnings = p.get("warnings") or []
    n = len(warnings) if isinstance(warnings, list) else 1
    return f"{who} decided GO on {_sha(p.get('target_sha'))}" + (f" ({n} warning{'' if n == 1 else 's'})" if n else "")


def _nogo(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} decided NO-GO: {said(p.get('reason') or p.get('reasons') or 'no reason given')}"


def _go_refused(who: str, p: dict[str, Any], e: Entry) -> str:
    reasons = p.get("reasons")
    why = "; ".join(said(r) for r in reasons) if isinstance(reasons, list) and reasons else said(reasons or "no reason given")
    return f"{who}'s GO was refused, nothing was flipped: {why}"


def _snapshot(who: str, p: dict[str, Any], e: Entry) -> str:
    flags = p.get("flags") if isinstance(p.get("flags"), dict) else {}
    if not flags and p.get("error"):
        return f"{who} could not take the flag snapshot: {said(p['error'])}"
    states = [flag_word(v) for v in flags.values()]
    text = f"{who} took a snapshot of {len(flags)} flag{'' if len(flags) == 1 else 's'}: "
    text += ", ".join(f"{states.count(w)} {w}" for w in ("on", "off", "unknown") if w in states or w != "unknown")
    return text + (f" (error: {said(p['error'])})" if p.get("error") else "")


def _flip(who: str, p: dict[str, Any], e: Entry) -> str:
    flag = said(p.get("flag", "?"))
    if not p.get("ok", False):
        text = (f"{who} FAILED to turn {flag} {flag_word(p.get('requested'))} ({said(p.get('error') or 'no detail')});"
                f" it is {flag_word(p.get('after'))}")
    elif "before" in p and p.get("before") == p.get("after"):
        text = f"{who} set {flag} {flag_word(p.get('after'))} (it already was)"
    else:
        text = f"{who} flipped {flag} {flag_word(p.get('before'))} → {flag_word(p.get('after'))}"
    text += f" (stage {said(p['stage'])})" if p.get("stage") else ""
    text += " [break-glass]" if p.get("break_glass") else ""
    return text + (f" — {said(p['reason'])}" if p.get("reason") else "")


def _tag(who: str, p: dict[str, Any], e: Entry) -> str:
    if p.get("ok", True):
        return f"{who} tagged {_sha(p.get('sha'))} as {said(p.get('tag', '?'))}"
    return f"{who} could not tag {_sha(p.get('sha'))} as {said(p.get('tag', '?'))}: {said(p.get('error') or 'no detail')}"


def _pushed(who: str, p: dict[str, Any], e: Entry) -> str:
    if p.get("ok", True):
        return f"{who} pushed tag {said(p.get('tag', '?'))} to {said(p.get('remote', '?'))}"
    return (f"{who} FAILED to push tag {said(p.get('tag', '?'))} to {said(p.get('remote', '?'))}: "
            f"{said(p.get('error') or 'no detail')}")


def _started(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} started stage {said(p.get('stage', '?'))}" + (f" (flags {said(p['flags'])})" if p.get("flags") else "")


def _stable(who: str, p: dict[str, Any], e: Entry) -> str:
    text = f"{who} marked stage {said(p.get('stage', '?'))} stable"
    over = p.get("override")
    if isinstance(over, dict):
        text += f" OVERRIDING its open windows: {said(over.get('reason', ''))}"
    return text + (f": {said(p['note'])}" if p.get("note") else "")


def _rail(p: dict[str, Any]) -> str:
    return f"guardrail {said(p.get('check', '?'))} of stage {said(p.get('stage', '?'))}"


def _value(v: Any) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return show_number(float(v))
    return "no value" if v is None else said(v)


def _g_opened(who: str, p: dict[str, Any], e: Entry) -> str:
    return (f"{who} opened {_rail(p)} for {_lease(p.get('window_s'))}, every {_lease(p.get('interval_s'))}: "
            f"{said(p.get('limits', ''))}; baseline {_value(p.get('baseline'))}")


def _g_changed(who: str, p: dict[str, Any], e: Entry) -> str:
    return (f"{who} saw {_rail(p)} {said(p.get('state', '?'))} ({said(p.get('failures', 0))} failed): "
            f"{said(p.get('detail', ''))}")


def _g_summary(who: str, p: dict[str, Any], e: Entry) -> str:
    return (f"{who} summed up {_rail(p)}: {said(p.get('count', 0))} samples in the last hour, {said(p.get('failures', 0))} failed, "
            f"{_value(p.get('min'))}–{_value(p.get('max'))}, last {_value(p.get('last'))}")


def _g_breached(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} saw {_rail(p)} BREACHED ({said(p.get('action', '?'))}): {said(p.get('detail', ''))}"


def _g_acted(who: str, p: dict[str, Any], e: Entry) -> str:
    off = p.get("flags_off") or []
    done = f"turned {', '.join(said(f) for f in off)} off" if off else "raised the alert"
    return f"{who} {done} automatically for {_rail(p)}" + ("" if p.get("ok", True) else " — NOT all: "
                                                             + "; ".join(said(x) for x in p.get("problems") or []))


def _g_closed(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} closed the window of {_rail(p)}: {said(p.get('outcome', '?'))}"


def _watch_started(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} watches {e.environment}" + (f" (lease {_lease(p['lease_s'])})" if "lease_s" in p else "")


def _watch_stopped(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} stopped watching {e.environment}" + (f": {said(p['reason'])}" if p.get("reason") else "")


def _killed(who: str, p: dict[str, Any], e: Entry) -> str:
    text = f"{who} killed stage {said(p.get('stage', '?'))}"
    flips = p.get("outcome")
    if isinstance(flips, list) and all(isinstance(f, dict) for f in flips):
        failed = [said(f.get("flag", "?")) for f in flips if not f.get("ok")]
        text += f": {len(flips) - len(failed)} of {len(flips)} flags off"
        text += f", {', '.join(failed)} FAILED" if failed else ""
    elif flips:
        text += f": {said(flips)}"
    return text + (f" — {said(p['reason'])}" if p.get("reason") else "")


def _aborted(who: str, p: dict[str, Any], e: Entry) -> str:
    off = p.get("flags_off")
    text = f"{who} aborted stage {said(p.get('stage', '?'))}"
    if isinstance(off, list) and off:
        text += f", {', '.join(said(f) for f in off)} off again" + ("" if p.get("ok", True) else " (NOT all)")
    return text + (f" — {said(p['reason'])}" if p.get("reason") else "")


def _step_started(who: str, p: dict[str, Any], e: Entry) -> str:
    return (f"{who} started step {said(p.get('step', '?'))} of stage {said(p.get('stage', '?'))}"
            + (f": {said(p['does'])}" if p.get("does") else ""))


def _step_finished(who: str, p: dict[str, Any], e: Entry) -> str:
    step = f"step {said(p.get('step', '?'))} of stage {said(p.get('stage', '?'))}"
    detail = said(p["detail"]) if p.get("detail") else ""
    if p.get("outcome") == "skipped":
        return f"{who} skipped {step}" + (f": {detail}" if detail else "")
    outcome = "FAILED" if p.get("outcome") == "failed" else said(p.get("outcome", "?"))
    return f"{who}'s {step} {outcome}" + (f" — {detail}" if detail else "")


def _deploy(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} started the redeploy of {said(p.get('ref', '?'))}"


def _deployed(who: str, p: dict[str, Any], e: Entry) -> str:
    took = f" in {p['elapsed_s']:.0f} s" if isinstance(p.get("elapsed_s"), (int, float)) else ""
    if p.get("ok"):
        return f"{who} redeployed {said(p.get('ref', '?'))}: ok{took}"
    why = "timed out" if p.get("timed_out") else f"exit {said(p.get('exit_code'))}"
    error = f": {said(p['error'])}" if p.get("error") else ""
    return f"{who}'s redeploy of {said(p.get('ref', '?'))} FAILED ({why}){took}{error}"


def _rollback(who: str, p: dict[str, Any], e: Entry) -> str:
    verb = "resumed the rollback" if p.get("resumed") else "started a rollback"
    return f"{who} {verb} to {said(p.get('rollback_ref') or '?')} (scope {said(p.get('scope') or 'all')})"


def _step(who: str, p: dict[str, Any], e: Entry) -> str:
    step, outcome = said(p.get("step", "?")), p.get("outcome")
    if outcome == "waiting":
        return f"{who}'s rollback waits for a person at step {step}" + (f" — {said(p['detail'])}" if p.get("detail") else "")
    text = {"done": f"{who} did rollback step {step}", "skipped": f"{who} skipped rollback step {step}",
            "failed": f"{who}'s rollback step {step} FAILED"}.get(
        str(outcome), f"{who}'s rollback step {step}: {said(outcome)}")
    return text + (f": {said(p['detail'])}" if p.get("detail") else "")


def _finished(who: str, p: dict[str, Any], e: Entry) -> str:
    took = f" in {p['elapsed_s']:.0f} s" if isinstance(p.get("elapsed_s"), (int, float)) else ""
    return f"{who} closed the rollback: {said(p.get('outcome', '?'))}{took}"


def _done(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} closed the release" + (f": {said(p['note'])}" if p.get("note") else "")


def _lease(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return said(seconds)
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _until(value: Any) -> str:
    try:
        return parse_at(str(value)).strftime("%H:%M:%S UTC")
    except (TypeError, ValueError):
        return said(value)


def _lock_taken(who: str, p: dict[str, Any], e: Entry) -> str:
    text = f"lock on {e.environment} taken by {who}"
    text += f" for {_lease(p['lease_s'])}" if "lease_s" in p else ""
    return text + (f" (until {_until(p['expires_at'])})" if p.get("expires_at") else "")


def _lock_renewed(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"lock on {e.environment} renewed by {who}" + (f" until {_until(p['expires_at'])}" if p.get("expires_at") else "")


def _lock_released(who: str, p: dict[str, Any], e: Entry) -> str:
    if not p.get("forced"):
        return f"lock on {e.environment} given back by {who}"
    held = p.get("previous_holder")
    held_by = f" (held by {said(held.get('name') or '?')})" if isinstance(held, dict) else ""
    return f"lock on {e.environment} FORCED open by {who}{held_by}" + (f": {said(p['reason'])}" if p.get("reason") else "")


def _ticked(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} ticked {said(p.get('check_id', '?'))}" + (f": {said(p['note'])}" if p.get("note") else "")


def _note(who: str, p: dict[str, Any], e: Entry) -> str:
    return f"{who} noted: {said(p.get('text', ''))}"


_SAY: dict[str, Callable[[str, dict[str, Any], Entry], str]] = {
    kinds.SESSION_OPENED: _opened,
    kinds.EVIDENCE_TAKEN: _evidence,
    kinds.ITEM_TICKED: _ticked,
    kinds.SIGNOFF_RECORDED: _signoff,
    kinds.DECISION_GO: _go,
    kinds.DECISION_NOGO: _nogo,
    kinds.GO_REFUSED: _go_refused,
    kinds.FLAGS_SNAPSHOT: _snapshot,
    kinds.FLAG_FLIPPED: _flip,
    kinds.TAG_CREATED: _tag,
    kinds.TAG_PUSHED: _pushed,
    kinds.STAGE_STARTED: _started,
    kinds.STAGE_STABLE: _stable,
    kinds.STAGE_KILLED: _killed,
    kinds.STAGE_ABORTED: _aborted,
    kinds.STEP_STARTED: _step_started,
    kinds.STEP_FINISHED: _step_finished,
    kinds.DEPLOY_STARTED: _deploy,
    kinds.DEPLOY_FINISHED: _deployed,
    kinds.ROLLBACK_STARTED: _rollback,
    kinds.ROLLBACK_STEP: _step,
    kinds.ROLLBACK_FINISHED: _finished,
    kinds.RELEASE_DONE: _done,
    kinds.LOCK_TAKEN: _lock_taken,
    kinds.LOCK_RENEWED: _lock_renewed,
    kinds.LOCK_RELEASED: _lock_released,
    kinds.NOTE: _note,
    kinds.GUARDRAIL_OPENED: _g_opened,
    kinds.GUARDRAIL_CHANGED: _g_changed,
    kinds.GUARDRAIL_SUMMARY: _g_summary,
    kinds.GUARDRAIL_BREACHED: _g_breached,
    kinds.GUARDRAIL_ACTED: _g_acted,
    kinds.GUARDRAIL_CLOSED: _g_closed,
    kinds.WATCH_STARTED: _watch_started,
    kinds.WATCH_STOPPED: _watch_stopped,
}
