"""Remote text in a check's one-line detail: escaped, never interpreted, never silently dropped."""

from __future__ import annotations

from cockpit.runbook.textsafe import one_line, printable


def test_escape_sequences_show_as_the_characters_sent() -> None:
    s = one_line("\x1b[31mred\x1b[0m \x1b]0;title\x07 done")
    assert "\x1b" not in s and "\x07" not in s
    assert s == "\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07 done"


def test_line_breaks_become_one_space_and_the_line_is_capped() -> None:
    assert one_line("first\r\nsecond\n\tthird") == "first second third"
    assert one_line("lone\rreturn") == "lone\\x0dreturn"  # a bare CR could overwrite the line: shown
    assert one_line(ValueError("x" * 500), 60) == "x" * 59 + "…"
    assert one_line("a\nb") == printable("a\nb", one_line=True)
