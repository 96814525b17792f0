"""The `http` backend (ARCHITECTURE §5) against the real demo target, and against a scripted loopback
server for answers the demo never gives (hangs, non-JSON, huge bodies, hostile text)."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from cockpit.core.flags.base import FlagAuthError, FlagError, FlagNotFound, FlagUnavailable
from cockpit.core.flags.flip import flip
from cockpit.core.flags.http import HttpFlagBackend
from cockpit.core.secrets import register_secret
from tests.flags.conftest import TOKEN, Scripted, recorder

FLAG = "MARKETPLACE_FEES_ENABLED"


@pytest.fixture
async def backend(demo):
    b = HttpFlagBackend(demo.flags_url, TOKEN, timeout=5)
    yield b
    await b.aclose()


async def test_list_get_set_against_the_demo(backend, demo):
    names = {s.name for s in await backend.list()}
    assert FLAG in names
    assert (await backend.get(FLAG)).enabled is False
    state = await backend.set(FLAG, True, reason="layer 2 go", actor="alice")
    assert state.enabled is True
    assert demo.flags.get(FLAG) is True
    put = demo.flags.puts()[-1]
    assert put["reason"] == "layer 2 go" and put["actor"] == "alice" and put["status"] == 200
    assert len(put["idempotency_key"]) == 36  # a uuid


async def test_wrong_token_is_401_auth_error(demo):
    b = HttpFlagBackend(demo.flags_url, "not-the-token")
    with pytest.raises(FlagAuthError) as e:
        await b.set(FLAG, True, reason="r", actor="a")
    await b.aclose()
    assert e.value.status == 401 and "refused the token" in str(e.value)
    assert demo.flags.get(FLAG) is False


async def test_read_only_token_is_403_auth_error(demo):
    b = HttpFlagBackend(demo.flags_url, demo.read_token)
    with pytest.raises(FlagAuthError) as e:
        await b.set(FLAG, True, reason="r", actor="a")
    await b.aclose()
    assert e.value.status == 403 and "may not do this" in str(e.value)


async def test_unknown_flag_is_404_not_found(backend):
    with pytest.raises(FlagNotFound) as e:
        await backend.get("NO_SUCH_FLAG")
    assert "NO_SUCH_FLAG" in str(e.value) and e.value.status == 404
    with pytest.raises(FlagNotFound):
        await backend.set("NO_SUCH_FLAG", True, reason="r", actor="a")


async def test_locked_flag_is_409_flag_error(backend, demo):
    demo.flags.locked.add(FLAG)
    with pytest.raises(FlagError) as e:
        await backend.set(FLAG, True, reason="r", actor="a")
    assert e.value.status == 409 and not e.value.retryable


async def test_5xx_is_retryable_unavailable(backend, demo):
    demo.fail_next(1, status=502)
    with pytest.raises(FlagUnavailable) as e:
        await backend.set(FLAG, True, reason="r", actor="a")
    assert e.value.retryable and e.value.status == 502


async def test_fails_twice_then_succeeds_with_one_idempotency_key(backend, demo, actor, release_log):
    demo.fail_next(2, status=503)
    r = await flip(backend, FLAG, True, reason="go", actor=actor, record=recorder(release_log, actor, "rel-1", "prod"), retries=3, backoff=0.01)
    assert r.ok and r.attempts == 3 and r.before is False and r.after is True
    puts = demo.flags.puts()
    assert [p["status"] for p in puts] == [503, 503, 200]
    assert len({p["idempotency_key"] for p in puts}) == 1  # the same key on every retry
    (entry,) = list(release_log.entries())
    assert entry.kind == "flag.flipped" and entry.payload["attempts"] == 3 and entry.payload["ok"] is True


async def test_retries_exhausted_says_which_state_the_flag_is_in(backend, demo, actor, release_log):
    demo.fail_next(10, status=503)
    r = await flip(backend, FLAG, True, reason="go", actor=actor, record=recorder(release_log, actor, "rel-1", "prod"), retries=2, backoff=0.01)
    assert not r.ok and r.attempts == 3 and r.after is False
    assert "HTTP 503" in r.error and "[flag is OFF]" in r.error
    (entry,) = list(release_log.entries())
    assert entry.payload["ok"] is False and entry.payload["after"] is False


async def test_timeout_is_unavailable(script_server):
    srv = script_server(lambda req: Scripted(200, {"name": "F", "enabled": True}, delay=5))
    b = HttpFlagBackend(srv.url, TOKEN, timeout=0.3)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(FlagUnavailable) as e:
        await b.get("F")
    await b.aclose()
    assert loop.time() - t0 < 2
    assert e.value.retryable and "did not answer in time" in str(e.value)


async def test_connection_refused_is_unavailable():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = HttpFlagBackend(f"http://127.0.0.1:{port}", TOKEN, timeout=2)
    with pytest.raises(FlagUnavailable, match="cannot reach the flag API"):
        await b.get("F")
    await b.aclose()


async def test_non_json_and_wrong_shapes_are_clear_errors(script_server):
    answers = {"/flags/html": Scripted(200, "<html>login page</html>"),
               "/flags/noenabled": Scripted(200, {"name": "noenabled", "enabled": "yes"}),
               "/flags": Scripted(200, {"items": []})}
    srv = script_server(lambda req: answers[req.path])
    b = HttpFlagBackend(srv.url, TOKEN)
    with pytest.raises(FlagError, match="not JSON: '<html>login page</html>'"):
        await b.get("html")
    with pytest.raises(FlagError, match="no boolean 'enabled'"):
        await b.get("noenabled")
    with pytest.raises(FlagError, match="no 'flags' list"):
        await b.list()
    await b.aclose()


async def test_huge_bodies_are_refused_without_reading_them(script_server):
    big = json.dumps({"name": "F", "enabled": True, "pad": "x" * 3_000_000}).encode()
    srv = script_server(lambda req: Scripted(200, big))
    b = HttpFlagBackend(srv.url, TOKEN)
    with pytest.raises(FlagError, match="not a flag answer") as e:
        await b.get("F")
    assert not isinstance(e.value, FlagUnavailable)
    await b.aclose()


async def test_hostile_error_text_is_kept_as_data_and_token_is_scrubbed(script_server):
    """A server that echoes the token and sends terminal escapes: neither reaches the message."""
    register_secret(TOKEN)
    srv = script_server(lambda req: Scripted(409, {"error": f"\x1b[2J\x1b]0;pwn\x07[bold red]conflict[/] token={TOKEN}"}))
    b = HttpFlagBackend(srv.url, TOKEN)
    with pytest.raises(FlagError) as e:
        await b.set("F", True, reason="r", actor="a")
    await b.aclose()
    msg = str(e.value)
    assert TOKEN not in msg and "\x1b" not in msg and "\x07" not in msg
    assert "[redacted]" in msg and "conflict" in msg
    assert srv.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in repr(b)


async def test_flag_names_are_url_quoted(script_server):
    srv = script_server(lambda req: Scripted(200, {"name": "x", "enabled": False}))
    b = HttpFlagBackend(srv.url + "/", TOKEN)
    await b.get("a/b?c=d#e")
    await b.aclose()
    assert srv.requests[0].path == "/flags/a%2Fb%3Fc%3Dd%23e"
