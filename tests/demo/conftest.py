"""A started demo target per test: a real HTTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cockpit.demo import DemoTarget


@pytest.fixture
def target() -> Iterator[DemoTarget]:
    with DemoTarget() as t:
        yield t


@pytest.fixture
def client(target: DemoTarget) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url, timeout=5) as c:
        yield c
