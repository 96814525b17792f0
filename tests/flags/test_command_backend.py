"""The `command` backend with real commands: flags kept in an env file, as seed 001 keeps them
(`FEATURE_FLAG_...=true` + a restart), read and written by small scripts. Templates are argv; the ones
that need a shell say `sh -c` and read the flag from $COCKPIT_FLAG."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from cockpit.core.flags.base import FlagError, FlagUnavailable
from cockpit.core.flags.command import CommandFlagBackend, parse_bool
from cockpit.core.flags.flip import flip
from tests.flags.conftest import recorder

# set: replace or append NAME=VALUE in flags.env (the name and the value arrive as arguments of their own)
SET = ("python3 -c 'import sys,pathlib; p=pathlib.Path(\"flags.env\"); n,v=sys.argv[1],sys.argv[2]; "
       "ls=[l for l in (p.read_text().splitlines() if p.exists() else []) if l.split(\"=\",1)[0]!=n]; "
       "p.write_text(\"\".join(x+\"\\n\" for x in ls+[n+\"=\"+v]))' {flag} {value}")
GET = "sh -c 'grep -F -- \"$COCKPIT_FLAG=\" flags.env | tail -n 1'"
LIST = "cat flags.env"


@pytest.fixture
def envdir(tmp_path: Path) -> Path:
    (tmp_path / "flags.env").write_text("FEATURE_FLAG_USE_SERVICE_LAYER_CART=false\n")
    return tmp_path


def make(envdir: Path, **kw) -> CommandFlagBackend:
    return CommandFlagBackend(kw.pop("get", GET), kw.pop("set", SET), kw.pop("list", LIST), cwd=envdir,
                              timeout=kw.pop("timeout", 5), **kw)


async def test_set_get_list_through_real_commands(envdir):
    b = make(envdir)
    assert (await b.get("FEATURE_FLAG_USE_SERVICE_LAYER_CART")).enabled is False
    await b.set("FEATURE_FLAG_USE_SERVICE_LAYER_CART", True, reason="cart", actor="bob")
    assert "FEATURE_FLAG_USE_SERVICE_LAYER_CART=true" in (envdir / "flags.env").read_text()
    assert (await b.get("FEATURE_FLAG_USE_SERVICE_LAYER_CART")).enabled is True
    await b.set("FEATURE_FLAG_USE_SERVICE_LAYER_ORDERS", False, reason="x", actor="bob")
    assert {s.name: s.enabled for s in await b.list()} == {
        "FEATURE_FLAG_USE_SERVICE_LAYER_CART": True, "FEATURE_FLAG_USE_SERVICE_LAYER_ORDERS": False}


async def test_custom_on_off_values(envdir):
    b = make(envdir, on_value="enabled-yes", off_value="disabled-no")
    await b.set("F", True, reason="r", actor="a")
    assert "F=enabled-yes" in (envdir / "flags.env").read_text()
    assert (await b.get("F")).enabled is True


@pytest.mark.parametrize("name", [
    "x $(touch PWNED)",
    "x`touch PWNED`",
    "x'; touch PWNED; echo '",
    'x"; touch PWNED; echo "',
    "x && touch PWNED",
    "x | touch PWNED",
])
async def test_flag_names_cannot_inject(envdir, name):
    b = make(envdir)
    with pytest.raises(FlagError, match="letters, digits"):
        await b.set(name, True, reason="r", actor="a")
    with pytest.raises(FlagError, match="letters, digits"):
        await b.get(name)
    assert not (envdir / "PWNED").exists()
    assert (envdir / "flags.env").read_text() == "FEATURE_FLAG_USE_SERVICE_LAYER_CART=false\n"


async def test_a_value_is_one_argument_whatever_it_holds(envdir):
    hostile = "on $(touch PWNED); `touch PWNED` 'x' \"y\""
    b = make(envdir, on_value=hostile)
    await b.set("F", True, reason="r", actor="a")
    assert not (envdir / "PWNED").exists()
    assert f"F={hostile}" in (envdir / "flags.env").read_text().splitlines()


@pytest.mark.parametrize("name,why", [("", "empty"), ("-rf", "letters, digits"), ("a\nb", "letters, digits"),
                                      ("x" * 201, "at most 200")])
async def test_invalid_flag_names_are_refused_before_running(envdir, name, why):
    b = make(envdir, set="touch RAN")
    with pytest.raises(FlagError, match=why):
        await b.set(name, True, reason="r", actor="a")
    assert not (envdir / "RAN").exists()


async def test_reason_actor_and_token_reach_the_command_as_environment(envdir):
    b = make(envdir, set="""sh -c 'printf "%s|%s|%s" "$COCKPIT_FLAG_REASON" "$COCKPIT_ACTOR" "$COCKPIT_FLAG_TOKEN" > seen'""",
             token="tok-123456")
    await b.set("F", True, reason="it's $(rm -rf /) time", actor="carol")
    assert (envdir / "seen").read_text() == "it's $(rm -rf /) time|carol|tok-123456"


async def test_timeout_kills_the_whole_process_group(envdir):
    # The command starts a grandchild that would outlive a plain kill of the shell.
    b = make(envdir, get="sh -c 'sleep 30 & echo $! > child.pid; wait'", timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(FlagUnavailable, match="did not finish within 0.5s") as e:
        await b.get("F")
    assert time.monotonic() - t0 < 3 and e.value.retryable
    pid = int((envdir / "child.pid").read_text())
    for _ in range(100):  # the kernel reaps the killed child asynchronously; wait for the event, bounded
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if _is_zombie(pid):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail(f"child {pid} survived the timeout")


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


async def test_failing_command_says_why(envdir):
    b = make(envdir, set="sh -c 'echo error: deployments.apps \\\"api\\\" not found >&2; exit 3'")
    with pytest.raises(FlagError, match=r'exited with 3: error: deployments.apps "api" not found'):
        await b.set("F", True, reason="r", actor="a")


async def test_unreadable_output_is_a_clear_error(envdir):
    b = make(envdir, get="echo maybe")
    with pytest.raises(FlagError, match="printed 'maybe', which is neither on"):
        await b.get("F")


def test_lenient_parsing():
    for text in ("true", "TRUE\n", "1", "on", "yes", "F=true", "export F='true'", "warning\nEnabled\n", '"on"'):
        assert parse_bool(text) is True, text
    for text in ("false", "0", "off", "No", "F=false", "F=0\n\n"):
        assert parse_bool(text) is False, text
    for text in ("", "\n", "maybe", "F="):
        assert parse_bool(text) is None, text
    assert parse_bool("ja", on_value="ja", off_value="nein") is True


async def test_flip_with_commands_is_logged(envdir, actor, release_log):
    b = make(envdir)
    r = await flip(b, "FEATURE_FLAG_USE_SERVICE_LAYER_CART", True, reason="cart on", actor=actor,
                   record=recorder(release_log, actor, "rel", "prod"))
    assert r.ok and r.before is False and r.after is True and r.backend == "command"
    (e,) = list(release_log.entries())
    assert e.payload["reason"] == "cart on"
