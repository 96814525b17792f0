"""The auditor's read-only release-log browser (issue 7): BrowserScreen and what it is made of."""

from cockpit.ui.browser.screen import BrowserScreen
from cockpit.ui.browser.source import BrowseError, Source, open_source, open_store
from cockpit.ui.browser.window import Query

__all__ = ["BrowserScreen", "BrowseError", "Query", "Source", "open_source", "open_store"]
