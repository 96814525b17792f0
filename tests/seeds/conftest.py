"""Fixtures for the seed cutovers (see harness.py for what is real and what is a double).

    harness          the default target: app "shop", every seed flag in the flag API's store
    make_harness     a factory for a seed's own shape: make_harness(app=…, flags=…, flags_in="env", …)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.pg import create_database, drop_database
from tests.seeds.harness import Harness


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    made: list[tuple[Harness | None, str]] = []

    def make(**options: Any) -> Harness:
        dsn = create_database("shop")
        made.append((None, dsn))
        h = Harness(tmp_path / f"h{len(made)}", dsn, **options)
        made[-1] = (h, dsn)
        return h

    yield make
    for h, dsn in reversed(made):
        if h is not None:
            h.close()
        drop_database(dsn)


@pytest.fixture
def harness(make_harness: Callable[..., Harness]) -> Harness:
    return make_harness()
