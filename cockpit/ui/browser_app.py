"""A small app hosting the log browser, for `cockpit log browse` (the main cockpit pushes the same screen)."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from cockpit.ui.browser import BrowserScreen, Query, Source
from cockpit.ui.browser.window import CAPACITY, PAGE_SIZE


class BrowserApp(App[None]):
    TITLE = "Release log"
    BINDINGS = [Binding("q", "quit", "Quit"), Binding("ctrl+c", "quit", "Quit", show=False)]

    def __init__(self, source: Source, *, query: Query = Query(), page_size: int = PAGE_SIZE,
                 capacity: int = CAPACITY) -> None:
        super().__init__()
        self.source = source
        self._screen_args = dict(query=query, page_size=page_size, capacity=capacity)

    def on_mount(self) -> None:
        # Pushed, not the default screen: Textual loads a screen's CSS_PATH when it is pushed.
        # Leaving the browser (Esc, its back key) leaves the app.
        self.push_screen(BrowserScreen(self.source, **self._screen_args), lambda _: self.exit())  # type: ignore[arg-type]

    def on_unmount(self) -> None:
        self.source.close()


def make_browser_app(source: Source, *, query: Query = Query(), page_size: int = PAGE_SIZE,
                     capacity: int = CAPACITY) -> BrowserApp:
    """The one factory the CLI, the tests, the scenes and the benchmark use."""
    return BrowserApp(source, query=query, page_size=page_size, capacity=capacity)
