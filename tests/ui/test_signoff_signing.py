"""The sign-off form says how the decision will be signed: "signed with <key fingerprint>" when an agent or
key is there, "unsigned: why" (in red where signatures are required) when not; and the sign-off it
records carries the signature."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.open import open_log
from cockpit.core.log.signatures import FIELD
from cockpit.core.sshsig import fingerprint, public_key_blob
from cockpit.runbook.config import load_runbook
from cockpit.ui.app import make_app
from cockpit.ui.screens.signoff import SignOffScreen
from tests.helpers.demo import Demo
from tests.log.sshkeys import agent, make_key
from tests.ui.test_signoff_roles import ANN, fill, settle


def _signing(demo: Demo, allowed: Path) -> None:
    path = demo.scratch.runbook_path
    path.write_text(path.read_text(encoding="utf-8")
                    + f'\n[signing]\nallowed_signers = "{allowed}"\nrequired = ["production"]\n', encoding="utf-8")


async def test_the_form_says_which_key_signs_and_the_signoff_carries_it(demo: Demo, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    key = make_key(tmp_path / "keys", "ann")
    (tmp_path / "allowed_signers").write_text(key.allowed("Ann") + "\n")
    _signing(demo, tmp_path / "allowed_signers")
    runbook = load_runbook(demo.scratch.runbook_path)
    with agent(tmp_path, key) as sock:
        monkeypatch.setenv("SSH_AUTH_SOCK", sock)
        log = open_log(runbook)
        app = make_app(runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            assert isinstance(app.screen, SignOffScreen)
            fp = fingerprint(public_key_blob(key.public))
            assert f"signed with {fp} (ssh-agent)" in str(app.screen.query_one("#signing", Static).render())
            await fill(pilot, "#rollback-owner", "Bob")
            await fill(pilot, "#rollback-ref", "v1.0.0")
            await settle(pilot)
            await pilot.click("#ok")
            await settle(pilot)
        signoff = log.page(LogFilter(kind=kinds.SIGNOFF_RECORDED))[0]
        assert signoff.payload[FIELD]["key"] == fp
        log.close()


async def test_without_a_key_the_form_says_unsigned_and_that_it_is_required(demo: Demo, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "allowed_signers").write_text("")
    _signing(demo, tmp_path / "allowed_signers")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    runbook = load_runbook(demo.scratch.runbook_path)
    log = open_log(runbook)
    app = make_app(runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        text = str(app.screen.query_one("#signing", Static).render())
        assert text.startswith("unsigned: no signing key") and "REQUIRED here" in text
    log.close()
