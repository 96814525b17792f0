"""The layers contract (pyproject.toml [tool.importlinter]): cli -> ui | demo -> core -> runbook.

import-linter runs in a subprocess so that which `cockpit` it reads is decided by the path given
to it: the package under test here, or a broken copy that proves the check can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
CONTRACT = "cockpit layers: cli -> ui | demo -> core -> runbook"

_LINT = "import sys\nfrom importlinter.cli import lint_imports\nsys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))\n"


def lint(package_root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the project's contracts, over the `cockpit` package found in `package_root`."""
    return subprocess.run([sys.executable, "-c", _LINT, str(CONFIG)], cwd=package_root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(package_root)})


def test_the_layers_contract_is_kept() -> None:
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{CONTRACT} KEPT" in r.stdout


def test_a_core_module_importing_the_ui_breaks_it(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "cockpit", tmp_path / "cockpit", ignore=shutil.ignore_patterns("__pycache__"))
    gate = tmp_path / "cockpit" / "core" / "gate.py"
    gate.write_text(gate.read_text(encoding="utf-8") + "\nimport cockpit.ui.app  # noqa: E402,F401\n", encoding="utf-8")
    r = lint(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{CONTRACT} BROKEN" in r.stdout
    assert "cockpit.core is not allowed to import cockpit.ui" in r.stdout
    assert "cockpit.core.gate -> cockpit.ui.app" in r.stdout
