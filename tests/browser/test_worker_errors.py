"""Failed workers become notifications (cockpit/ui/worker_errors.py): in the browser, and in any host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.widgets import Static
from textual.worker import Worker

from cockpit.core.log.base import LogUnavailable
from cockpit.core.log.readonly import open_store
from cockpit.core.log.sqlite import SqliteLog
from cockpit.core.refusal import ActionRefused
from cockpit.ui.browser import Source
from cockpit.ui.browser_app import make_browser_app
from cockpit.ui.worker_errors import WorkerErrors
from tests.browser import logdata
from tests.browser.pilot import settle, view_of


class _VerifyFails:
    """A reader whose store goes away while the chain is being verified."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def verify(self, progress: Any = None) -> Any:
        raise LogUnavailable("the release log went away \x1b[2J")


async def test_a_failed_verify_is_notified_as_text_and_the_screen_says_so(tmp_path: Path) -> None:
    store = SqliteLog(tmp_path / "log.sqlite")
    logdata.bulk_load(store, logdata.history(2))
    store.close()
    reader = open_store(sqlite_path=tmp_path / "log.sqlite")
    app = make_browser_app(Source(_VerifyFails(reader), "test log", close=reader.close))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        (note,) = app._notifications
        assert (note.title, note.severity, note.markup) == ("Failed", "error", False)
        assert note.message == "LogUnavailable: the release log went away \\x1b[2J"
        assert "verify could not finish" in str(app.screen.query_one("#integrity", Static).render())


class _PagesFail:
    """A reader whose store is away while `away` is set."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self.away = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def page(self, *args: Any, **kw: Any) -> Any:
        if self.away:
            raise LogUnavailable("the release log at postgresql://db:5432/log is unreachable")
        return self._reader.page(*args, **kw)


async def test_a_page_that_cannot_be_read_is_notified_and_asked_again(tmp_path: Path) -> None:
    store = SqliteLog(tmp_path / "log.sqlite")
    entries = logdata.bulk_load(store, logdata.history(30))
    store.close()
    reader = _PagesFail(open_store(sqlite_path=tmp_path / "log.sqlite"))
    app = make_browser_app(Source(reader, "test log", close=reader.close), page_size=50, capacity=200)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        view = view_of(pilot)
        reader.away = True
        await pilot.press("end")
        await settle(pilot)  # the failed page is forgotten: nothing waits for it
        (note,) = app._notifications
        assert note.title == "Failed" and "unreachable" in note.message
        reader.away = False
        await pilot.press("home", "end")
        await settle(pilot)
        assert view.highlighted is not None and view.highlighted.seq == entries[0].seq


class _Host(WorkerErrors, App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.failed: list[tuple[type[BaseException], str]] = []

    def worker_failed(self, error: BaseException | None, worker: Worker) -> None:
        assert error is not None
        self.failed.append((type(error), worker.group))

    @work(exit_on_error=False, group="act")
    async def act(self, error: BaseException) -> None:
        raise error


async def test_a_refusal_is_a_warning_anything_else_an_error_and_the_hook_runs() -> None:
    app = _Host()
    async with app.run_test() as pilot:
        app.act(ActionRefused("sign off first [bold]now[/]"))
        await pilot.pause()
        await app.workers.wait_for_complete()
        app.act(RuntimeError("boom"))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        refused, failed = app._notifications
        assert (refused.title, refused.severity, refused.message) == ("Refused", "warning", "sign off first [bold]now[/]")
        assert (failed.title, failed.severity, failed.message) == ("Failed", "error", "RuntimeError: boom")
        assert app.failed == [(ActionRefused, "act"), (RuntimeError, "act")]
