"""The filter bar's language, to and from LogFilter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cockpit.core.log.base import LogFilter
from cockpit.ui.browser.filter_query import FilterSyntaxError, format_filter, parse_filter

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_keys_aliases_prefix_kinds_and_free_text() -> None:
    f = parse_filter('r:shop-1.4 e:prod a:alice k:flag. "disk full" again', now=NOW)
    assert f == LogFilter(release_id="shop-1.4", environment="prod", actor="alice", kind="flag.",
                          text="disk full again")


def test_times_dates_durations_and_whole_days() -> None:
    f = parse_filter("since:2024-05-01 until:2024-05-31", now=NOW)
    assert f.since == datetime(2024, 5, 1, tzinfo=UTC) and f.until == datetime(2024, 6, 1, tzinfo=UTC)
    assert parse_filter("since:2h", now=NOW).since == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    assert parse_filter("since:2024-05-01T14:30Z", now=NOW).since == datetime(2024, 5, 1, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize("text, message", [
    ("since:yesterday", "is not a date"),
    ("release:", "needs a value"),
    ('"unclosed', "cannot read the filter"),
    ("since:2024-05-02 until:2024-05-01T00:00", "since must be before until"),
])
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=message):
        parse_filter(text, now=NOW)


def test_round_trip_and_unknown_keys_are_text() -> None:
    f = parse_filter("release:'shop 1' kind:decision.go since:2024-05-01 url:http://x", now=NOW)
    assert f.text == "url:http://x" and f.release_id == "shop 1"
    assert parse_filter(format_filter(f), now=NOW) == f
    assert format_filter(LogFilter()) == ""
