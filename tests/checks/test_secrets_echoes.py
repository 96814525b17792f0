"""A secret that comes back transformed is still a secret: base64 (standard, URL-safe, padded or
not, inside a longer blob), percent-encoded, upper- or lower-cased, JSON-escaped, or split by
whitespace. Each echo is masked in a flip's error, in a check's evidence (detail and excerpt), and
never reaches the release log or a command's output — against real servers on loopback, the real
flag backend and check, real SQLite/PostgreSQL logs and the real CLI in a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from cockpit.core.checks import take
from cockpit.core.flags.flip import flip
from cockpit.core.flags.http import HttpFlagBackend
from cockpit.core.log.entry import Actor
from cockpit.core.secrets import MASK, redact, register_secret
from tests.checks.conftest import make_check
from tests.flags.conftest import Scripted, actor, recorder, release_log, script_server  # noqa: F401 (fixtures)

SECRET = "Zq7/tok+en\"x-ü-9f8e7d6c"
"""Holds what each encoding changes: / and + (base64 alphabets, percent), " (JSON), ü (non-ASCII)."""
PLAIN = "sk-live-4f9a8b7c6d5e4f3a2b1c"
"""An ordinary API token."""
HEADER_TOKEN = "Hdr/tok+en\"q-8e7d6c5b4a"
"""What a header can carry (ASCII), with what base64, percent and JSON change."""


def b64(raw: bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    out = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return out if pad else out.rstrip("=")


def echoes(secret: str) -> dict[str, str]:
    raw = secret.encode()
    basic = b64(b"deploy-bot:" + raw)            # Authorization: Basic, the secret not on a 3-byte boundary
    return {
        "plain": secret,
        "upper": secret.upper(),
        "lower": secret.lower(),
        "b64": b64(raw),
        "b64-nopad": b64(raw, pad=False),
        "b64url": b64(raw, urlsafe=True),
        "b64url-nopad": b64(raw, urlsafe=True, pad=False),
        "b64-in-basic-auth": basic,
        "b64-of-secret-newline": b64(raw + b"\n"),   # `echo $TOKEN | base64`
        "b64-wrapped": b64(raw)[:10] + "\r\n" + b64(raw)[10:],
        "percent": quote(secret, safe=""),
        "percent-lower": quote(secret, safe="").lower(),
        "percent-plus": quote_plus(secret),
        "percent-every-byte": "".join(f"%{b:02X}" for b in raw),
        "json": json.dumps(secret)[1:-1],
        "json-ascii": json.dumps(secret, ensure_ascii=True)[1:-1],
        "json-slash": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "space": secret[:6] + " " + secret[6:],
        "newline": secret[:9] + "\n  " + secret[9:],
    }


def leaks(text: str, secret: str) -> list[str]:
    """The echoes of `secret` found in `text`, also once whitespace is collapsed or dropped (as one-line
    messages do). A masked base64 blob may keep an edge character or two, which carry no more than a
    few bits: a leak is an echo's middle."""
    squeezed, joined = " ".join(text.split()), "".join(text.split())
    found = []
    for name, echo in echoes(secret).items():
        core = echo.strip("=")
        core = core[2:-2] if name.startswith("b64") else core
        if core in text or " ".join(core.split()) in squeezed or "".join(core.split()) in joined:
            found.append(name)
    return found


def strings(value: object) -> str:
    """Every string of a JSON-like value (keys too), one per line."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(strings(k) + "\n" + strings(v) for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(strings(v) for v in value)
    return ""


@pytest.fixture(autouse=True)
def loaded() -> None:
    for secret in (SECRET, PLAIN, HEADER_TOKEN):
        register_secret(secret)


@pytest.mark.parametrize("secret", [SECRET, PLAIN], ids=["awkward", "plain"])
@pytest.mark.parametrize("name", list(echoes(SECRET)))
def test_each_transformed_echo_is_masked(secret: str, name: str) -> None:
    echo = echoes(secret)[name]
    out = redact(f"the server said: <{echo}> and nothing more")
    assert MASK in out and leaks(out, secret) == [], out
    assert out.startswith("the server said: <") and out.endswith("> and nothing more")


def test_what_is_not_a_secret_is_left_alone() -> None:
    text = ("sha 6f1c2a9e3b7d, base64 " + b64(b"an ordinary payload of bytes") + ", path /api/v1/flags, "
            "sk-live, " + quote("a/b c") + " Zq7 tok en")
    assert redact(text) == text


def test_redaction_is_precomputed_and_fast() -> None:
    for i in range(20):
        register_secret(f"extra-secret-{i:02d}-{'k' * i}x9")
    body = ("{\"status\": \"degraded\", \"checks\": [" + ", ".join(f"{{\"name\": \"svc-{i}\", \"ok\": true}}"
                                                                     for i in range(120)) + "]}")[:4096]
    start = time.perf_counter()
    for _ in range(200):
        assert redact(body) == body
    per_call_ms = (time.perf_counter() - start) / 200 * 1000
    assert per_call_ms < 2, f"{per_call_ms:.2f} ms per 4 KB payload"


# -- a check's evidence ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["b64", "b64url-nopad", "b64-in-basic-auth", "percent", "upper", "json", "space"])
async def test_an_echo_in_a_check_body_is_masked_in_detail_and_excerpt(server, make_ctx, name: str) -> None:
    echo = echoes(SECRET)[name]
    url = server.route("/health", json={"status": echo, "seen_headers": {"authorization": f"Bearer {echo}"}})
    check = make_check(kind="http", url=url, json={"status": "ok"})
    ev = await take(check, make_ctx())
    assert ev.status.value == "fail"
    assert MASK in ev.detail and MASK in ev.excerpt
    assert leaks(ev.detail, SECRET) == [] and leaks(ev.excerpt, SECRET) == []
    assert leaks(json.dumps(ev.to_json(), ensure_ascii=False), SECRET) == []


def test_cockpit_check_never_prints_or_logs_an_echo(tmp_path: Path, pg_dsn: str, repo) -> None:  # noqa: ANN001
    """The log's password is a loaded secret; a health endpoint that echoes it, transformed, fails the
    check — the evidence reaches stdout and the shared log masked."""
    from tests.helpers.httpserver import LoopbackServer

    password = "pg-Pa55/w0rd+for-the-log"
    with LoopbackServer() as srv:
        body = {"status": "down", "echo": [e for n, e in echoes(password).items() if n in
                                           ("b64", "b64url-nopad", "percent", "upper", "json", "space")]}
        url = srv.route("/health", json=body)
        (tmp_path / "rb.toml").write_text(f"""
[release]
name = "shop"
repo = "{repo.path}"
[log]
dsn = "{pg_dsn}"
password_secret = "log-password"
[environments.prod]
url = "http://127.0.0.1:1"
[[checks]]
id = "health"
kind = "http"
url = "{url}"
json = {{ status = "ok" }}
""")
        env = {**os.environ, "COCKPIT_SECRET_LOG_PASSWORD": password, "COCKPIT_ACTOR": "ci"}
        for extra in ([], ["--json"]):
            r = subprocess.run([sys.executable, "-m", "cockpit", "check", "--config", str(tmp_path / "rb.toml"),
                                *extra], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
            assert r.returncode == 1, r.stdout + r.stderr
            assert leaks(r.stdout + r.stderr, password) == [], r.stdout
    import psycopg

    with psycopg.connect(pg_dsn) as conn:
        payloads = [p for (p,) in conn.execute("SELECT payload FROM log_entries ORDER BY seq")]
    logged = strings(payloads)
    assert "evidence" in logged and MASK in logged and leaks(logged, password) == []


# -- a flip's error --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 409, 500])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
async def test_an_echo_in_a_flag_api_error_is_masked_in_the_error_and_the_log(
        script_server, release_log, actor: Actor, status: int, as_json: bool) -> None:
    body_echoes = [e for n, e in echoes(HEADER_TOKEN).items() if n != "plain"]

    def answer(req):  # noqa: ANN001, ANN202
        text = "bad token; you sent " + " | ".join(body_echoes)
        return Scripted(status=status, body={"error": text} if as_json else text)

    srv = script_server(answer)
    backend = HttpFlagBackend(srv.url, HEADER_TOKEN, timeout=5)
    try:
        result = await flip(backend, "CART", True, reason="cart on", actor=actor,
                            record=recorder(release_log, actor, "rel", "prod"))
    finally:
        await backend.aclose()
    assert not result.ok and MASK in result.error
    assert leaks(result.error, HEADER_TOKEN) == [], result.error
    logged = strings([e.payload for e in release_log.entries()])
    assert MASK in logged and leaks(logged, HEADER_TOKEN) == []


def test_flags_set_never_prints_or_logs_an_echo(tmp_path: Path, script_server) -> None:
    token = "flag-admin-7Qw/9+xYz-2024"
    said = " ".join(e for n, e in echoes(token).items() if n in ("b64", "b64-nopad", "percent-lower", "json-slash",
                                                                  "lower", "newline"))
    srv = script_server(lambda req: Scripted(status=403, body={"error": f"token {said} may not write"}))
    (tmp_path / "rb.toml").write_text(f"""
[release]
name = "shop"
[log]
path = "log.sqlite"
[environments.staging]
protected = false
[flags]
backend = "http"
url = "{srv.url}"
token_secret = "flags-admin"
retries = 0
""")
    env = {**os.environ, "COCKPIT_SECRET_FLAGS_ADMIN": token, "COCKPIT_ACTOR": "ci"}
    r = subprocess.run([sys.executable, "-m", "cockpit", "flags", "set", "CART", "on", "--config",
                        str(tmp_path / "rb.toml"), "--env", "staging"], capture_output=True, text=True, timeout=60,
                       env=env, cwd=tmp_path)
    assert r.returncode == 1 and "HTTP 403" in r.stdout + r.stderr, r.stdout + r.stderr
    assert leaks(r.stdout + r.stderr, token) == [], r.stdout + r.stderr
    from cockpit.core.log.sqlite import SqliteLog

    log = SqliteLog(tmp_path / "log.sqlite")
    try:
        logged = strings([e.payload for e in log.entries()])
    finally:
        log.close()
    assert "403" in logged and leaks(logged, token) == []
