"""The kill switch is one key plus a reason: k opens the prompt with its reason field focused, the
reason is typed straight away, Enter turns the stage's flags off (on the demo target's flag API) and
the log says who, why and what became of each flag."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor
from cockpit.core.log.open import open_log
from cockpit.ui.app import make_app
from cockpit.ui.screens.cutover import CutoverScreen
from cockpit.ui.screens.prompt import PromptScreen
from tests.helpers.demo import Demo, in_cutover
from tests.ui.fixtures import workers_done

ANN = Actor("Ann", "ann", "laptop", "ann@example.com")
AVAIL = "MARKETPLACE_AVAILABILITY_ENABLED"


async def settle(pilot: Pilot) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


def highlight(screen: CutoverScreen, stage: str) -> None:
    table = screen.query_one("#stages", DataTable)
    table.move_cursor(row=table.get_row_index(stage))


async def test_one_key_then_the_reason_turns_the_stage_off(demo: Demo) -> None:
    log = open_log(demo.runbook)
    session = await in_cutover(demo.runbook, log, ANN)  # layer-0 started: it has no flags
    await session.mark_stable("layer-0", "health green")
    await session.start_stage("layer-1")
    assert demo.target.flags.get(AVAIL) is True
    app = make_app(demo.runbook, log, actor=ANN, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        cutover = app.screen
        assert isinstance(cutover, CutoverScreen)

        highlight(cutover, "layer-0")  # nothing to turn off: said before any reason is asked for
        await pilot.press("k")
        await pilot.pause()
        assert app.screen is cutover
        assert any(n.message == "layer-0 has no flags to turn off." for n in app._notifications)

        highlight(cutover, "layer-1")
        await pilot.press("k")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        assert app.focused is prompt.query_one("#answer", Input)  # no click, no tab: type the reason
        await pilot.press("enter")  # an empty reason is never a silent no
        await pilot.pause()
        assert app.screen is prompt and prompt.query_one("#wanted", Static).display
        assert demo.target.flags.get(AVAIL) is True

        await pilot.press(*"availability page 500s", "enter")
        await settle(pilot)
        assert app.screen is cutover
        assert demo.target.flags.get(AVAIL) is False
        assert any(n.title == "Kill switch" for n in app._notifications)
    killed = list(log.entries(LogFilter(kind=kinds.STAGE_KILLED)))
    assert [(e.payload["stage"], e.payload["reason"], e.actor.name) for e in killed] == \
        [("layer-1", "availability page 500s", "Ann")]
    log.close()
