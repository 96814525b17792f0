"""The payload columns against the hashed text: equal meaning in JSON, never Python's looser equality."""

from __future__ import annotations

import pytest

from cockpit.core.log.payloads import first_mismatch, same

# (the payload column as PostgreSQL's jsonb gives it back, the canonical payload inside the hashed text)
MEANS_THE_SAME = [
    ('{"ok": true, "flag": "A", "after": 1}', '{"after":1,"flag":"A","ok":true}'),  # jsonb's key order, spaces
    ('{"v": 0.00001}', '{"v":1e-05}'),  # a number spelled two ways (settled by the canonical comparison)
    ('{"s": "a\\"b", "n": null, "l": [1, 2.5, false]}', '{"l":[1,2.5,false],"n":null,"s":"a\\"b"}'),
    ('{"é": "ü"}', '{"é":"ü"}'),
]

SAYS_SOMETHING_ELSE = [
    ('{"ok": 1}', '{"ok":true}'),  # Python: True == 1
    ('{"ok": true}', '{"ok":1}'),
    ('{"n": 1.0}', '{"n":1}'),  # Python: 1 == 1.0; JSON: an integer and a float
    ('{"n": 0}', '{"n":false}'),
    ('{"n": "1"}', '{"n":1}'),  # a string that spells the number
    ('{"a": 2}', '{"a":1,"a":2}'),  # a key given twice in the hashed text (JSON keeps the last)
    ('[1, true]', '[true,1]'),  # swapped: the same counts of each token
    ('{"a": 1}', '{"a":2}'),
    ('{"a": 1', '{"a":1}'),  # not JSON
]


@pytest.mark.parametrize(("column", "hashed"), MEANS_THE_SAME)
def test_a_column_that_means_the_hashed_payload_passes(column: str, hashed: str) -> None:
    assert same([hashed], [column])
    assert first_mismatch([hashed], [column]) is None


@pytest.mark.parametrize(("column", "hashed"), SAYS_SOMETHING_ELSE)
def test_a_column_that_says_something_else_is_named(column: str, hashed: str) -> None:
    assert not same([hashed], [column])
    # in a batch, the bad one is named by its place, among columns that pass
    good_col, good_hashed = MEANS_THE_SAME[0]
    assert first_mismatch([good_hashed, hashed, good_hashed], [good_col, column, good_col]) == 1
