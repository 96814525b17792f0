"""Scenes of the auditor's log browser, each at 120x40 and 80x24: the list with an entry's detail, a
filter, a broken chain marked, a release's story, and the export dialog. A fixed history (tests/browser/logdata.py): fixed clock, actors,
seqs and hashes; the store's path is shown as a fixed name, never the scratch folder."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from cockpit.core import kinds
from cockpit.core.log.entry import NewEntry
from cockpit.core.log.sqlite import SqliteLog
from cockpit.ui.browser import Source, open_store
from cockpit.ui.browser_app import BrowserApp, make_browser_app
from tests.browser import logdata
from tests.browser.pilot import settle as settle_browser
from tests.browser.pilot import view_of
from tests.ui.scenes import Scene

SIZES = {"": (120, 40), "-80x24": (80, 24)}
FLIP_SEQ = 99    # shop-1.10's rollback flip (CHECKOUT_V2 on → off)
TAMPERED_SEQ = 57


def _log(tmp: Path) -> Path:
    path = tmp / "release-log.sqlite"
    store = SqliteLog(path)
    news = logdata.history(12)
    last = news[-1]
    # Untrusted text in a payload shows as the characters it holds (no markup, no escapes).
    news.append(NewEntry(last.release_id, last.environment, kinds.NOTE,
                         {"text": "[bold red]deployed by hand[/] \x1b[2J see ticket OPS-17"}, logdata.CAROL,
                         at=last.at.replace(minute=30), uid="scene-note"))
    logdata.bulk_load(store, news)
    store.close()
    return path


def _app(path: Path, spool: int = 0) -> BrowserApp:
    reader = open_store(sqlite_path=path)
    return make_browser_app(Source(reader, "SQLite .deploy/release-log.sqlite", lambda: spool, reader.close))


async def settle(pilot: Pilot) -> None:
    await settle_browser(pilot)
    for inp in pilot.app.screen.query(Input):
        inp.cursor_blink = False
    await pilot.pause()


def listing(tmp: Path) -> BrowserApp:
    return _app(_log(tmp), spool=2)


async def open_flip(pilot: Pilot) -> None:
    await settle(pilot)
    view_of(pilot).seek(FLIP_SEQ)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def filtered(tmp: Path) -> BrowserApp:
    return _app(_log(tmp))


async def filter_flags(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("slash", *"env:prod kind:flag.", "enter")
    await settle(pilot)
    await pilot.press("o")
    await settle(pilot)


def tampered(tmp: Path) -> BrowserApp:
    path = _log(tmp)
    logdata.tamper({"sqlite_path": path}, "UPDATE log_entries SET payload = %s WHERE seq = %s",
                   ('{"release_owner": "mallory", "rollback_owner": "bob", "rollback_ref": "pre-release-1.6", "rollback_sha": "9f8e7d6c5b4a9f8e7d6c5b4a9f8e7d6c5b4a"}',
                    TAMPERED_SEQ))
    return _app(path)


async def verify_and_go(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("v")
    await settle(pilot)
    await pilot.press("b")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def story(tmp: Path) -> BrowserApp:
    return _app(_log(tmp))


async def open_story(pilot: Pilot) -> None:
    await settle(pilot)
    view_of(pilot).seek(FLIP_SEQ)
    await settle(pilot)
    await pilot.press("s")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def export(tmp: Path) -> BrowserApp:
    return _app(_log(tmp))


async def open_export(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("slash", *"release:shop-1.10", "enter")
    await settle(pilot)
    await pilot.press("x")
    await pilot.pause()
    await settle(pilot)


SCENES = [
    Scene(f"browser-{name}{suffix}", make, run, size)
    for name, make, run in (("list", listing, open_flip), ("filter", filtered, filter_flags),
                            ("tampered", tampered, verify_and_go), ("story", story, open_story),
                            ("export", export, open_export))
    for suffix, size in SIZES.items()
]
