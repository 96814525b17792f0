"""The runbook loader: typed, strict, and errors that name the file, the key path and the line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from cockpit.runbook.config import ConfigError, load_runbook, parse_runbook
from cockpit.runbook.durations import format_duration, parse_duration
from cockpit.runbook.placeholders import PlaceholderError, expand
from cockpit.runbook.schema import json_schema

BASE = """\
[release]
name = "shop"

[log]
path = "log.sqlite"

[environments.prod]
url = "https://api.example.com"
vars = { region = "eu" }
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "runbook.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_runbook(text, "rb.toml")
    return e.value.problems


def test_minimal_runbook_loads_with_defaults(tmp_path: Path) -> None:
    rb = load_runbook(write(tmp_path, BASE))
    assert rb.release.main == "origin/main"
    assert rb.release.lock_lease == timedelta(minutes=30)
    assert rb.default_environment == "prod"
    assert rb.base_dir == tmp_path.resolve()
    assert rb.resolve_path("x/y") == tmp_path.resolve() / "x/y"


def test_unknown_key_is_named_with_its_line() -> None:
    text = BASE + '\n[[checks]]\nid = "h"\nkind = "http"\nurl = "{env.url}/health"\nexpect_stauts = 200\n'
    (p,) = problems(text)
    assert "line 15" in p and "checks[0].expect_stauts" in p and "unknown key" in p


def test_bad_duration_and_missing_key_each_named() -> None:
    text = BASE + '\n[[checks]]\nid = "a"\nkind = "file"\npath = "x"\nmax_age = "fifteen minutes"\n' \
                  '\n[[checks]]\nid = "b"\nkind = "smoke"\n'
    ps = problems(text)
    assert any("checks[0].max_age" in p and "line 15" in p and "'15m'" in p for p in ps), ps
    assert any("checks[1].source" in p and "required key is missing" in p for p in ps), ps


def test_toml_syntax_error_names_the_line() -> None:
    (p,) = problems(BASE + "\n[release\n")
    assert "not valid TOML" in p and "line 11" in p


def test_references_are_checked() -> None:
    text = BASE + '\n[[stages]]\nid = "layer-1"\nafter = ["layer-0"]\n'
    assert any("unknown stage 'layer-0'" in p for p in problems(text))
    text = BASE + '\n[[checks]]\nid = "a"\nkind = "manual"\nprompt = "ok"\nstage = "nope"\n'
    assert any("unknown stage 'nope'" in p for p in problems(text))
    text = BASE + '\n[rollback]\nverify = ["missing"]\n'
    assert any("unknown check 'missing'" in p for p in problems(text))
    text = BASE + '\n[[checks]]\nid = "a"\nkind = "manual"\nprompt = "x"\n\n[[checks]]\nid = "a"\nkind = "manual"\nprompt = "y"\n'
    assert any("repeated: a" in p for p in problems(text))


def test_stage_cycles_are_refused() -> None:
    text = BASE + '\n[[stages]]\nid = "a"\nafter = ["b"]\n\n[[stages]]\nid = "b"\nafter = ["a"]\n'
    assert any("cycle" in p for p in problems(text))


def test_exactly_one_log_store() -> None:
    text = BASE.replace('path = "log.sqlite"', 'path = "log.sqlite"\ndsn = "postgresql://x/y"')
    assert any("exactly one of [log] path" in p for p in problems(text))


def test_unknown_placeholder_is_refused_at_load() -> None:
    text = BASE + '\n[[checks]]\nid = "a"\nkind = "http"\nurl = "{env.url}/{nope}"\n'
    assert any("unknown placeholder {nope}" in p for p in problems(text))


def test_secrets_only_by_name() -> None:
    text = BASE + '\n[flags]\nbackend = "http"\nurl = "http://x"\ntoken = "s3cret"\n'
    (p,) = problems(text)
    assert "flags.token" in p and "unknown key" in p


def test_placeholders_expand_and_quote() -> None:
    values = {"env.url": "https://a", "flag": "X; rm -rf /", "value": "true"}
    assert expand("{env.url}/health", values) == "https://a/health"
    assert expand("set {flag}={value}", values, quote=True) == "set 'X; rm -rf /'=true"
    assert expand("{{literal}}", values) == "{literal}"
    with pytest.raises(PlaceholderError, match="rollback_ref"):
        expand("deploy {rollback_ref}", {"rollback_ref": None})


@pytest.mark.parametrize("text,seconds", [("500ms", 0.5), ("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), (90, 90)])
def test_durations(text: str | int, seconds: float) -> None:
    td = parse_duration(text)
    assert td.total_seconds() == seconds
    assert parse_duration(format_duration(td)) == td


@pytest.mark.parametrize("bad", ["15 minutes", "-3s", True, "m", ""])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_schema_is_json_and_documents_fields() -> None:
    schema = json.loads(json_schema())
    http = schema["$defs"]["HttpCheck"]
    assert http["additionalProperties"] is False
    assert "Latency budget" in http["properties"]["max_latency_ms"]["description"]
    assert "json" in http["properties"]  # the TOML spelling, not the Python attribute


def test_cli_config_check_exit_codes(tmp_path: Path) -> None:
    good = write(tmp_path, BASE)
    ok = subprocess.run([sys.executable, "-m", "cockpit", "config", "check", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace('name = "shop"', 'name = "shop"\nnmae = "x"'))
    r = subprocess.run([sys.executable, "-m", "cockpit", "config", "check", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "bad.toml: line 3: release.nmae: unknown key" in r.stderr
    missing = subprocess.run([sys.executable, "-m", "cockpit", "config", "check", str(tmp_path / "nope.toml")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "file not found" in missing.stderr
