"""The watched windows on the cutover screen: each window with its state, time left, value against its
limit and a sparkline, updated as another watcher's entries arrive; a breach's banner offering the
rollback with the breach as its reason; marking a stage stable while its window runs asks for an
override reason and logs it; the cockpit's own watcher stops when no window is open, starts again when
one opens, and — against the suite's real Prometheus — turns the stage's flag off on a breach with the
screen open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Sparkline, Static

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Actor, format_at
from cockpit.core.log.open import open_log
from cockpit.core.session import ReleaseSession
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.screens.cutover import CutoverScreen
from cockpit.ui.screens.prompt import PromptScreen
from cockpit.ui.screens.rollback import RollbackScreen
from cockpit.ui.widgets.windows import HERE, BreachBanner, WindowRow, WindowText, spark_data
from tests.guardrails.drill import FLAG, at_layer_1, guard_layer_1
from tests.helpers.demo import Demo
from tests.helpers.prometheus import prometheus_server  # noqa: F401  (session fixture)
from tests.ui.fixtures import ANN, NOW, workers_done
from tests.ui.scenes.watched import CHECK, OPS_WATCH, SAMPLES, app_on, breached, changed, window_release

BOB = Actor("Bob", "bob", "ops-host", "bob@example.com")


async def settle(pilot: Pilot) -> None:
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def until(pilot: Pilot, what: str, cond: Callable[[], bool], rounds: int = 1200) -> None:
    """Let the app run until `cond` holds (entries from elsewhere arrive through the live follow)."""
    for _ in range(rounds):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never saw {what}")


async def on_cutover(pilot: Pilot, stage: str = "layer-1") -> CutoverScreen:
    def drawn() -> bool:  # turned to the cutover, its stages drawn (later on a loaded machine)
        screen = pilot.app.screen
        return isinstance(screen, CutoverScreen) and any(t.row_count for t in screen.query("#stages").results(DataTable))

    await until(pilot, "the cutover screen", drawn)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CutoverScreen)
    table = screen.query_one("#stages", DataTable)
    table.move_cursor(row=table.get_row_index(stage))
    await pilot.pause()
    return screen


def row_text(screen: CutoverScreen) -> str:
    return screen.query_one(WindowRow).query_one(WindowText).render().plain


async def test_a_window_shows_its_state_time_left_and_samples_as_another_watchers_entries_arrive(
        tmp_path: Path) -> None:
    rel = window_release(tmp_path, "kill")
    rel.add(kinds.GUARDRAIL_CHANGED, changed(SAMPLES, "passing", 0, "0.009 (< 0.05)"), minutes_ago=1,
            actor=OPS_WATCH)
    app = app_on(rel)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_cutover(pilot)
        text = row_text(screen)
        assert f"layer-1/{CHECK}  passing  0/3 failed  20m left" in text, text
        assert "last 0.009 against < 0.05 and ≤ baseline + 0.02" in text, text
        assert "baseline 0.002 · sampled by ops (watch ops-host:4242)" in text, text
        spark = screen.query_one(WindowRow).query_one(Sparkline)
        assert list(spark.data or []) == spark_data(SAMPLES) and spark_data(SAMPLES)[5] == 0.0  # no data: 0

        # The other watcher writes a change from its machine: the screen shows it without a key pressed.
        other = await ReleaseSession.attach(rel.runbook, rel.log, "production", OPS_WATCH, release_id=rel.release_id)
        worse = [*SAMPLES, 0.081]
        await other.record(kinds.GUARDRAIL_CHANGED, changed(worse, "failing", 1, "0.081 (≥ 0.05)"))
        await until(pilot, "the failing sample drawn", lambda: list(spark.data or []) == spark_data(worse))
        assert "failing  1/3 failed" in row_text(screen) and "last 0.081" in row_text(screen)
        assert screen.query_one(WindowRow).has_class("-failing")
        assert not screen.query_one(BreachBanner).display  # failing is not breached
    rel.log.close()


async def test_nobody_sampling_says_how_to_start_a_watcher(tmp_path: Path) -> None:
    rel = window_release(tmp_path, "kill", other_watcher=False)
    app = app_on(rel)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_cutover(pilot)
        assert "sampled by nobody — start `cockpit watch`" in row_text(screen)
        assert app.view.sampler == ""
    rel.log.close()


async def test_a_breach_shows_the_banner_and_the_rollback_opens_with_it_as_its_reason(tmp_path: Path) -> None:
    app = breached(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_cutover(pilot)
        banner = screen.query_one("#breach", BreachBanner)
        said = banner.render().plain
        assert banner.display and f"guardrail {CHECK} breached on layer-1: 3 of 3 samples failed" in said, said
        assert "alert: nothing was turned off" in said and "ctrl+r" in said, said
        assert "BREACHED" in row_text(screen) and "alert raised" in row_text(screen)

        await pilot.press("ctrl+r")
        await settle(pilot)
        wizard = app.screen
        assert isinstance(wizard, RollbackScreen)
        reason = f"guardrail {CHECK} on layer-1 breached: 3 of 3 samples failed in a row"
        assert wizard.reason.startswith(reason), wizard.reason
        assert "Reason" in str(wizard.query_one("#rb-facts", Static).render())
        assert wizard.runner is not None
        started = await wizard.runner.begin()  # what its first step records: the breach is the reason
        assert started.kind == kinds.ROLLBACK_STARTED and started.payload["reason"] == wizard.reason
        await pilot.press("q")
        await settle(pilot)
        assert app.screen is screen
        assert not screen.query_one("#breach", BreachBanner).display  # answered by the rollback
    app.session.log.close()


async def test_a_kill_whose_flag_stayed_on_offers_the_rollback_too(tmp_path: Path) -> None:
    rel = window_release(tmp_path, "kill")
    rel.add(kinds.GUARDRAIL_BREACHED, {"stage": "layer-1", "check": CHECK, "action": "kill", "failures": 3,
                                       "detail": "3 of 3 samples failed in a row: 0.2 (≥ 0.05)", "samples": [0.2]},
            minutes_ago=1, actor=OPS_WATCH)
    problem = "MARKETPLACE_AVAILABILITY_ENABLED: HTTP 503 from the flag service"
    rel.add(kinds.GUARDRAIL_ACTED, {"stage": "layer-1", "check": CHECK, "action": "kill", "ok": False,
                                    "flags_off": ["MARKETPLACE_AVAILABILITY_ENABLED"], "problems": [problem]},
            minutes_ago=1, actor=OPS_WATCH)
    app = app_on(rel)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_cutover(pilot)
        said = screen.query_one("#breach", BreachBanner).render().plain
        assert "its flags did NOT all go off (MARKETPLACE_AVAILABILITY_ENABLED still on)" in said, said
        assert "ctrl+r (or click here)" in said
        await pilot.click("#breach")  # the banner itself opens the rollback
        await settle(pilot)
        assert isinstance(app.screen, RollbackScreen)
        assert app.screen.reason == f"guardrail {CHECK} on layer-1 breached: 3 of 3 samples failed in a row: 0.2 (≥ 0.05)"
    rel.log.close()


async def test_marking_stable_while_the_window_runs_asks_for_an_override_reason_and_logs_it(tmp_path: Path) -> None:
    rel = window_release(tmp_path, "kill")
    app = app_on(rel)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await on_cutover(pilot)
        await pilot.press("m")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PromptScreen)
        question = str(prompt.query_one(".question", Static).render())
        assert f"guardrail '{CHECK}' is watching for 20m more" in question, question  # names the window
        assert app.focused is prompt.query_one("#answer", Input)
        await pilot.press(*"no", "escape")  # Esc: nothing recorded
        await settle(pilot)
        assert app.screen is screen

        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"dashboards green for 10m, the business needs layer-2 now", "enter")
        await settle(pilot)
        assert app.screen is screen
        assert "overridden" in row_text(screen)
    stable = list(rel.log.entries(LogFilter(release_id=rel.release_id, kind=kinds.STAGE_STABLE)))
    assert [e.payload["stage"] for e in stable] == ["layer-0", "layer-1"]
    override = stable[-1].payload["override"]
    assert override["reason"] == "dashboards green for 10m, the business needs layer-2 now"
    assert [(w["check"], w["left_s"]) for w in override["windows"]] == [(CHECK, 1200)]
    assert stable[-1].actor.name == ANN.name
    rel.log.close()


async def test_the_watcher_stops_when_no_window_is_open_and_starts_again_when_one_opens(tmp_path: Path) -> None:
    rel = window_release(tmp_path, "kill", left=timedelta(seconds=-1), other_watcher=False)  # its time is up
    app = app_on(rel, watch=True)

    def watching() -> bool:
        return any(w.group == "watch" and not w.is_finished for w in app.workers)

    def closed() -> list[str]:
        return [e.actor.name for e in rel.log.entries(LogFilter(release_id=rel.release_id, kind=kinds.GUARDRAIL_CLOSED))]

    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_cutover(pilot)
        await until(pilot, "the window closed by this cockpit's watcher", lambda: len(closed()) == 1)
        await until(pilot, "the watcher stopped", lambda: not watching())
        assert closed()[0].startswith("Ann Release (watch ")
        assert "passed clean" in row_text(screen)

        # Another terminal starts the stage again: a new window opens, and the watcher with it.
        other = await ReleaseSession.attach(rel.runbook, rel.log, "production", BOB, release_id=rel.release_id)
        await other.record(kinds.GUARDRAIL_OPENED, {
            "stage": "layer-1", "check": CHECK, "baseline": 0.004, "interval_s": 30.0, "window_s": 60.0,
            "until": format_at(NOW - timedelta(seconds=1)), "failure_limit": 3, "consecutive": True,
            "on_breach": "kill", "limits": "< 0.05"})
        await until(pilot, "the second window closed", lambda: len(closed()) == 2)
        await until(pilot, "the watcher stopped again", lambda: not watching())
    kinds_seen = [e.kind for e in rel.log.entries(LogFilter(release_id=rel.release_id)) if e.kind.startswith("watch.")]
    assert kinds_seen == [kinds.WATCH_STARTED, kinds.WATCH_STOPPED] * 2  # the lease given back each time
    rel.log.close()


async def test_quitting_gives_the_watch_lease_back(tmp_path: Path) -> None:
    rel = window_release(tmp_path, "kill", other_watcher=False)
    app = app_on(rel, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_cutover(pilot)
        await until(pilot, "this cockpit sampling", lambda: app.view.sampler == HERE)
        await until(pilot, "the row saying so", lambda: f"sampled by {HERE}" in row_text(screen))
        await pilot.press("q")
        await pilot.pause()
    watch = [(e.kind, e.actor.name) for e in rel.log.entries(LogFilter(release_id=rel.release_id))
             if e.kind.startswith("watch.")]
    assert [k for k, _ in watch] == [kinds.WATCH_STARTED, kinds.WATCH_STOPPED], watch
    assert all(name.startswith("Ann Release (watch ") for _, name in watch)
    assert rel.log.lock_row("production@watch") is None  # free for the next watcher at once
    rel.log.close()


async def test_the_cockpits_own_watcher_turns_the_flag_off_on_a_breach_against_real_prometheus(
        demo: Demo, prometheus_server) -> None:  # noqa: F811
    job = prometheus_server.scrape(f"127.0.0.1:{demo.target.port}")
    prometheus_server.wait_for(f'sum(rate(http_requests_total{{job="{job}"}}[3s]))',
                               lambda r: bool(r) and float(r[0]["value"][1]) > 0)
    rail = 'interval = "1s"\nwindow = "2m"\nfailure_limit = 3\nconsecutive = true\non_breach = "kill"\n'
    runbook = guard_layer_1(demo, prometheus_server.url, job, rail=rail)
    log = open_log(runbook)
    ann = Actor("Ann", "ann", "laptop", "ann@example.com")
    await at_layer_1(runbook, log)
    demo.target.set_fault(FLAG, error_rate=0.4)  # bites once the flag is on
    app: CockpitApp = make_app(runbook, log, actor=ann, refresh_every=None, take_on_open=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await on_cutover(pilot)
        await pilot.press("f")  # start layer-1 here: its window opens with the baseline, then the flag goes on
        await pilot.pause()
        await pilot.click("#confirm")
        await until(pilot, "the flag on", lambda: demo.target.flags.get(FLAG) is True)
        await until(pilot, "this cockpit sampling", lambda: app.view.sampler == HERE)
        await until(pilot, "the flag off by itself", lambda: demo.target.flags.get(FLAG) is False)
        banner = screen.query_one("#breach", BreachBanner)
        await until(pilot, "the breach acted on, on screen", lambda: banner.display and "went off" in banner.render().plain)
        said = banner.render().plain
        assert f"its flags went off by themselves: {FLAG}" in said and "ctrl+r" not in said, said
        assert "BREACHED" in row_text(screen) and "kill switch hit" in row_text(screen)
        await until(pilot, "the guardrail notified", lambda: any(n.title == "Guardrail" for n in app._notifications))
        await until(pilot, "the watcher stopped",
                    lambda: not any(w.group == "watch" and not w.is_finished for w in app.workers))
    entries = list(log.entries(LogFilter(release_id=app.session.release_id)))
    by_kind = [e.kind for e in entries]
    breach = next(e for e in entries if e.kind == kinds.GUARDRAIL_BREACHED)
    assert breach.actor.name.startswith("Ann (watch ") and breach.payload["failures"] == 3
    off = [e for e in entries if e.kind == kinds.FLAG_FLIPPED and e.payload["after"] is False]
    assert len(off) == 1 and "guardrail drill-errors breached (automatic)" in off[0].payload["reason"]
    assert by_kind.count(kinds.GUARDRAIL_ACTED) == 1 and by_kind[-1] == kinds.WATCH_STOPPED
    assert log.verify().ok
    log.close()

