"""No flag name or template can make the command backend run something else.

Templates are split into argv (shlex rules) before placeholders are filled in, and run without a
shell; flag names obey a strict grammar; a template that quotes a placeholder, or hands one to a
shell's -c script, is refused when the runbook is checked. Real subprocesses throughout: every
hostile attempt would create a marker file, and the marker never appears.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.core.flags.base import FlagError
from cockpit.core.flags.command import CommandFlagBackend
from cockpit.runbook.config import ConfigError, parse_runbook
from cockpit.runbook.placeholders import (PlaceholderError, check_command, command_argv, flag_name_problem,
                                          split_command)

ROOT = Path(__file__).resolve().parents[2]

# The safe way to write a shell pipeline: the script reads the flag from the environment.
SAFE_SET = "sh -c 'printf \"%s=%s\\n\" \"$COCKPIT_FLAG\" \"$COCKPIT_VALUE\" >> flags.env'"
SAFE_GET = "sh -c 'grep -F -- \"$COCKPIT_FLAG=\" flags.env | tail -n 1'"


def runbook_text(marker: Path, *, get: str = SAFE_GET, set: str = SAFE_SET, flag: str = "CART_ENABLED") -> str:  # noqa: A002
    def toml(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return f"""\
[release]
name = "shop"

[log]
path = "release-log.sqlite"

[environments.staging]
protected = false

[flags]
backend = "command"
get = {toml(get)}
set = {toml(set)}

[[stages]]
id = "cart"
flags = [{toml(flag.replace("MARKER", str(marker)))}]
"""


def cockpit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COCKPIT_ACTOR": "alice"})


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PWNED"


# -- the flag-name grammar ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["MARKETPLACE_AVAILABILITY_ENABLED", "FEATURE_FLAG_USE_SERVICE_LAYER_CART",
                                  "new-checkout.v2", "team:search", "a", "9lives", "x" * 200])
def test_the_names_flag_systems_use_are_accepted(name: str) -> None:
    assert flag_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "x$(touch PWNED)", "x`id`", "a b", "-rf", ".hidden", "_x", "a/b", "a;b",
                                  "a\nb", "name\n", "ümlaut", "x" * 201, "a'b", 'a"b', "a\x9bb", "\ud800"])
def test_other_names_are_refused_with_a_reason(name: str) -> None:
    problem = flag_name_problem(name)
    assert problem and ("letters, digits" in problem or "empty" in problem or "200" in problem)


def test_every_flag_name_of_the_example_runbooks_fits_the_grammar() -> None:
    from cockpit.runbook.config import load_runbook

    names = [f for p in sorted((ROOT / "config").glob("*.toml")) for f in load_runbook(p).all_flags]
    names += load_runbook(ROOT / "cockpit" / "demo" / "demo.toml").all_flags
    assert names and [n for n in names if flag_name_problem(n)] == []


# -- templates: argv first, then placeholders --------------------------------------------------


def test_split_follows_shlex_on_the_example_templates_and_on_random_text() -> None:
    from cockpit.runbook.config import load_runbook

    templates = [SAFE_GET, SAFE_SET, "kubectl set env deploy/api {flag}={value}", "a\\ b 'c d' \"e\\\"f\" ''"]
    for p in sorted((ROOT / "config").glob("*.toml")):
        rb = load_runbook(p)
        if rb.flags is not None:
            templates += [t for t in (rb.flags.get, rb.flags.set, rb.flags.list) if t]
    rng = random.Random(7)
    alphabet = "ab {}$|;'\"\\\n\t#"
    templates += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(3000)]
    for t in templates:
        try:
            want = shlex.split(t)
        except ValueError:
            with pytest.raises(PlaceholderError):
                split_command(t)
            continue
        assert ["".join(p.text for p in w) for w in split_command(t)] == want, t


def test_values_stay_one_argument_whatever_they_hold() -> None:
    hostile = "x $(touch PWNED); `id` | rm -rf / 'q' \"d\""
    argv = command_argv("printenv {flag} {value}=on", {"flag": hostile, "value": hostile})
    assert argv == ["printenv", hostile, hostile + "=on"]
    assert command_argv("cat 'lit{{eral}}' flags/{flag}", {"flag": "F"}) == ["cat", "lit{eral}", "flags/F"]


@pytest.mark.parametrize("template,why", [
    ("cat \"flags/{flag}\"", "inside quotes"),
    ("cat 'flags/{flag}'", "inside quotes"),
    ('sh -c "echo {flag}={value}"', "inside quotes"),
    ("sh -c echo{flag}", "script of sh -c"),
    ("kubectl exec deploy/api -- bash -ec printenv\\ {flag}", "script of bash -ec"),
    ("python3 -c 'print('{flag}')'", "script of python3 -c"),
    ("kubectl set env deploy/api {flag}={value} && kubectl rollout status deploy/api", "'&'"),
    ("kubectl get cm flags | grep {flag}", "'|'"),
    ("printenv $FLAG", "'$'"),
    ("echo {flag} > out", "'>'"),
    ("echo 'unterminated {flag}", "closing quotation"),
])
def test_templates_that_could_reopen_quoting_are_refused(template: str, why: str) -> None:
    with pytest.raises(PlaceholderError, match=re.escape(why)) as e:
        check_command(template)
    assert "COCKPIT_FLAG" in str(e.value) or "closing quotation" in why


@pytest.mark.parametrize("template", [
    SAFE_SET, SAFE_GET, "kubectl set env deploy/api {flag}={value}",
    "sh -c 'echo \"$1\"' sh {flag}",            # a positional parameter is data to the script
    "curl -fsS 'https://flags.example.com/api?x=1&name='{flag}",
    "kubectl exec deploy/api -c app -- printenv {flag}",
])
def test_safe_templates_are_accepted(template: str) -> None:
    check_command(template)


# -- the runbook check refuses them with key and line ------------------------------------------


def test_config_check_refuses_a_hostile_flag_name_with_key_and_line(tmp_path: Path, marker: Path) -> None:
    text = runbook_text(marker, flag="x$(touch MARKER)")
    (tmp_path / "rb.toml").write_text(text)
    r = cockpit(tmp_path, "config", "check", "rb.toml")
    assert r.returncode == 2, r.stderr
    assert f"line {line_of(text, 'flags = [')}: stages[0].flags[0]:" in r.stderr
    assert "letters, digits" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists()


@pytest.mark.parametrize("key,template", [("get", "cat \"flags/{flag}\""),
                                          ("set", 'sh -c "echo {flag}={value} >> flags.env"'),
                                          ("set", "sh -c echo\\ {flag}={value}>>flags.env")])
def test_config_check_refuses_a_template_that_quotes_a_placeholder(tmp_path: Path, marker: Path, key: str,
                                                                   template: str) -> None:
    text = runbook_text(marker, **{key: template})
    (tmp_path / "rb.toml").write_text(text)
    r = cockpit(tmp_path, "config", "check", "rb.toml")
    assert r.returncode == 2, r.stderr
    assert f"line {line_of(text, f'{key} = ')}: flags.{key}:" in r.stderr
    assert "$COCKPIT_FLAG" in r.stderr   # the suggestion: read it from the environment


def test_a_runbook_cannot_be_loaded_around_the_check() -> None:
    with pytest.raises(ConfigError, match="inside quotes"):
        parse_runbook(runbook_text(Path("/nonexistent"), get="cat \"flags/{flag}\""))


# -- the command line: `flags set NAME` --------------------------------------------------------


def test_flags_set_refuses_a_hostile_name_and_runs_nothing(tmp_path: Path, marker: Path) -> None:
    (tmp_path / "rb.toml").write_text(runbook_text(marker))
    (tmp_path / "flags.env").write_text("")
    for name in (f"x$(touch {marker})", f"x`touch {marker}`", f"x;touch {marker}"):
        r = cockpit(tmp_path, "flags", "set", name, "on", "--config", "rb.toml", "--env", "staging")
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        assert "flag name" in r.stderr and "letters, digits" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists()
    assert (tmp_path / "flags.env").read_text() == ""   # nothing was run
    assert not (tmp_path / "release-log.sqlite").exists()  # refused before the log was opened


def test_a_safe_template_still_flips_a_flag_end_to_end(tmp_path: Path, marker: Path) -> None:
    (tmp_path / "rb.toml").write_text(runbook_text(marker))
    (tmp_path / "flags.env").write_text("CART_ENABLED=false\n")
    r = cockpit(tmp_path, "flags", "set", "CART_ENABLED", "on", "--config", "rb.toml", "--env", "staging")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OFF → ON" in r.stdout
    assert (tmp_path / "flags.env").read_text().splitlines()[-1] == "CART_ENABLED=true"
    r = cockpit(tmp_path, "flags", "list", "--config", "rb.toml", "--env", "staging")
    assert r.returncode == 0 and r.stdout.split("\n")[1].split()[:2] == ["CART_ENABLED", "ON"]


# -- the backend itself: defence in depth ------------------------------------------------------


async def test_the_backend_refuses_an_unsafe_template_before_running_anything(tmp_path: Path, marker: Path) -> None:
    with pytest.raises(FlagError, match="inside quotes"):
        CommandFlagBackend(get=SAFE_GET, set=f'sh -c "echo {{flag}} >> {tmp_path}/flags.env"', cwd=tmp_path)
    b = CommandFlagBackend(get=SAFE_GET, set=SAFE_SET, cwd=tmp_path)
    with pytest.raises(FlagError, match="letters, digits"):
        await b.set(f"x$(touch {marker})", True, reason="r", actor="a")
    assert not marker.exists() and not (tmp_path / "flags.env").exists()


async def test_flag_and_value_reach_scripts_as_environment(tmp_path: Path) -> None:
    b = CommandFlagBackend(get=SAFE_GET, set=SAFE_SET, cwd=tmp_path, on_value="yes", off_value="no")
    await b.set("team:search.v2", True, reason="r", actor="a")
    assert (tmp_path / "flags.env").read_text() == "team:search.v2=yes\n"
    assert (await b.get("team:search.v2")).enabled is True


# -- seed 001's runbook still flips flags (a kubectl stand-in on PATH keeps the deployment's env) ---

FAKE_KUBECTL = """#!/usr/bin/env python3
import pathlib, sys
state = pathlib.Path(__file__).with_name("deployment.env")
lines = state.read_text().splitlines() if state.exists() else []
args = sys.argv[1:]
if args[:2] == ["rollout", "status"]:
    sys.exit(0)
assert args[:3] == ["set", "env", "deploy/designia-backend"], args
if args[3:] == ["--list"]:
    print("# deployment designia-backend, container web")
    print("\\n".join(lines))
    sys.exit(0)
for pair in args[3:]:
    name = pair.split("=", 1)[0]
    lines = [l for l in lines if l.split("=", 1)[0] != name] + [pair]
state.write_text("".join(l + "\\n" for l in lines))
"""


async def test_seed_001_runbook_flips_through_its_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.core.flags.factory import make_backend
    from cockpit.runbook.config import load_runbook

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    (bin_dir / "deployment.env").write_text("DJANGO_SETTINGS=prod\nFEATURE_FLAG_USE_SERVICE_LAYER_CART=false\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    rb = load_runbook(ROOT / "config" / "001-service-flags.toml")
    b = make_backend(rb, "staging")
    cart = "FEATURE_FLAG_USE_SERVICE_LAYER_CART"
    assert (await b.get(cart)).enabled is False
    await b.set(cart, True, reason="step 2.2", actor="alice")
    assert (await b.get(cart)).enabled is True
    assert f"{cart}=true" in (bin_dir / "deployment.env").read_text().splitlines()
    assert {s.name: s.enabled for s in await b.list()} == {cart: True}
