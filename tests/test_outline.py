"""The outline the first screen is painted from says what the validated runbook says, for every
runbook in config/, and a file not shaped like a runbook gets no outline (it is validated at once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.runbook.config import parse_runbook
from cockpit.core.opening import Opening, OpeningError
from cockpit.runbook.outline import CheckOutline, RunbookOutline, StageOutline, outline_of, read_outline

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = sorted((ROOT / "config").glob("*.toml"))

MINIMAL = """
[release]
name = "shop"
[log]
path = "log.db"
[environments.production]
[environments.staging]
[[stages]]
id = "layer-0"
[[stages]]
id = "layer-1"
title = "Profile menu"
after = ["layer-0"]
[[checks]]
id = "ci"
kind = "file"
path = "ci.txt"
[[checks]]
id = "db"
title = "Database health"
kind = "http"
url = "http://127.0.0.1:1/health"
stage = "layer-1"
blocking = false
[[checks]]
id = "overlap"
kind = "manual"
prompt = "Overlap tested on staging?"
"""


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_the_outline_of_the_toml_is_the_outline_of_the_validated_runbook(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    outline = read_outline(text)
    assert outline is not None
    assert outline == outline_of(parse_runbook(text, path))
    assert outline.checks and outline.environments


def test_defaults_and_order_are_the_runbook_models() -> None:
    outline = read_outline(MINIMAL)
    assert outline == RunbookOutline(
        name="shop",
        environments=("production", "staging"),
        stages=(StageOutline("layer-0"), StageOutline("layer-1", "Profile menu")),
        checks=(CheckOutline("ci", "file"),
                CheckOutline("db", "http", "Database health", blocking=False, stage="layer-1"),
                CheckOutline("overlap", "manual", prompt="Overlap tested on staging?")),
    )
    assert outline == outline_of(parse_runbook(MINIMAL))
    assert outline.default_environment == "production"
    assert [c.label for c in outline.checks] == ["ci", "Database health", "overlap"]


@pytest.mark.parametrize("edit", [
    ('name = "shop"', ""),                                   # release.name missing
    ('name = "shop"', "name = 7"),                           # not a string
    ("[environments.production]\n[environments.staging]\n", "environments = {}\n"),  # none
    ('kind = "file"', 'kind = "htp"'),                       # unknown kind
    ("blocking = false", 'blocking = "no"'),                 # not a boolean
    ('stage = "layer-1"', "stage = 1"),
    ('title = "Profile menu"', "title = ['x']"),
    ("[release]", 'checks = ["not a table"]\n[release]'),
    ("[release]", "[release"),                               # not TOML
])
def test_a_file_not_shaped_like_a_runbook_has_no_outline(edit: tuple[str, str]) -> None:
    old, new = edit
    assert old in MINIMAL
    assert read_outline(MINIMAL.replace(old, new, 1)) is None


def test_opening_a_file_not_shaped_like_a_runbook_names_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace('kind = "file"', 'kind = "htp"', 1))
    with pytest.raises(OpeningError) as e:
        Opening.from_file(path)
    assert f"{path}: line 16: checks[0].kind:" in str(e.value) and "'htp'" in str(e.value)


def test_a_runbook_shaped_file_is_validated_only_on_load(tmp_path: Path) -> None:
    """Shaped like a runbook, invalid in detail (an unknown key): the outline is there at once,
    and load() names the key and line."""
    path = tmp_path / "typo.toml"
    path.write_text(MINIMAL.replace('path = "ci.txt"', 'path = "ci.txt"\nmax_agee = "1h"', 1))
    opening = Opening.from_file(path)
    assert [c.id for c in opening.outline.checks] == ["ci", "db", "overlap"]
    with pytest.raises(OpeningError) as e:
        opening.load()
    assert "line 18: checks[0].max_agee: unknown key" in str(e.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(OpeningError, match="nope.toml: file not found"):
        Opening.from_file(tmp_path / "nope.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(OpeningError, match="binary.toml: cannot read"):
        Opening.from_file(binary)
