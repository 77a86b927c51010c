"""Stata's limits, and the machine's, in one place: every count or size a user can type is checked here
before anything is built, so that no command runs out of memory or time on a number.

From [R] limits and Stata's FAQ on long expressions: 800 dyadic operators and 249 nested parentheses
in an expression (``expression too long`` r(130)), 2,147,483,620 observations, matrices of at most
65,534 rows or columns (``matsize too small`` r(908)).  Display widths and counts (``%#s``, ``_dup(#)``,
``_col(#)``...) are bounded by the longest string variable, str2045 (a judgement: Stata states no
limit for them).  A request the machine cannot hold is refused as Stata refuses it when the operating
system will not provide the memory (r(909), or r(901) for observations).
"""

from __future__ import annotations

import math
import os
import sys

from hlmshell.errors import StataError

MAX_DYADIC = 800            # binary operators in one expression
MAX_NESTING = 249           # nested parentheses (and unary operators, calls, subscripts)
MAX_OBS = 2_147_483_620     # observations
MAX_MATRIX = 65_534         # rows or columns of a matrix
MAX_WIDTH = 2045            # a display format's width or decimals; a display directive's count
MAX_STRING = 2_000_000_000  # characters in a string (strL)
MAX_INT = 2_147_483_647     # an integer option's value (Stata's integers are 32-bit)


# The parsers of expressions, matrix expressions and numlists recurse a few Python frames for each
# level of nesting they allow (MAX_NESTING): give Python the room for them under any caller.
PYTHON_FRAMES = 8000
if sys.getrecursionlimit() < PYTHON_FRAMES:
    sys.setrecursionlimit(PYTHON_FRAMES)


def expression_too_long() -> StataError:
    return StataError("expression too long", 130)


def whole(value: float, low: int, high: int) -> int | None:
    """``value`` as an int when it is a whole number in [low, high] (None: missing, fractional or out
    of range), without ever converting an infinity or a huge float to a huge integer."""
    if not math.isfinite(value) or value != math.floor(value) or not low <= value <= high:
        return None
    return int(value)


def available_memory() -> int:
    """Bytes the system can still provide (MemAvailable on Linux; all physical memory elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 1 << 62


def require_memory(nbytes: float, error: StataError | None = None) -> None:
    """Refuse a request for more than half the memory the system can still provide (r(909) unless
    ``error`` says otherwise): the session and its data must survive the attempt."""
    if nbytes > available_memory() / 2:
        raise error or StataError("op. sys. refuses to provide memory", 909)


def no_room_for_observations() -> StataError:
    return StataError("no room to add more observations", 901)
