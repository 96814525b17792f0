"""Release Cockpit: a terminal cockpit for the hour of a production cutover."""

__version__ = "0.1.0"
