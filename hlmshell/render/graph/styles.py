"""Stata's style names for markers and lines, and what they are in matplotlib's units.

Kept apart from the drawing code so that commands can check a style name (and print Stata's note
for an unknown one) without importing matplotlib.
"""

from __future__ import annotations

from typing import Any

MARKER_SIZES = {"vtiny": 1.5, "tiny": 2.5, "vsmall": 3.0, "small": 4.0, "medsmall": 4.6,
                "medium": 5.2, "medlarge": 6.0, "large": 7.0, "vlarge": 8.5, "huge": 10.0,
                "vhuge": 12.0, "ehuge": 14.0}
SYMBOLS = {"circle": ("o", True), "O": ("o", True), "diamond": ("D", True), "D": ("D", True),
           "triangle": ("^", True), "T": ("^", True), "square": ("s", True), "S": ("s", True),
           "plus": ("+", True), "+": ("+", True), "x": ("x", True), "X": ("x", True),
           "point": (".", True), "p": (".", True), "none": ("", True), "i": ("", True),
           "smcircle": ("o", True), "o": ("o", True), "smdiamond": ("D", True),
           "d": ("D", True), "smtriangle": ("^", True), "t": ("^", True), "smsquare": ("s", True),
           "s": ("s", True), "smx": ("x", True), "circle_hollow": ("o", False),
           "Oh": ("o", False), "diamond_hollow": ("D", False), "Dh": ("D", False),
           "triangle_hollow": ("^", False), "Th": ("^", False), "square_hollow": ("s", False),
           "Sh": ("s", False), "oh": ("o", False), "dh": ("D", False), "th": ("^", False),
           "sh": ("s", False)}
SMALL_SYMBOLS = {"smcircle", "o", "smdiamond", "d", "smtriangle", "t", "smsquare", "s", "smx",
                 "oh", "dh", "th", "sh"}
LINE_WIDTHS = {"none": 0.0, "vvthin": 0.25, "vthin": 0.4, "thin": 0.6, "medthin": 0.85,
               "medium": 1.1, "medthick": 1.5, "thick": 1.9, "vthick": 2.6, "vvthick": 3.5,
               "vvvthick": 4.5}
LINE_PATTERNS: dict[str, Any] = {
    "solid": "-", "l": "-", "dash": (0, (4, 2)), "-": (0, (4, 2)), "dot": (0, (1, 2)),
    ".": (0, (1, 2)), "shortdash": (0, (2, 2)), "_": (0, (7, 2)), "longdash": (0, (7, 2)),
    "vshortdash": (0, (1.5, 1.5)), "dash_dot": (0, (4, 2, 1, 2)), "longdash_dot": (0, (7, 2, 1, 2)),
    "shortdash_dot": (0, (2, 2, 1, 2)), "tight_dot": (0, (0.5, 1)), "blank": "None",
}

STYLE_CLASSES = {"msymbol": ("symbol", SYMBOLS), "msize": ("symbolsize", MARKER_SIZES),
                 "lwidth": ("linewidth", LINE_WIDTHS), "lpattern": ("linepattern", LINE_PATTERNS)}


def known_style(option: str, value: str) -> bool:
    """Whether ``value`` is a style Stata knows for ``option`` (a number is a size or width)."""
    _, table = STYLE_CLASSES[option]
    if value in table:
        return True
    if option in ("msize", "lwidth"):
        try:
            return float(value) >= 0
        except ValueError:
            return False
    return False
