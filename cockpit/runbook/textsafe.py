"""Remote text is untrusted: make it safe to print on a terminal.

Escape sequences in a health endpoint's body must not move the cursor, change colours or
rewrite the screen of the person running the cutover. (In the TUI, text is also never parsed
as Rich markup: widgets get rich.text.Text, not markup strings.)
"""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, and C1 controls (incl. the 8-bit CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, *, one_line: bool = False) -> str:
    """Replace control characters with visible escapes (ESC becomes \\x1b)."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    if one_line:
        out = " ".join(out.split())
    return out


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
