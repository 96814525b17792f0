"""Flips, the kill switch, snapshots and their restore, against the demo target and a real SQLite log."""

from __future__ import annotations

import asyncio

import pytest

from cockpit.core.flags.flip import diff, flip, kill_switch, restore_snapshot, snapshot, snapshot_payload
from cockpit.core.flags.http import HttpFlagBackend
from tests.flags.conftest import TOKEN, Scripted, recorder

L1, L2, L3 = "MARKETPLACE_AVAILABILITY_ENABLED", "MARKETPLACE_REQUESTS_ENABLED", "MARKETPLACE_FEES_ENABLED"
ALL = [L1, L2, L3, "FEATURE_FLAG_USE_SERVICE_LAYER_CART"]


@pytest.fixture
async def backend(demo):
    b = HttpFlagBackend(demo.flags_url, TOKEN, timeout=5)
    yield b
    await b.aclose()


def _kw(actor, log, **extra):
    return dict(reason="incident 42", actor=actor, record=recorder(log, actor) if log is not None else None,
                backoff=0.01, **extra)


async def test_flip_entry_records_everything(backend, demo, actor, release_log):
    r = await flip(backend, L1, True, break_glass=True, stage="layer-1", **_kw(actor, release_log))
    assert r.ok and r.logged and r.entry_seq is not None
    (e,) = list(release_log.entries())
    assert e.kind == "flag.flipped" and e.actor == actor
    assert e.release_id == "shop-prod-abc1234" and e.environment == "prod"
    assert e.payload == {"flag": L1, "before": False, "after": True, "requested": True, "backend": "http",
                         "reason": "incident 42", "break_glass": True, "ok": True, "error": None,
                         "attempts": 1, "stage": "layer-1"}
    assert release_log.verify().ok


async def test_flip_to_the_state_it_already_has_is_ok(backend, actor, release_log):
    r = await flip(backend, L1, False, **_kw(actor, release_log))
    assert r.ok and r.before is False and r.after is False and "already was" in r.summary()


async def test_unknown_flag_fails_without_a_set(backend, demo, actor, release_log):
    r = await flip(backend, "NOPE", True, **_kw(actor, release_log))
    assert not r.ok and r.attempts == 0 and "does not exist" in r.error
    assert demo.flags.puts() == []
    assert list(release_log.entries())[0].payload["ok"] is False


async def test_flag_service_that_lies_is_caught_by_the_read_back(script_server, actor, release_log):
    """PUT says 200 enabled, but the flag reads back OFF: the flip is not ok and says so."""
    srv = script_server(lambda req: Scripted(200, {"name": "F", "enabled": req.method == "PUT"}))
    b = HttpFlagBackend(srv.url, TOKEN)
    r = await flip(b, "F", True, **_kw(actor, release_log))
    await b.aclose()
    assert not r.ok and r.after is False and "reads back OFF" in r.error


async def test_answer_lost_but_change_applied_counts_by_the_read_back(backend, demo, actor, release_log):
    # Every PUT fails, yet the flag is ON (another operator, or a PUT applied whose answer was lost):
    # the flip's goal is met, the read-back proves it, and the set's error is kept as a note.
    demo.fail_next(10, status=503)
    demo.flags.add(L2, True)
    r = await flip(backend, L2, True, retries=1, **_kw(actor, release_log))
    assert r.ok and r.after is True and r.note and "reads back ON" in r.note


async def test_kill_switch_turns_all_off_concurrently_and_reports_each(backend, demo, actor, release_log):
    for f in ALL:
        demo.flags.add(f, True)
    demo.flags.locked.add(L2)  # this one answers 409: not retryable, stays ON
    demo.flags.delay = 0.2     # every request takes 200 ms
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await kill_switch(backend, ALL + [L1], **_kw(actor, release_log))  # duplicates collapse
    elapsed = loop.time() - t0
    assert [r.flag for r in result.results] == ALL
    assert not result.ok and [r.flag for r in result.failed] == [L2]
    bad = result.failed[0]
    assert bad.after is True and "HTTP 409" in bad.error and "[flag is ON]" in bad.error
    assert all(demo.flags.get(f) is False for f in ALL if f != L2) and demo.flags.get(L2) is True
    # 3 sequential requests per flip (read, set, read) at 200 ms; 4 flags one after another would take 2.4 s
    assert elapsed < 1.2, elapsed
    entries = list(release_log.entries())
    assert sorted(e.payload["flag"] for e in entries) == sorted(ALL)
    assert "1 of 4 flips FAILED" in result.summary() and f"{L2}: FAILED to turn OFF; it is ON" in result.summary()


async def test_kill_switch_with_the_flag_api_down_says_unknown(actor, release_log):
    b = HttpFlagBackend("http://127.0.0.1:9", TOKEN, timeout=1)  # discard port: nothing listens
    result = await kill_switch(b, [L1, L2], retries=1, **_kw(actor, release_log))
    await b.aclose()
    assert not result.ok and len(result.failed) == 2
    for r in result.results:
        assert r.after is None and "[flag is unknown (could not read it back)]" in r.error
    assert len(list(release_log.entries())) == 2


async def test_snapshot_diff_restore(backend, demo, actor, release_log):
    demo.flags.add(L1, True)
    snap = await snapshot(backend, [L1, L2, "NOPE"])
    assert snap == {L1: True, L2: False, "NOPE": None}
    assert snapshot_payload(snap) == {"flags": {L1: True, L2: False, "NOPE": None}}
    assert [c.flag for c in diff(snap, await snapshot(backend, [L1, L2, "NOPE"]))] == ["NOPE"]  # unknown stays shown

    demo.flags.add(L1, False)   # changed since the snapshot
    demo.flags.add(L2, True)
    changes = diff(snap, await snapshot(backend, [L1, L2]))
    assert [(c.flag, c.was, c.now) for c in changes] == [(L1, True, False), (L2, False, True), ("NOPE", None, None)]
    assert changes[0].text() == f"{L1}: ON at GO → OFF now"

    restored = await restore_snapshot(backend, snap, **_kw(actor, release_log))
    assert restored.ok and {r.flag for r in restored.results} == {L1, L2}  # NOPE has no state to restore
    assert demo.flags.get(L1) is True and demo.flags.get(L2) is False
    again = await restore_snapshot(backend, snap, **_kw(actor, release_log))
    assert again.results == []  # nothing differs: nothing flipped, nothing logged
    assert len(list(release_log.entries())) == 2


async def test_a_log_that_fails_does_not_hide_the_outcome(backend, actor):
    class BrokenLog:
        def append(self, entry):
            raise OSError("disk full")

    r = await flip(backend, L1, True, **_kw(actor, BrokenLog()))
    assert r.ok and not r.logged and "disk full" in r.log_error


async def test_secrets_never_reach_log_entries_or_results(script_server, actor, release_log):
    from cockpit.core.secrets import register_secret

    register_secret(TOKEN)
    srv = script_server(lambda req: Scripted(500, {"message": f"upstream said Authorization: Bearer {TOKEN}"}))
    b = HttpFlagBackend(srv.url, TOKEN)
    result = await kill_switch(b, [L1, L2], retries=1, **_kw(actor, release_log))
    await b.aclose()
    assert not result.ok
    assert TOKEN not in repr(result) and TOKEN not in result.summary() and TOKEN not in str(result.to_json())
    for e in release_log.entries():
        assert TOKEN not in str(e.to_json())
        assert "[redacted]" in e.payload["error"]


async def test_kill_switch_reads_with_one_listing_before_and_after(script_server, actor, release_log):
    """20 flags: one GET /flags, 20 PUTs, one GET /flags — not 60 requests to a struggling service."""
    import json as _json

    state = {f"F{i}": True for i in range(20)}

    def answer(req):
        if req.method == "GET" and req.path == "/flags":
            return Scripted(200, {"flags": [{"name": n, "enabled": v} for n, v in state.items()]})
        name = req.path.rsplit("/", 1)[1]
        if req.method == "PUT":
            state[name] = _json.loads(req.body)["enabled"]
        return Scripted(200, {"name": name, "enabled": state[name]})

    srv = script_server(answer)
    b = HttpFlagBackend(srv.url, TOKEN)
    result = await kill_switch(b, list(state), **_kw(actor, release_log))
    await b.aclose()
    assert result.ok and not any(state.values())
    assert all(r.before is True and r.after is False for r in result.results)
    calls = [(r.method, r.path) for r in srv.requests]
    assert calls.count(("GET", "/flags")) == 2 and len(calls) == 22


def test_make_backend_from_the_runbook(monkeypatch, tmp_path):
    from cockpit.runbook.config import parse_runbook
    from cockpit.core.flags.factory import make_backend
    from cockpit.core.flags.unleash import UnleashFlagBackend
    from cockpit.core.secrets import MissingSecret

    rb = parse_runbook("""
[release]
name = "shop"
[log]
path = "log.sqlite"
[environments.prod]
url = "https://shop.example"
flag_environment = "production"
[environments.stage]
url = "https://stage.shop.example"
[flags]
backend = "unleash"
url = "{env.url}/unleash"
token_secret = "unleash-admin"
project = "shop"
environment = "development"
""", tmp_path / "rb.toml")
    monkeypatch.delenv("COCKPIT_SECRET_UNLEASH_ADMIN", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring
    from keyring.backends.null import Keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(Keyring())
    try:
        with pytest.raises(MissingSecret, match="unleash-admin"):
            make_backend(rb, "prod")
    finally:
        keyring.set_keyring(previous)
    monkeypatch.setenv("COCKPIT_SECRET_UNLEASH_ADMIN", "*:*.admin-token-1")
    prod, stage = make_backend(rb, "prod"), make_backend(rb, "stage")
    assert isinstance(prod, UnleashFlagBackend)
    assert (prod.environment, stage.environment) == ("production", "development")
    assert prod.url == "https://shop.example/unleash" and prod.project == "shop"
    assert "admin-token-1" not in repr(prod)
