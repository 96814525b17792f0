"""The core stays free of Textual (ARCHITECTURE §2): importing every core module must not import it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import cockpit.core


def test_core_modules_do_not_import_textual() -> None:
    modules = [m.name for m in pkgutil.walk_packages(cockpit.core.__path__, "cockpit.core.")]
    assert len(modules) >= 5, modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"cockpit.core imported Textual: {out.stdout.strip()}"


def test_nothing_heavy_is_imported_before_the_first_paint() -> None:
    """`cockpit run` paints from the runbook's outline; validation (pydantic), the log stores, git,
    HTTP and the session are imported after the first paint, in the opening thread. What the
    command imports before `App.run` is what this checks (see tests/benchmarks/bench_startup.py)."""
    code = (
        "import sys\n"
        "import cockpit.cli\n"
        "cockpit.cli.build_parser('run')\n"
        "from cockpit.core.opening import Opening\n"
        "from cockpit.ui.app import CockpitApp\n"
        "opening = Opening.from_file(sys.argv[1])\n"
        "CockpitApp(opening, actor='bench')\n"
        "heavy = ('pydantic', 'cockpit.runbook.config', 'cockpit.core.session', 'cockpit.core.log.entry', 'httpx',\n"
        "         'psycopg', 'sqlite3', 'git', 'keyring', 'cockpit.cli.flags_cmd', 'cockpit.ui.screens.cutover')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    config = Path(__file__).resolve().parents[1] / "config" / "000-marketplace-layers.toml"
    out = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported before the first paint: {out.stdout.strip()}"
