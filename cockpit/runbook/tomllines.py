"""Find the line of a key path in TOML text, so config errors can say "line 12".

tomllib keeps no positions; this scanner follows table headers and `key =` lines, which is
enough for runbooks (multi-line strings are skipped, not parsed).
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")
_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""")


def _split(dotted: str) -> list[str]:
    return [a or b or c for a, b, c in _PART.findall(dotted)]


def locate_key_line(text: str, path: list[str | int]) -> int | None:
    """1-based line where `path` (e.g. ["checks", 2, "url"]) is defined, or the closest enclosing table."""
    want = [str(p) for p in path]
    best: tuple[int, int] | None = None  # (matched length, line)
    table: list[str] = []
    counters: dict[tuple[str, ...], int] = {}
    in_multiline: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            parts = _split(header.group(2))
            if header.group(1) == "[[":
                key = tuple(parts)
                counters[key] = counters.get(key, -1) + 1
                table = parts + [str(counters[key])]
            else:
                table = _expand_arrays(parts, counters)
            cand = table
        else:
            m = _KEY.match(line)
            if not m:
                continue
            cand = table + _split(m.group(1))
            rest = line[m.end():]
            for q in ('"""', "'''"):
                if rest.count(q) == 1:
                    in_multiline = q
        n = _common(cand, want)
        if n == len(cand) or n == len(want):
            if best is None or n > best[0]:
                best = (n, lineno)
    return best[1] if best else None


def _expand_arrays(parts: list[str], counters: dict[tuple[str, ...], int]) -> list[str]:
    """[checks.json] after [[checks]] means the current element of checks."""
    out: list[str] = []
    for i, p in enumerate(parts):
        out.append(p)
        key = tuple(parts[: i + 1])
        if key in counters:
            out.append(str(counters[key]))
    return out


def _common(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


MAX_NESTING = 32
"""Tables and arrays nested deeper than this are refused before parsing: a runbook needs a few levels,
and Python's TOML parser recurses once per level (a few hundred exhaust its stack)."""


def too_deep(text: str, limit: int = MAX_NESTING) -> tuple[int, list[str | int]] | None:
    """(line, key path) of the first value whose inline tables and arrays nest deeper than `limit`, or
    None. Strings and comments are skipped, so brackets inside them do not count."""
    table: list[str | int] = []
    counters: dict[tuple[str, ...], int] = {}
    key: list[str | int] = []
    depth = 0
    statement = True  # at the start of a line outside any value: a header, a key, a comment or nothing
    line = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
            statement = statement or depth == 0
            continue
        if statement:
            end = text.find("\n", i)
            end = n if end < 0 else end
            stmt = text[i:end]
            header = _HEADER.match(stmt)
            if header:
                parts = _split(header.group(2))
                if header.group(1) == "[[":
                    counters[tuple(parts)] = counters.get(tuple(parts), -1) + 1
                    table = [*parts, counters[tuple(parts)]]
                else:
                    table = [int(p) if p.isdigit() else p for p in _expand_arrays(parts, counters)]
                i = end
                continue
            m = _KEY.match(stmt)
            if not m:
                i = end  # blank, a comment, or text tomllib will refuse on its own
                continue
            key = [*table, *_split(m.group(1))]
            statement = False
            i += m.end()
            continue
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in "\"'":
            i, line = _skip_string(text, i, line)
        elif c in "[{":
            depth += 1
            if depth > limit:
                return line, key
            i += 1
        elif c in "]}":
            depth = max(0, depth - 1)
            i += 1
        else:
            m = _PLAIN.match(text, i)  # a run of characters that open, close or quote nothing
            i = m.end() if m.end() > i else i + 1
    return None


def _skip_string(text: str, i: int, line: int) -> tuple[int, int]:
    """The index after the string that starts at i (basic or literal, one line or three quotes), and the
    line number there."""
    quote = text[i]
    delim = quote * 3 if text.startswith(quote * 3, i) else quote
    stop = _BASIC_STOP[delim] if quote == '"' else None
    j = i + len(delim)
    n = len(text)
    while j < n:
        if stop is not None:
            m = stop.search(text, j)
            j = m.start() if m else n
            if j < n and text[j] == "\\":
                j += 2
                continue
        else:
            found = text.find(delim if len(delim) == 3 else quote, j)
            newline = text.find("\n", j) if len(delim) == 1 else -1
            j = n if found < 0 else found
            if 0 <= newline < j:
                j = newline
        if j >= n or (text[j] == "\n" and len(delim) == 1):
            break  # unterminated: tomllib says so
        if text.startswith(delim, j):
            end = j + len(delim)
            while len(delim) == 3 and end < n and text[end] == quote:  # """a"""" ends with the last three
                end += 1
            return end, line + text.count("\n", i, end)
        j += 1
    return j, line + text.count("\n", i, j)


_PLAIN = re.compile(r"[^\n#\"'\[\]{}]*")
_BASIC_STOP = {'"': re.compile(r'["\\\n]'), '"""': re.compile(r'["\\]')}
