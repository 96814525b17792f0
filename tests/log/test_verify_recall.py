"""`log verify` reads a runbook validated before without pydantic: its [signing] answers as the model does."""

from __future__ import annotations

from pathlib import Path

from cockpit.runbook import validated


def test_a_recalled_runbook_answers_signing_as_the_model(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "rb.toml"
    path.write_text('[release]\nname = "x"\nrepo = "."\n[log]\npath = "l.sqlite"\n[environments.production]\n'
                    'url = "http://h"\n[signing]\nallowed_signers = "keys/allowed_signers"\nrequired = ["production"]\n',
                    encoding="utf-8")
    model = validated.load(path)
    copy = validated.recall(path)
    assert copy is not None and not hasattr(type(copy), "model_fields")
    assert copy.signing.allowed_signers_path(copy.base_dir) == model.signing.allowed_signers_path(model.base_dir)
    assert copy.signing.allowed_signers_path(copy.base_dir) == (tmp_path / "keys" / "allowed_signers").resolve()
    assert copy.signing.requires("production") and not copy.signing.requires("staging")
