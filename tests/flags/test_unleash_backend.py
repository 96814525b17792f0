"""The `unleash` backend against a real unleash-server 8.2.0 (npm) on a fresh PostgreSQL database.

Only the change-request 403 runs against a scripted server: change requests are an Unleash
Enterprise feature that the open-source server cannot turn on. That server answers exactly as
unleash-server's PermissionError does (body shape and message taken from its source).
"""

from __future__ import annotations

import uuid

import pytest

from cockpit.core.flags.base import FlagAuthError, FlagError, FlagNotFound, FlagProtected
from cockpit.core.flags.flip import flip
from cockpit.core.flags.unleash import UnleashFlagBackend
from tests.flags.conftest import Scripted, recorder

pytestmark = pytest.mark.unleash


def _name() -> str:
    return f"cockpit.{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def prod(unleash_server):
    b = UnleashFlagBackend(unleash_server.url, unleash_server.admin_token, environment="production", timeout=10)
    yield b
    await b.aclose()


async def test_enable_disable_and_read_in_one_environment(unleash_server, prod):
    flag = _name()
    unleash_server.create_flag(flag)
    assert (await prod.get(flag)).enabled is False
    await prod.set(flag, True, reason="go", actor="alice")
    assert unleash_server.enabled(flag, "production") is True
    assert unleash_server.enabled(flag, "development") is False  # other environments untouched
    assert (await prod.get(flag)).enabled is True
    await prod.set(flag, False, reason="rollback", actor="alice")
    assert unleash_server.enabled(flag, "production") is False
    # a state set by someone else in Unleash is read as it is
    unleash_server.set_enabled(flag, "production", True)
    assert (await prod.get(flag)).enabled is True


async def test_list_reads_the_environment(unleash_server, prod):
    on, off = _name(), _name()
    unleash_server.create_flag(on)
    unleash_server.create_flag(off)
    unleash_server.set_enabled(on, "development", True)
    unleash_server.set_enabled(on, "production", True)
    unleash_server.set_enabled(off, "development", True)
    states = {s.name: s.enabled for s in await prod.list()}
    assert states[on] is True and states[off] is False


async def test_flip_logs_before_and_after(unleash_server, prod, actor, release_log):
    flag = _name()
    unleash_server.create_flag(flag)
    r = await flip(prod, flag, True, reason="layer 1", actor=actor, record=recorder(release_log, actor, "rel", "prod"), retries=1, backoff=0.01)
    assert r.ok and r.before is False and r.after is True and r.backend == "unleash"
    (e,) = list(release_log.entries())
    assert e.payload["flag"] == flag and e.payload["after"] is True and e.actor.name == "alice"


async def test_wrong_token_is_401(unleash_server):
    b = UnleashFlagBackend(unleash_server.url, "*:*.not-a-token", environment="production")
    with pytest.raises(FlagAuthError) as e:
        await b.get("anything")
    await b.aclose()
    assert e.value.status == 401 and "Unleash refused the token" in str(e.value)


async def test_backend_token_is_403(unleash_server):
    flag = _name()
    unleash_server.create_flag(flag)
    b = UnleashFlagBackend(unleash_server.url, unleash_server.create_token("backend"), environment="production")
    with pytest.raises(FlagAuthError) as e:
        await b.set(flag, True, reason="r", actor="a")
    await b.aclose()
    assert e.value.status == 403 and "admin API token" in str(e.value)
    assert not isinstance(e.value, FlagProtected)
    assert unleash_server.enabled(flag, "production") is False


async def test_unknown_flag_is_404(prod):
    with pytest.raises(FlagNotFound, match="no feature named"):
        await prod.get("cockpit.never-created")
    with pytest.raises(FlagNotFound):
        await prod.set("cockpit.never-created", True, reason="r", actor="a")


async def test_unknown_environment_is_clear(unleash_server):
    flag = _name()
    unleash_server.create_flag(flag)
    b = UnleashFlagBackend(unleash_server.url, unleash_server.admin_token, environment="staging")
    with pytest.raises(FlagError, match="no environment 'staging'"):
        await b.get(flag)
    with pytest.raises(FlagNotFound, match="staging"):
        await b.set(flag, True, reason="r", actor="a")
    await b.aclose()


# unleash-server 8.2.0, dist/lib/error/permission-error.js + unleash-error.js toJSON(), thrown by
# feature-toggle-service.js stopWhenChangeRequestsEnabled() as PermissionError(SKIP_CHANGE_REQUEST).
_CR_MESSAGE = ('You don\'t have the required permissions to perform this operation. To perform this action, '
               'you need the "SKIP_CHANGE_REQUEST" permission.')
_CR_BODY = {"id": "9d5b1b5e-7e55-4c8e-9c68-1b3c1f1f0a11", "name": "PermissionError", "message": _CR_MESSAGE,
            "details": [{"message": _CR_MESSAGE}], "permissions": ["SKIP_CHANGE_REQUEST"]}


async def test_change_request_403_says_what_to_do(script_server, actor, release_log):
    def answer(req):
        if req.method == "POST":
            return Scripted(403, _CR_BODY)
        return Scripted(200, {"name": "checkout.v2", "environments": [
            {"name": "development", "enabled": True}, {"name": "production", "enabled": False}]})

    srv = script_server(answer)
    b = UnleashFlagBackend(srv.url, "*:*.admin", environment="production")
    with pytest.raises(FlagProtected) as e:
        await b.set("checkout.v2", True, reason="r", actor="a")
    msg = str(e.value)
    assert "change request" in msg and "approved" in msg and "Nothing was changed" in msg
    assert "'production'" in msg
    post = [r for r in srv.requests if r.method == "POST"][0]
    assert post.path == "/api/admin/projects/default/features/checkout.v2/environments/production/on"
    assert post.headers["authorization"] == "*:*.admin"  # Unleash wants the bare token

    # Through flip: not retried (a protected environment does not change its mind), logged, state known.
    srv.requests.clear()
    r = await flip(b, "checkout.v2", True, reason="go", actor=actor, record=recorder(release_log, actor, "rel", "prod"), retries=3, backoff=0.01)
    await b.aclose()
    assert not r.ok and r.attempts == 1 and r.after is False
    assert len([x for x in srv.requests if x.method == "POST"]) == 1
    assert "change request" in r.error and "[flag is OFF]" in r.error
