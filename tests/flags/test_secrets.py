"""Secrets: a real keyring backend (keyrings.alt file keyring, see the `file_keyring` fixture for why),
the CI env fallback, the `cockpit secrets` commands, and redaction."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cockpit.cli import main
from cockpit.core.secrets import (
    MissingSecret,
    delete_secret,
    env_name,
    get_secret,
    redact,
    redact_obj,
    register_secret,
    set_secret,
)

VALUE = "kr-value-9b7e1d3c5a"


def test_keyring_first_then_env(file_keyring, monkeypatch):
    monkeypatch.setenv("COCKPIT_SECRET_FLAGS_ADMIN", "from-env-123")
    assert get_secret("flags-admin") == "from-env-123"
    set_secret("flags-admin", VALUE)
    assert get_secret("flags-admin") == VALUE  # the keyring wins
    assert (file_keyring / "python_keyring").is_dir()  # it really went to the keyring file
    delete_secret("flags-admin")
    assert get_secret("flags-admin") == "from-env-123"


def test_missing_secret_names_it_and_says_what_to_do(file_keyring, monkeypatch):
    monkeypatch.delenv("COCKPIT_SECRET_RELEASE_LOG", raising=False)
    with pytest.raises(MissingSecret) as e:
        get_secret("release-log")
    assert e.value.name == "release-log"
    assert "cockpit secrets set release-log" in str(e.value) and "COCKPIT_SECRET_RELEASE_LOG" in str(e.value)
    with pytest.raises(MissingSecret):
        delete_secret("release-log")


def test_env_name():
    assert env_name("flags-admin") == "COCKPIT_SECRET_FLAGS_ADMIN"
    assert env_name("a.b c") == "COCKPIT_SECRET_A_B_C"


def test_redaction_scrubs_every_fetched_value(monkeypatch):
    monkeypatch.setenv("COCKPIT_SECRET_T1", "tok-abcdef-123456")
    value = get_secret("t1")
    assert redact(f"GET failed: Authorization: Bearer {value}!") == "GET failed: Authorization: Bearer [redacted]!"
    assert redact_obj({"error": value, "list": [value, 1, None], value: True}) == {
        "error": "[redacted]", "list": ["[redacted]", 1, None], "[redacted]": True}
    register_secret("abc")  # too short to scrub without mangling ordinary words
    assert redact("abc def") == "abc def"


def test_cli_set_from_stdin_and_delete_in_real_processes(file_keyring):
    env = {**os.environ}
    r = subprocess.run([sys.executable, "-m", "cockpit", "secrets", "set", "flags-admin"], input=VALUE + "\n",
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert VALUE not in r.stdout + r.stderr and "stored secret 'flags-admin'" in r.stdout
    r = subprocess.run([sys.executable, "-c", "from cockpit.core.secrets import get_secret as g; "
                        "print(g('flags-admin') == " + repr(VALUE) + ")"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.stdout.strip() == "True"
    assert VALUE not in " ".join(r.args[:2])  # the value never was an argument of `cockpit secrets set`
    r = subprocess.run([sys.executable, "-m", "cockpit", "secrets", "delete", "flags-admin"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0 and "deleted" in r.stdout
    r = subprocess.run([sys.executable, "-m", "cockpit", "secrets", "delete", "flags-admin"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 1 and "holds no secret 'flags-admin'" in r.stderr


def test_cli_set_refuses_empty_value(file_keyring, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["secrets", "set", "x-token"]) == 2
    assert "empty value" in capsys.readouterr().err


def test_cli_set_on_a_terminal_asks_twice_without_echo(file_keyring, monkeypatch, capsys):
    class Tty:
        def isatty(self) -> bool:
            return True

    answers = iter([VALUE, VALUE, VALUE, "typo"])
    prompts: list[str] = []
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert main(["secrets", "set", "flags-admin"]) == 0
    assert get_secret("flags-admin") == VALUE and len(prompts) == 2
    assert main(["secrets", "set", "flags-admin"]) == 2
    out, err = capsys.readouterr()
    assert "differ" in err and VALUE not in out + err


def test_no_keyring_backend_is_a_clear_error(monkeypatch, capsys):
    import io

    import keyring
    from keyring.backends.fail import Keyring as Fail

    previous = keyring.get_keyring()
    keyring.set_keyring(Fail())
    monkeypatch.setattr(sys, "stdin", io.StringIO(VALUE))
    try:
        code = main(["secrets", "set", "flags-admin"])
    finally:
        keyring.set_keyring(previous)
    out, err = capsys.readouterr()
    assert code == 1 and "no usable OS keyring" in err and "COCKPIT_SECRET_FLAGS_ADMIN" in err
    assert VALUE not in out + err
