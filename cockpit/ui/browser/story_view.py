"""One release's story, end to end (cockpit/core/story.py), opened from an entry of the log."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from cockpit.ui.widgets.keybar import KeyBar, actions_of
from cockpit.core.log.base import LogFilter
from cockpit.core.story import Story, release_story
from cockpit.runbook.textsafe import printable
from cockpit.ui.browser.messages import StoryLoaded
from cockpit.ui.worker_errors import WorkerErrors
from cockpit.core.log.readonly import Reader

TONES = {"ok": "green", "bad": "bold red", "warn": "yellow", "info": "", "dim": "dim"}


def story_text(story: Story) -> Text:
    t = Text()
    t.append(f"Release {printable(story.release_id, one_line=True)}", "bold")
    t.append(f"  {', '.join(printable(e, one_line=True) for e in story.environments) or '-'}  ·  {story.phase}"
             f"  ·  {story.entry_count} entries\n")
    for section in story.sections:
        t.append(f"\n{section.title}\n", "bold underline")
        for line in section.lines:
            t.append("  ")
            t.append(line.text, TONES.get(line.tone, ""))
            t.append("\n")
    return t


class ReleaseStoryScreen(WorkerErrors, Screen[None]):
    DEFAULT_CSS = """
    ReleaseStoryScreen #story { padding: 0 1; }
    ReleaseStoryScreen #story-title { height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("q", "app.pop_screen", "Back", show=False)]

    def __init__(self, reader: Reader, release_id: str) -> None:
        super().__init__()
        self.reader = reader
        self.release_id = release_id
        self.story: Story | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Release story — {printable(self.release_id, one_line=True)} (read-only)"),
                     id="story-title")
        with VerticalScroll(id="story-scroll"):
            yield Static(Text("reading the release's entries…", "dim"), id="story")
        yield KeyBar(actions_of(self.BINDINGS))  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one("#story-scroll").focus()
        self._load()

    @work(thread=True, exit_on_error=False, group="story")
    def _load(self) -> None:
        story = release_story(self.release_id, self.reader.entries(LogFilter(release_id=self.release_id)))
        self.post_message(StoryLoaded(story))

    @on(StoryLoaded)
    def _loaded(self, event: StoryLoaded) -> None:
        self.story = event.story
        self.query_one("#story", Static).update(story_text(event.story))
