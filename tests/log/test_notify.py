"""The log is the outbox: at-least-once webhooks with retries, state recorded, never blocking."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cockpit.runbook.config import Runbook, parse_runbook
from cockpit.core.log.notify import NotifyWorker, deliver_pending, message, targets
from cockpit.core.log.open import open_log
from tests.log.conftest import new
from tests.log.webhook import Webhook


def _runbook(tmp_path: Path, notify: str, dsn: str | None = None) -> Runbook:
    store = f'dsn = "{dsn}"' if dsn else 'path = ".deploy/log.sqlite"'
    return parse_runbook(f"""
[release]
name = "shop"
[log]
{store}
[environments.prod]
url = "http://127.0.0.1:1"
{notify}
""", tmp_path / "runbook.toml")


@pytest.fixture
def hook() -> Iterator[Webhook]:
    h = Webhook(fail_first=2)
    yield h
    h.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(tmp_path: Path, hook: Webhook, store: str,
                                                                   request: pytest.FixtureRequest) -> None:
    dsn = request.getfixturevalue("pg_dsn") if store == "postgres" else None
    rb = _runbook(tmp_path, f'[[notify]]\nurl = "{hook.url}"\nkinds = ["decision.go", "flag."]', dsn)
    log = open_log(rb)
    log.append(new("note"))  # not a notified kind
    go = log.append(new("decision.go", target_sha="abc123", text="<!channel> ship it & go"))
    clock = Clock()

    first = deliver_pending(log, rb, now=clock)
    assert (first.queued, first.delivered, first.failed_attempts, first.pending) == (1, 0, 1, 1)
    assert "HTTP 500" in first.errors[0] and hook.url not in " ".join(first.errors)
    again = deliver_pending(log, rb, now=clock)  # the backoff has not passed: nothing is posted
    assert (again.delivered, again.failed_attempts) == (0, 0) and len(hook.requests) == 1

    clock.now += timedelta(seconds=3)
    assert deliver_pending(log, rb, now=clock).failed_attempts == 1
    clock.now += timedelta(seconds=5)
    done = deliver_pending(log, rb, now=clock)
    assert (done.delivered, done.pending) == (1, 0)
    assert len(hook.requests) == 3 and all(r["entry"]["seq"] == go.seq for r in hook.requests)
    body = hook.requests[-1]
    assert body["text"].startswith("[prod] release shop-1: alice")
    assert "&lt;!channel&gt; ship it &amp; go" in body["text"]  # remote text cannot ping the channel
    assert body["entry"]["hash"] == go.hash
    clock.now += timedelta(hours=1)
    assert deliver_pending(log, rb, now=clock).delivered == 0  # delivered once, not again
    store_ = log.store()
    assert store_.outbox_backlog() == {}
    log.close()


def test_a_hanging_webhook_never_blocks(tmp_path: Path) -> None:
    hang = Webhook(hang=True)
    try:
        rb = _runbook(tmp_path, f'[[notify]]\nurl = "{hang.url}"\nkinds = ["*"]')
        log = open_log(rb)
        log.append(new())
        started = time.monotonic()
        report = deliver_pending(log, rb, timeout=0.5, budget=2)
        assert time.monotonic() - started < 3
        assert report.failed_attempts == 1 and "Timeout" in report.errors[0]
        assert log.store().outbox_backlog()[targets(rb)[0].id] == {"pending": 1, "failed": 0}
        log.close()
    finally:
        hang.close()


def test_gives_up_after_max_attempts_and_says_so(tmp_path: Path) -> None:
    down = Webhook(fail_first=100, status=503)
    try:
        rb = _runbook(tmp_path, f'[[notify]]\nurl = "{down.url}"\nkinds = ["note"]')
        log = open_log(rb)
        log.append(new())
        clock = Clock()
        for _ in range(3):
            report = deliver_pending(log, rb, now=clock, max_attempts=3)
            clock.now += timedelta(minutes=15)
        assert report.gave_up == 1 and len(down.requests) == 3
        assert log.store().outbox_backlog()[targets(rb)[0].id] == {"pending": 0, "failed": 1}
        log.close()
    finally:
        down.close()


def test_a_url_from_a_secret_is_used_and_never_shown(tmp_path: Path, hook: Webhook,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("COCKPIT_SECRET_SLACK_URL", hook.url)
    rb = _runbook(tmp_path, '[[notify]]\nurl_secret = "slack-url"\nkinds = ["note"]')
    log = open_log(rb)
    log.append(new())
    report = deliver_pending(log, rb)
    assert report.failed_attempts == 1 and hook.url not in repr(report) and hook.url not in repr(targets(rb))
    monkeypatch.delenv("COCKPIT_SECRET_SLACK_URL")
    missing = deliver_pending(log, rb)
    assert "slack-url" in missing.errors[0] and "is not set" in missing.errors[0]
    log.close()


def test_a_new_webhook_on_an_old_log_is_not_flooded_with_history(tmp_path: Path, hook: Webhook) -> None:
    from dataclasses import replace
    hook.fail_first = 0
    rb = _runbook(tmp_path, f'[[notify]]\nurl = "{hook.url}"\nkinds = ["note"]')
    log = open_log(rb)
    log.append(replace(new(text="last week"), at=datetime.now(UTC) - timedelta(days=7)))
    log.append(new(text="now"))
    assert deliver_pending(log, rb).delivered == 1
    assert [r["entry"]["payload"]["text"] for r in hook.requests] == ["now"]
    log.close()


def test_the_background_worker_delivers_after_a_poke(tmp_path: Path, hook: Webhook) -> None:
    hook.fail_first = 0
    rb = _runbook(tmp_path, f'[[notify]]\nurl = "{hook.url}"\nkinds = ["note"]')
    log = open_log(rb)
    worker = NotifyWorker(log, rb, interval=30).start()
    log.append(new())
    worker.poke()
    assert hook.received.wait(10)
    worker.stop()
    assert len(hook.requests) == 1
    log.close()


def test_message_is_slack_compatible() -> None:
    from cockpit.core.log.entry import seal
    e = seal(new("rollback.started", rollback_ref="v1.2", reason="error spike"), 7, "0" * 64)
    m = message(e)
    assert set(m) == {"text", "entry"} and "error spike" in m["text"] and m["entry"]["seq"] == 7


def test_message_says_what_the_entry_says_with_the_flag_states_in_words() -> None:
    from cockpit.core import kinds
    from cockpit.core.log.entry import seal
    e = seal(new(kinds.FLAG_FLIPPED, flag="CHECKOUT_V2", before=False, after=True, requested=True, ok=True,
                 reason="layer-1"), 3, "0" * 64)
    assert message(e)["text"].startswith("[prod] release shop-1: alice flipped CHECKOUT_V2 off → on")
    assert message(e)["text"].endswith("layer-1 (seq 3)")
