"""`cockpit log browse`: wired into `cockpit log`, and a clear error (no TUI, no traceback) when
there is nothing to browse."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli import build_parser, main


def test_browse_is_a_log_subcommand() -> None:
    args = build_parser().parse_args(["log", "browse", "--config", "x.toml", "--release", "shop-1.4", "--oldest-first"])
    assert args.release == "shop-1.4" and args.oldest_first and callable(args.func)


def test_no_log_yet_exits_1_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rb = tmp_path / "runbook.toml"
    rb.write_text('[release]\nname = "shop"\n\n[log]\npath = ".deploy/log.sqlite"\n\n[environments.prod]\n'
                  'url = "http://127.0.0.1:9"\n', encoding="utf-8")
    assert main(["log", "browse", "--config", str(rb)]) == 1
    err = capsys.readouterr().err
    assert "no release log at" in err and "Traceback" not in err
    assert not (tmp_path / ".deploy").exists()
