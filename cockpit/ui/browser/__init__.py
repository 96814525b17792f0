"""The auditor's read-only release-log browser: BrowserScreen and what it is made of."""

from cockpit.core.log.readonly import open_store
from cockpit.ui.browser.screen import BrowserScreen
from cockpit.ui.browser.source import Source, open_source
from cockpit.ui.browser.window import Query

# open_store: the read-only store a Source's reader is (for the scenes, tests and benchmark that build one).
__all__ = ["BrowserScreen", "Query", "Source", "open_source", "open_store"]
