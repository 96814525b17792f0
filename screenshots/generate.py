"""Regenerate screenshots/*.svg from the UI scenes (the same ones the snapshot tests check).

    python3 screenshots/generate.py            # all scenes
    python3 screenshots/generate.py readiness  # scenes whose name contains "readiness"
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual._doc import take_svg_screenshot  # noqa: E402  (what pytest-textual-snapshot uses too)

from tests.ui.scenes import all_scenes  # noqa: E402


def main(argv: list[str]) -> int:
    wanted = argv[1:]
    out_dir = Path(__file__).resolve().parent
    for scene in all_scenes():
        if wanted and not any(w in scene.name for w in wanted):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            svg = take_svg_screenshot(app=scene.make_app(Path(tmp)), terminal_size=scene.size,
                                      run_before=scene.run_before)
        (out_dir / f"{scene.name}.svg").write_text(svg, encoding="utf-8")
        print(f"screenshots/{scene.name}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
