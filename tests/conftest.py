"""Fixtures shared by the whole suite: real PostgreSQL databases and real git repositories.

The suite brings what a fresh machine lacks (tests/helpers/tools.py): a PostgreSQL cluster of its
own unless COCKPIT_TEST_DSN names a running server (pg.py), PostgreSQL's client tools and
redis-server on PATH for the seed harness, node and npm for unleash-server (unleash.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import pg, tools
from tests.helpers.gitrepos import Repo, make_repo
from tests.helpers.pg import create_database, drop_database

_on_path: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    dsn, _why = pg.plan()
    _on_path[:] = tools.put_on_path(own_cluster=dsn is None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"on PATH from the suite: {line}" for line in _on_path]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    used = pg.started()
    if used is not None:
        terminalreporter.write_line(used.how)


def pytest_unconfigure(config: pytest.Config) -> None:
    pg.stop()


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """A fresh, empty database on the suite's server; dropped afterwards."""
    dsn = create_database()
    try:
        yield dsn
    finally:
        drop_database(dsn)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo")
