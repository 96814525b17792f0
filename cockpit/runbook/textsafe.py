"""Remote text is untrusted: make it safe to print on a terminal — escape, never interpret.

Escape sequences in a health endpoint's body must not move the cursor, change colours or
rewrite the screen of the person running the cutover, and they must not vanish either: the
person sees the characters that were sent (ESC as \\x1b). (In the TUI, text is also never parsed
as Rich markup: widgets get rich.text.Text, not markup strings.)
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab/newline, DEL, and C1 controls (incl. the 8-bit CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, *, one_line: bool = False) -> str:
    """Replace control characters with visible escapes (ESC becomes \\x1b). one_line: line breaks
    (CRLF too) and runs of whitespace become one space."""
    if one_line:
        text = text.replace("\r\n", "\n")  # a line break, not a carriage return to show
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    if one_line:
        out = " ".join(out.split())
    return out


def one_line(text: object, limit: int = 200) -> str:
    """Untrusted text (or an exception) as one printable line of at most `limit` characters."""
    return shorten(printable(str(text), one_line=True), limit)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def representable(value: Any) -> Any:
    """A JSON-like value whose strings can be encoded as UTF-8: a lone surrogate (from a JSON body's
    "\\ud800", or argv/env bytes that were not UTF-8) becomes its escape, visible as \\udc80.
    What reaches the log's canonical JSON can then never fail to encode."""
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {representable(k): representable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [representable(v) for v in value]
    return value


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
