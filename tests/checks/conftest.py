"""Fixtures for the evidence tests: real loopback servers (plain and TLS), runbooks, contexts."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from cockpit.runbook.config import CheckConfig, Runbook
from cockpit.core.checks.context import CheckContext, Target
from tests.helpers.httpserver import LoopbackServer

_CHECK = TypeAdapter(CheckConfig)


def make_check(**fields: Any) -> Any:
    """A check as a runbook would declare it (validated by the real config model)."""
    fields.setdefault("id", f"{fields['kind']}-check")
    return _CHECK.validate_python(fields)


def make_runbook(base_dir: Path, *, repo: str = ".", main: str = "origin/main",
                 env_url: str | None = None, env_vars: dict[str, str] | None = None) -> Runbook:
    rb = Runbook.model_validate({
        "release": {"name": "shop", "repo": repo, "main": main},
        "log": {"path": "log.sqlite"},
        "environments": {"prod": {"url": env_url, "vars": env_vars or {}}},
    })
    return rb.model_copy(update={"base_dir": base_dir})


@pytest.fixture
def make_ctx(tmp_path: Path) -> Callable[..., CheckContext]:
    def build(*, target: Target | None = None, rollback_ref: str | None = None, ticks: Any = None,
              **runbook_kw: Any) -> CheckContext:
        return CheckContext(
            runbook=make_runbook(tmp_path, **runbook_kw),
            environment="prod",
            target=target or Target("origin/main", "0" * 40),
            rollback_ref=rollback_ref,
            ticks=ticks or {},
        )
    return build


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made by the real openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the `openssl` CLI is required to test TLS failures; install openssl")
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return crt, key


@pytest.fixture
def tls_server(cert: tuple[Path, Path]) -> Iterator[LoopbackServer]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    with LoopbackServer(tls=ctx) as srv:
        yield srv
