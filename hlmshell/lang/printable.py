"""Text safe to print: control characters (an ESC from a data value would retitle or clear the
terminal) written as escapes.  The output layer applies it to everything it prints; a renderer that
lays values out in columns applies it first, so that a column is as wide as what is printed."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character but the newline written as an escape (``\\x1b``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
