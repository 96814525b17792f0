"""Imports sit at the top of a module, where any check (and any reader) sees the edge. An import
inside a function is kept only where the startup budget needs it (a command or a screen loads a
heavy module only when it is used), and then a comment says so: on its line, or on the line above
the block of imports it begins."""

from __future__ import annotations

import ast
from pathlib import Path

COCKPIT = Path(__file__).resolve().parents[1] / "cockpit"


def _unexplained(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for fn in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or "#" in lines[node.lineno - 1]:
                continue
            i = node.lineno - 2  # walk up over the block of imports this one belongs to
            while i >= 0 and lines[i].strip().startswith(("from ", "import ")) and "#" not in lines[i]:
                i -= 1
            if i < 0 or not (lines[i].strip().startswith("#") or "#" in lines[i] and lines[i].strip().startswith(("from ", "import "))):
                out.append(f"{path.relative_to(COCKPIT.parent)}:{node.lineno} {lines[node.lineno - 1].strip()}")
    return out


def test_every_function_local_import_says_why() -> None:
    found = [line for path in sorted(COCKPIT.rglob("*.py")) for line in _unexplained(path)]
    assert found == [], "\n".join(found)
