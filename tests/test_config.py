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


def test_a_misspelt_kind_is_named_not_only_the_missing_one() -> None:
    text = BASE + '\n[[checks]]\nid = "h"\nkidn = "http"\nurl = "{env.url}/health"\n'
    ps = problems(text)
    assert any("line 13" in p and "checks[0].kidn" in p and "did you mean 'kind'" in p for p in ps), ps
    assert any("checks[0].kind" in p and "missing" in p for p in ps), ps
    assert not any("checks[0].id:" in p or "checks[0].url:" in p for p in ps), ps  # real keys are left alone


def test_every_unknown_key_of_a_check_without_kind_is_named_through_the_loader(tmp_path: Path) -> None:
    text = BASE + '\n[[checks]]\nid = "h"\nkidn = "http"\nurll = "{env.url}/health"\nmax_age = "5m"\n'
    with pytest.raises(ConfigError) as e:
        load_runbook(write(tmp_path, text))
    ps = e.value.problems
    assert "line 13: checks[0].kidn: unknown key 'kidn' (did you mean 'kind'?)" in ps, ps
    assert "line 14: checks[0].urll: unknown key 'urll' (did you mean 'url'?)" in ps, ps
    assert any(p.startswith("line 11: checks[0].kind: required key is missing") for p in ps), ps
    assert not any("max_age" in p or ".id:" in p for p in ps), ps  # keys some kind accepts are left alone
    assert str(tmp_path / "runbook.toml") in str(e.value)


def test_an_unknown_key_beside_a_missing_one_is_taken_for_it() -> None:
    ps = problems(BASE.replace('name = "shop"', 'nmae = "shop"'))
    assert "line 2: release.nmae: unknown key 'nmae' (did you mean 'name'?)" in ps, ps
    assert "line 1: release.name: required key is missing" in ps, ps


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


# -- hostile numbers, nesting and placeholders: exit 2 naming key and line, never a traceback ------


def _check_cli(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    p = write(tmp_path, text)
    return subprocess.run([sys.executable, "-m", "cockpit", "config", "check", str(p)], capture_output=True,
                          text=True, timeout=60)


HTTP_CHECK = '\n[[checks]]\nid = "h"\nkind = "http"\nurl = "{env.url}/health"\n'


@pytest.mark.parametrize("value,why", [
    ("inf", "not a finite"), ("-inf", "not a finite"), ("nan", "not a finite"), ("1e300", "at most 365d"),
    ('"99999999999999d"', "at most 365d"), ('"1e300s"', "is not a duration"), ("9999999999999999999999", "at most"),
    ('"0s"', "must be positive"), ("0", "must be positive"), ('"0ms"', "must be positive"), ("-1", "negative"),
])
def test_a_timeout_that_is_not_a_usable_duration_is_refused(tmp_path: Path, value: str, why: str) -> None:
    text = BASE + HTTP_CHECK + f"timeout = {value}\n"
    r = _check_cli(tmp_path, text)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert f"line {len(text.splitlines())}: checks[0].timeout: " in r.stderr and why in r.stderr, r.stderr


@pytest.mark.parametrize("where", ["[flags]\nbackend = 'http'\nurl = 'http://x'\ntimeout = '0s'\n",
                                   "[rollback]\ntimeout = 0\n", "[release]\n"])
def test_every_timeout_and_the_lock_lease_must_be_positive(where: str) -> None:
    text = BASE.replace('name = "shop"', 'name = "shop"\nlock_lease = "0s"') if where == "[release]\n" \
        else BASE + "\n" + where
    (p,) = problems(text)
    assert "must be positive" in p and ("timeout" in p or "lock_lease" in p), p


def test_durations_that_stay_allowed() -> None:
    assert parse_duration("365d").days == 365 and parse_duration(0.25).total_seconds() == 0.25
    assert parse_duration("0s").total_seconds() == 0   # a zero max_age or monitor means "none"
    text = BASE + '\n[[stages]]\nid = "s"\nmonitor = "0s"\n' + HTTP_CHECK + 'max_age = "30d"\ntimeout = "500ms"\n'
    parse_runbook(text)


@pytest.mark.parametrize("depth", [40, 400, 5000])
def test_deeply_nested_tables_are_refused_with_key_and_line(tmp_path: Path, depth: int) -> None:
    nested = "{ a = " * depth + "1" + " }" * depth
    text = BASE + HTTP_CHECK + f"json = {nested}\n"
    r = _check_cli(tmp_path, text)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"line {len(text.splitlines())}: checks[0].json: " in r.stderr and "nested deeper than" in r.stderr


def test_deeply_nested_arrays_are_refused_too() -> None:
    text = BASE + '\n[environments.prod.vars]\nx = ' + "[" * 600 + "]" * 600 + "\n"
    (p,) = problems(text)
    assert "line 12: environments.prod.vars.x: " in p and "nested deeper than" in p


def test_nesting_a_runbook_needs_is_fine_and_brackets_in_strings_do_not_count() -> None:
    text = BASE + HTTP_CHECK + 'json = { "a.b" = { lt = 5 } }\nheaders = { X = "{{{{[[[[" }\n' \
        + "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n" + 'title = """' + "{" * 100 + '"""\n'
    parse_runbook(text)


@pytest.mark.parametrize("template,key", [
    ('url = "{env.nothere}/health"', "checks[0].url"),
    ('url = "{env.url}/x"\nheaders = { Region = "{env.zone}" }', "checks[0].headers.Region"),
])
def test_an_env_placeholder_the_environments_do_not_define_is_refused(tmp_path: Path, template: str,
                                                                      key: str) -> None:
    text = BASE + '\n[[checks]]\nid = "h"\nkind = "http"\n' + template + "\n"
    r = _check_cli(tmp_path, text)
    assert r.returncode == 2, r.stderr
    line = len(text.splitlines())
    assert f"line {line}: {key}: " in r.stderr and "not defined" in r.stderr and "[environments.prod" in r.stderr


def test_an_env_var_must_be_defined_in_every_environment() -> None:
    text = BASE + '\n[environments.staging]\nurl = "https://s"\n' \
                  '\n[[checks]]\nid = "h"\nkind = "http"\nurl = "{env.url}/{env.region}"\n'
    (p,) = problems(text)
    assert f"line {len(text.splitlines())}: checks[0].url: " in p and "{env.region}" in p and "[environments.staging.vars]" in p


def test_env_placeholders_that_exist_pass(tmp_path: Path) -> None:
    text = BASE + '\n[flags]\nbackend = "http"\nurl = "{env.url}/admin/{env.region}/{env.name}"\n' \
        + '\n[[checks]]\nid = "h"\nkind = "command"\nrun = "echo {env.region} {release.name}"\n' \
        + '\n[rollback]\ndeploy = "deploy {ref} {env.region}"\n'
    parse_runbook(text)
    r = _check_cli(tmp_path, text)
    assert r.returncode == 0, r.stderr
