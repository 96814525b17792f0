"""At 80x24 every cockpit and rollback screen shows what it is for: no widget is cut off by the
screen's edge or by its dialog (only scrolling panes may hold more than they show), the forms'
buttons are on screen, and the key bar keeps Help and Quit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button

from cockpit.ui.widgets.keybar import KeyBar
from tests.ui.scenes import SMALL, Scene, all_scenes

SCENES = [s for s in all_scenes() if s.size == SMALL and s.name.startswith(("cockpit-", "rollback-"))]


def scrolls(widget: Widget, screen: Screen) -> bool:
    """Inside a pane that scrolls: it may show part of what it holds, by design."""
    return any(a is not screen and isinstance(a, Widget) and a.styles.overflow_y in ("auto", "scroll")
               for a in widget.ancestors)


def cut_off(screen: Screen) -> list[str]:
    out = []
    for w in screen.query("*"):
        shown = all(a.display for a in w.ancestors_with_self if isinstance(a, Widget))  # a hidden pane's too
        if not shown or not w.visible or scrolls(w, screen):
            continue
        g = screen.find_widget(w)
        if g.visible_region != g.region or not screen.region.contains_region(g.region):
            out.append(f"{w!r}: {g.region} shows only {g.visible_region}")
    return out


async def check(app: App, scene: Scene) -> None:
    async with app.run_test(size=scene.size) as pilot:
        if scene.run_before:
            await scene.run_before(pilot)
        await pilot.pause()
        screen = app.screen
        assert screen.size == (80, 24)
        assert cut_off(screen) == []
        for w in screen.query(Button):  # the forms' buttons in particular (sign-off, confirmations, prompts)
            assert w.region.height == 3 and screen.region.contains_region(w.region), w
        # The key bar of this screen, or of the one under its dialog.
        bar = next(s.query_one(KeyBar) for s in reversed(app.screen_stack) if s.query(KeyBar))
        line = bar.render().plain
        assert len(line) == 80 and line.rstrip().endswith("q Quit"), line
        if scene.name.startswith("cockpit-"):
            assert "? Help" in line, line


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_every_screen_fits_80x24(scene: Scene, tmp_path: Path) -> None:
    asyncio.run(check(scene.make_app(tmp_path), scene))


def test_every_cockpit_and_rollback_scene_is_checked_at_80x24() -> None:
    wide = {s.name for s in all_scenes() if s.size != SMALL and s.name.startswith(("cockpit-", "rollback-"))}
    small = {s.name for s in SCENES}
    assert wide and all(f"{n}-80x24" in small or n == "cockpit-readiness-nogo" for n in wide), wide - small
