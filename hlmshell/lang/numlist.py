"""Stata's numlists ([U] 11.1.8): ``1 2 3``, ``1/5``, ``1(2)9``, ``10(-2)0``, ``0(.25)1``, ``1 3 to 7``.

``a/b`` counts by 1 (down when b < a), ``a(d)b`` by d, ``a[d]b`` likewise, and ``a b to c`` / ``a b : c``
continue the step from a to b up to c.  Commas separate like blanks.  A range stops at the last value
not beyond its end (with a tolerance for binary fractions, so ``0(.1)1`` ends at 1).
"""

from __future__ import annotations

import math
import re
from typing import Iterator

from hlmshell.errors import StataError

MAX_ELEMENTS = 2_500_000   # a bound on generated lists (Stata's limit on numlist size is similar)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^({_NUMBER})(?:/({_NUMBER})|[\(\[]({_NUMBER})[\)\]]({_NUMBER}))$")


def _fail(text: str) -> StataError:
    return StataError(f"{text}: invalid numlist", 121)


def _number(word: str, text: str) -> float:
    if word == ".":
        return math.nan
    try:
        value = float(word)
    except ValueError:
        raise _fail(text) from None
    if not math.isfinite(value):
        raise _fail(text)
    return value


def _steps(first: float, step: float, last: float, text: str) -> list[float]:
    if step == 0:
        raise _fail(text)
    count = math.floor((last - first) / step + 1e-9)
    if count < 0:
        return [first] if math.isclose(first, last) else []
    if count + 1 > MAX_ELEMENTS:
        raise StataError("numlist too large", 123)
    return [_clean(first + k * step) for k in range(count + 1)]


def _clean(x: float) -> float:
    """Round away binary noise (0.30000000000000004 → 0.3), as Stata's numlist shows it."""
    return float(f"{x:.12g}")


def parse_numlist(text: str) -> list[float]:
    """The numbers of a numlist, in order (duplicates kept)."""
    spaced = re.sub(r"\s*:\s*", " : ", re.sub(r"\s*/\s*", "/", text.replace(",", " ")))
    words = spaced.split()
    out: list[float] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("to", ":"):
            raise _fail(text)
        m = _RANGE.match(word)
        if m:
            first = _number(m.group(1), text)
            if m.group(2) is not None:
                last = _number(m.group(2), text)
                out += _steps(first, 1.0 if last >= first else -1.0, last, text)
            else:
                out += _steps(first, _number(m.group(3), text), _number(m.group(4), text), text)
            i += 1
            continue
        value = _number(word, text)
        if i + 2 < len(words) and words[i + 2] in ("to", ":"):     # a b to c
            if i + 3 >= len(words):
                raise _fail(text)
            second, last = _number(words[i + 1], text), _number(words[i + 3], text)
            out += _steps(value, second - value, last, text)
            i += 4
            continue
        out.append(value)
        i += 1
    return out


_FORVALUES = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*({_NUMBER})|\(\s*({_NUMBER})\s*\)\s*({_NUMBER})"
                        rf"|\s+({_NUMBER})\s*(?:to|:)\s*({_NUMBER}))\s*$")


def forvalues_range(text: str) -> Iterator[float]:
    """The values ``forvalues`` takes ([P] forvalues): ``#1/#2`` (by 1, up only), ``#1(#d)#2``,
    ``#1 #t to #2`` and ``#1 #t : #2`` (by #t - #1); values past #2 are not taken."""
    m = _FORVALUES.match(text)
    if not m:
        raise StataError("invalid syntax", 198)
    first = float(m.group(1))
    if m.group(2) is not None:
        step, last = 1.0, float(m.group(2))
    elif m.group(3) is not None:
        step, last = float(m.group(3)), float(m.group(4))
    else:
        step, last = float(m.group(5)) - first, float(m.group(6))
    if step == 0:
        raise StataError("invalid syntax", 198)
    count = math.floor((last - first) / step + 1e-9)
    return (_clean(first + k * step) for k in range(count + 1))
