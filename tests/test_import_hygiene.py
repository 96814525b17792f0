"""The core stays free of Textual (ARCHITECTURE §2): importing every core module must not import it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

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
