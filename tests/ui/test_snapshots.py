"""Snapshot tests of every screen: each scene renders exactly as its accepted SVG.

Update after an intended change: `python3 -m pytest tests/ui/test_snapshots.py --snapshot-update`,
then `python3 screenshots/generate.py` so README shows the same screens.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.scenes import Scene, all_scenes

SCENES = all_scenes()


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_scene(scene: Scene, snap_compare, tmp_path: Path) -> None:
    assert snap_compare(scene.make_app(tmp_path), terminal_size=scene.size, run_before=scene.run_before)
