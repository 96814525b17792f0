"""The log is the outbox: webhook notifications delivered from its entries, at least once.

For each [[notify]] target a cursor (the last seq scanned) and one delivery row per matching entry
live in the store's notify_* tables — operational state, outside the hash chain. `deliver_pending`
scans new entries, then posts what is due; a failure is recorded with a backoff and retried on a
later call, a success is recorded after the webhook said 2xx (a crash in between means one more
delivery, never none). Every request has a timeout and each call a time budget, and the cockpit
runs it from a background thread (`NotifyWorker`), so a failing or hanging webhook never blocks
a cutover.

Webhook URLs are secrets (Slack's are): they are never printed, logged or stored; targets are
named `notify[i]` and keyed by a digest of the URL.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cockpit.core.log.base import LogUnavailable, ReleaseLog
from cockpit.core.log.entry import Entry, format_at
from cockpit.core.secrets import MissingSecret, get_secret
from cockpit.core.story import summary

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook

SCAN_BATCH = 500
DEFAULT_BACKFILL = timedelta(hours=1)


@dataclass(frozen=True)
class Target:
    label: str                       # "notify[0]": what people see
    id: str                          # digest of the URL: the key in the store
    url: str = field(repr=False)     # secret: never shown
    kinds: tuple[str, ...]

    def wants(self, kind: str) -> bool:
        return any(k == "*" or k == kind or (k.endswith(".") and kind.startswith(k)) for k in self.kinds)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed_attempts: int = 0
    gave_up: int = 0
    queued: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.failed_attempts == 0


def target_id(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def targets(runbook: Runbook, errors: list[str] | None = None) -> list[Target]:
    """The runbook's [[notify]] targets with their URLs; a missing secret is reported, not raised."""
    out = []
    for i, n in enumerate(runbook.notify):
        label = f"notify[{i}]"
        try:
            url = n.url if n.url is not None else get_secret(n.url_secret or "")
        except MissingSecret as e:
            if errors is not None:
                errors.append(f"{label}: {e}")
            continue
        out.append(Target(label, target_id(url), url, tuple(n.kinds)))
    return out


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s ... capped at 10 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 600))


def slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions (<!channel>): remote text stays text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def message(entry: Entry) -> dict[str, Any]:
    """Slack-compatible body: `text` for humans, `entry` for machines."""
    said = summary(entry, 2000, words=True)  # the sentence names who acted; capped at 3000 characters below
    text = f"[{entry.environment}] release {entry.release_id}: {said} (seq {entry.seq})"
    return {"text": slack_escape(text[:3000]),
            "entry": {"seq": entry.seq, "at": format_at(entry.at), "release_id": entry.release_id,
                      "environment": entry.environment, "kind": entry.kind, "actor": entry.actor.to_json(),
                      "payload": entry.payload, "hash": entry.hash}}


def _store(log: Any) -> Any:
    return log.store() if hasattr(log, "store") and callable(log.store) else log


def _redact(text: str, url: str) -> str:
    return text.replace(url, "<webhook>")[:300]


def deliver_pending(log: ReleaseLog, runbook: Runbook, *, now: Callable[[], datetime] | None = None,
                    timeout: float = 5.0, budget: float = 15.0, max_attempts: int = 8,
                    backfill: timedelta = DEFAULT_BACKFILL, client: Any = None) -> DeliveryReport:
    """Queue new matching entries and post those due. Never raises for a webhook or an unreachable
    log: the report says what happened. `budget` bounds the whole call (seconds)."""
    clock = now or (lambda: datetime.now(UTC))
    report = DeliveryReport()
    tgts = targets(runbook, report.errors)
    if not tgts:
        return report
    deadline = time.monotonic() + budget
    try:
        store = _store(log)
        for t in tgts:
            report.queued += _scan(store, t, clock(), backfill)
    except LogUnavailable as e:
        report.errors.append(f"release log unreachable: {e}")
        return report
    import httpx  # startup: httpx loads only when there is something to deliver

    own_client = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        for t in tgts:
            try:
                _post_due(store, t, http, clock, deadline, max_attempts, report)
            except LogUnavailable as e:
                report.errors.append(f"release log unreachable: {e}")
                break
        try:
            report.pending = sum(v.get("pending", 0) for k, v in store.outbox_backlog().items()
                                 if k in {t.id for t in tgts})
        except LogUnavailable:
            pass
    finally:
        if own_client:
            http.close()
    return report


def _scan(store: Any, t: Target, now: datetime, backfill: timedelta) -> int:
    cursor = store.outbox_cursor(t.id)
    first_scan = cursor is None
    after = cursor or 0
    queued = 0
    while True:
        batch: list[Entry] = store.page(after_seq=after, limit=SCAN_BATCH)
        if not batch:
            return queued
        # A webhook added to an old log is not flooded with its history: only the backfill window.
        seqs = [e.seq for e in batch if t.wants(e.kind) and not (first_scan and e.at < now - backfill)]
        store.outbox_enqueue(t.id, batch[-1].seq, seqs, now)
        queued += len(seqs)
        after = batch[-1].seq


def _post_due(store: Any, t: Target, http: Any, clock: Callable[[], datetime], deadline: float,
              max_attempts: int, report: DeliveryReport) -> None:
    for seq, attempts in store.outbox_due(t.id, clock()):
        if time.monotonic() >= deadline:
            return
        entry = store.entry(seq)
        if entry is None:
            continue
        error = ""
        try:
            r = http.post(t.url, json=message(entry), timeout=max(0.1, min(deadline - time.monotonic(), 30)))
            if not 200 <= r.status_code < 300:
                error = f"HTTP {r.status_code}"
        except Exception as e:  # timeouts, refused connections, TLS: all are "try again later"
            error = _redact(f"{type(e).__name__}: {e}", t.url)
        attempts += 1
        at = clock()
        if not error:
            store.outbox_record(t.id, seq, status="delivered", attempts=attempts, error="", next_attempt_at=at, now=at)
            report.delivered += 1
        else:
            gave_up = attempts >= max_attempts
            store.outbox_record(t.id, seq, status="failed" if gave_up else "pending", attempts=attempts,
                                error=error, next_attempt_at=at + backoff(attempts), now=at)
            report.failed_attempts += 1
            report.gave_up += int(gave_up)
            report.errors.append(f"{t.label}: seq {seq} attempt {attempts}: {error}")


class NotifyWorker:
    """Delivers in a background thread: `poke()` after an append, `stop()` at exit.

    The thread opens nothing itself: it calls deliver_pending with the log it was given (stores
    serialise their own connection use)."""

    def __init__(self, log: ReleaseLog, runbook: Runbook, *, interval: float = 5.0, **kwargs: Any):
        self._log, self._runbook, self._interval, self._kwargs = log, runbook, interval, kwargs
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.last_report: DeliveryReport | None = None
        self._thread = threading.Thread(target=self._run, name="cockpit-notify", daemon=True)

    def start(self) -> NotifyWorker:
        self._thread.start()
        return self

    def poke(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_report = deliver_pending(self._log, self._runbook, **self._kwargs)
            except Exception as e:  # a background helper must never die silently nor kill the cockpit
                self.last_report = DeliveryReport(errors=[f"notify: {type(e).__name__}: {e}"])
            self._wake.wait(self._interval)
            self._wake.clear()
