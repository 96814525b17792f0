"""What a flag command imports before its first request to the flag service: a budget, held by running the
real command line in a child process that records sys.modules when it first connects to the flag API
(an audit hook on socket.connect). Start-up is most of a headless command, and in an incident it is the
wait between Enter and the first flag going off (tests/benchmarks/bench_headless.py times it).

The runbook comes from the validation cache when it was validated before (cockpit.runbook.validated);
the tests below also hold that cache to exactly what validation said.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.demo.scratch import Scratch, make_scratch
from cockpit.demo.target import DemoTarget
from cockpit.runbook import validated
from cockpit.runbook.config import ConfigError, load_runbook

CONFIG = Path(__file__).resolve().parents[2] / "config"

# Runs cockpit.cli.main (what the `cockpit` script runs) with argv[2:]; writes the names in sys.modules
# at the first connect to port argv[1] into the file COCKPIT_TEST_MODULES names.
CHILD = """
import os, sys
port, recorded = int(sys.argv[1]), []

def hook(event, args):
    if event == "socket.connect" and not recorded and isinstance(args[1], tuple) and args[1][1:2] == (port,):
        recorded.append(sorted(sys.modules))
        with open(os.environ["COCKPIT_TEST_MODULES"], "w") as f:
            f.write("\\n".join(recorded[0]))

sys.addaudithook(hook)
from cockpit.cli import main
sys.exit(main(sys.argv[2:]))
"""

NEVER_BEFORE_THE_FIRST_REQUEST = (
    "textual", "rich", "pygments", "click",   # the TUI's; httpx's command-line tool's
    "git",                                    # gitpython: a flip asks git nothing
    "psycopg",                                # the log here is SQLite
    "pydantic", "pydantic_core",              # the runbook was validated before: read from the cache
    "trio",                                   # httpcore's trio support; the cockpit runs on asyncio
    "cockpit.ui", "cockpit.runbook.config", "cockpit.core.rollback", "cockpit.core.log.postgres",
    "cockpit.core.opening",
)
"""Packages a flag command must not import before its first request."""

# How many modules a command may have loaded at its first request. Set from what each loaded on Python
# 3.11 with this project's dependencies, keyring pinned to keyrings.alt's file backend (flags kill 409,
# flags set 409, flags list 383; `python -c pass` has 105), plus 20: room for a small module, not for a
# package (textual alone adds about 100, validating with pydantic 75, gitpython 75).
MODULE_CAP = {"kill": 429, "set": 429, "list": 403}


def _env(scratch: Scratch, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    return env | {
        "COCKPIT_SECRET_DEMO_FLAGS": scratch.target.token, "COCKPIT_ACTOR": "budget",
        "XDG_CACHE_HOME": str(tmp / "cache"),        # the validation cache, this test's own
        "XDG_DATA_HOME": str(tmp / "data"),          # the file keyring: empty, so the token is the env's
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",  # a real backend, the same everywhere
        "COCKPIT_TEST_MODULES": str(tmp / "modules.txt"),
    }


def _command(name: str, scratch: Scratch) -> list[str]:
    config = ["--config", str(scratch.runbook_path)]
    return {"kill": ["flags", "kill", *config, "--stage", "layer-1", "--reason", "budget"],
            "set": ["flags", "set", "MARKETPLACE_AVAILABILITY_ENABLED", "on", *config, "--reason", "budget"],
            "list": ["flags", "list", *config]}[name]


def _modules_at_first_request(scratch: Scratch, tmp: Path, argv: list[str]) -> list[str]:
    env = _env(scratch, tmp)
    out = Path(env["COCKPIT_TEST_MODULES"])
    out.unlink(missing_ok=True)
    r = subprocess.run([sys.executable, "-c", CHILD, str(scratch.target.port), *argv], env=env,
                       cwd=scratch.checkout, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.exists(), "the command never connected to the flag API"
    return out.read_text().split()


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Scratch]:
    with DemoTarget() as target:
        yield make_scratch(tmp_path / "demo", target)


@pytest.mark.parametrize("command", ["kill", "set", "list"])
def test_a_flag_command_imports_within_its_budget(scratch: Scratch, tmp_path: Path, command: str) -> None:
    argv = _command(command, scratch)
    _modules_at_first_request(scratch, tmp_path, argv)  # validates the runbook: the next run reads the cache
    modules = _modules_at_first_request(scratch, tmp_path, argv)
    loaded = {m.split(".")[0] for m in modules} | set(modules)
    heavy = [m for m in NEVER_BEFORE_THE_FIRST_REQUEST if m in loaded]
    assert heavy == [], f"`cockpit {' '.join(argv[:2])}` imports {heavy} before its first request"
    packages = Counter(m.split(".")[0] for m in modules).most_common(12)
    assert len(modules) <= MODULE_CAP[command], (
        f"`cockpit {' '.join(argv[:2])}` loads {len(modules)} modules before its first request (budget "
        f"{MODULE_CAP[command]}); the most modules come from: {packages}")


def test_a_runbook_changed_since_it_was_validated_is_validated_again(scratch: Scratch, tmp_path: Path) -> None:
    """The cache only repeats validation's verdict on the same text: an edit is validated (pydantic, before
    any request) and, when it is wrong, refused by key and line with nothing flipped."""
    argv = _command("kill", scratch)
    _modules_at_first_request(scratch, tmp_path, argv)
    text = scratch.runbook_path.read_text(encoding="utf-8")
    scratch.runbook_path.write_text(text.replace('timeout = "5s"', 'timeout = "5s"\nretires = 3', 1),
                                    encoding="utf-8")
    scratch.target.flags.add("MARKETPLACE_AVAILABILITY_ENABLED", True)
    puts = len(scratch.target.flags.puts())
    r = subprocess.run([sys.executable, "-m", "cockpit", *argv], env=_env(scratch, tmp_path),
                       cwd=scratch.checkout, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    line = text[:text.index('timeout = "5s"')].count("\n") + 2
    assert "flags.retires" in r.stderr and f"line {line}" in r.stderr, r.stderr
    assert len(scratch.target.flags.puts()) == puts and scratch.target.flags.get("MARKETPLACE_AVAILABILITY_ENABLED")
    scratch.runbook_path.write_text(text, encoding="utf-8")  # the text validated before: read from the cache
    modules = _modules_at_first_request(scratch, tmp_path, argv)
    assert "pydantic" not in modules


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIG.glob("*.toml")))
def test_the_cached_runbook_is_the_validated_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / name
    path.write_text((CONFIG / name).read_text(encoding="utf-8"), encoding="utf-8")
    assert validated.recall(path) is None  # never validated here
    model = validated.load(path)
    copy = validated.recall(path)
    assert isinstance(copy, validated.RunbookCopy)
    _same(model, copy, "runbook")
    assert (copy.default_environment, copy.all_flags, copy.repo_path) == \
           (model.default_environment, model.all_flags, model.repo_path)
    assert [copy.stage_of(f) for f in model.all_flags] == [model.stage_of(f) for f in model.all_flags]
    assert [c.label for c in copy.checks] == [c.label for c in model.checks]
    with pytest.raises(AttributeError):
        copy.release = None  # read-only, as the model (frozen)


def _same(model: object, copy: object, where: str) -> None:
    """Every field of the model, at every depth, is in the copy: equal, of the same type."""
    fields = getattr(type(model), "model_fields", None)
    if fields is not None:
        assert isinstance(copy, validated.Frozen), where
        assert set(vars(copy)) == set(fields), where
        for name in fields:
            _same(getattr(model, name), getattr(copy, name), f"{where}.{name}")
    elif isinstance(model, dict):
        assert isinstance(copy, dict) and list(copy) == list(model), where
        for k in model:
            _same(model[k], copy[k], f"{where}[{k!r}]")
    elif isinstance(model, list):
        assert isinstance(copy, list) and len(copy) == len(model), where
        for i, (m, c) in enumerate(zip(model, copy, strict=True)):
            _same(m, c, f"{where}[{i}]")
    else:
        assert type(copy) is type(model) and copy == model, (where, model, copy)


def test_the_cache_is_read_only_while_text_place_and_code_are_unchanged(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = (CONFIG / "demo.toml").read_text(encoding="utf-8")
    first, second = tmp_path / "a" / "demo.toml", tmp_path / "b" / "demo.toml"
    for p in (first, second):
        p.parent.mkdir()
        p.write_text(text, encoding="utf-8")
    validated.load(first)
    assert validated.recall(first) is not None
    assert validated.recall(second) is None  # the same text elsewhere: its relative paths start elsewhere
    code = validated._code()
    monkeypatch.setattr(validated, "_code", lambda: code + "-changed")
    assert validated.recall(first) is None  # the validating code changed
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (entry,) = (tmp_path / "cache" / "release-cockpit" / "validated").glob("*.json")
    stored = json.loads(entry.read_text(encoding="utf-8"))
    entry.write_text(json.dumps({**stored, "runbook": ["m", "runbook", {"release": ["x"]}]}), encoding="utf-8")
    assert validated.recall(first) is None  # unreadable: validated again
    entry.write_text("{", encoding="utf-8")
    assert validated.recall(first) is None
    first.write_text(text + "\n[[stages]]\nid = 'x'\nflags = ['bad name']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        validated.load(first)
    assert "stages[3].flags[0]" in str(e.value) and "line" in str(e.value)
    assert validated.recall(first) is None  # a refused runbook is never written
    with pytest.raises(ConfigError):
        load_runbook(first)
