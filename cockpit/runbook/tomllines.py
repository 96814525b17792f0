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
