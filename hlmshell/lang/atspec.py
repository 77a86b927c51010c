"""The text of ``margins``' ``at()`` option ([R] margins, *at()*), read into items.

An item sets variables to values or to a statistic of the estimation sample:

``ses=1``, ``ses=(-1 0 1)``, ``ses=(-1(1)1)``, ``x z=2`` (several variables, one value each),
``(mean) ses``, ``(median) _continuous``, ``(p25) x``, ``(asobserved) _all``.  ``_all``,
``_continuous`` and ``_factor`` stand for the model's covariates; which variables they and the
varlists mean is for the command to resolve against the model.  Several values make several
``_at`` rows; with several such items the last varies fastest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hlmshell.errors import StataError
from hlmshell.lang.numlist import parse_numlist
from hlmshell.lang.scan import top_level_positions

STATISTICS = ("asobserved", "mean", "median", "min", "max", "zero", "base", "asbalanced")
_PERCENTILE = re.compile(r"^p([1-9]|[1-9][0-9])$")


@dataclass(frozen=True)
class AtItem:
    """Variables (as typed) set to ``values`` (one ``_at`` row each) or to the statistic ``stat``."""

    varlist: str
    values: tuple[float, ...] = ()
    stat: str | None = None


def _invalid(text: str) -> StataError:
    return StataError(f"invalid at() option;\n{text}", 198)


def statistic(word: str) -> str:
    """``(mean)`` → ``mean``; Stata's statistics (``p1``–``p99`` included), else r(198)."""
    word = word.strip().lower()
    if word in STATISTICS or _PERCENTILE.match(word):
        return word
    raise StataError(f"invalid at() option;\n'{word}' is not a valid statistic", 198)


def _split_top(text: str) -> list[str]:
    """Words split on blanks outside parentheses (``ses=(-1 0 1)`` is one word)."""
    outside = {i for i, _ in top_level_positions(text)}
    words, start = [], 0
    for i, ch in enumerate(text):
        if i in outside and ch.isspace():
            words.append(text[start:i])
            start = i + 1
    words.append(text[start:])
    return [w for w in words if w]


def parse_at(text: str) -> list[AtItem]:
    """The items of one ``at()`` option, in the order typed."""
    spaced = re.sub(r"\s*=\s*", "=", text.strip())
    words = _split_top(spaced)
    if not words:
        raise _invalid(text)
    items: list[AtItem] = []
    stat: str | None = None          # a ``(stat)`` applies to the names after it
    names: list[str] = []
    for word in words:
        if word.startswith("(") and word.endswith(")") and "=" not in word:
            if names:
                raise _invalid(text)
            stat = statistic(word[1:-1])
            continue
        name, eq, value = word.partition("=")
        if not eq:
            if stat is not None:
                items.append(AtItem(name, stat=stat))
            else:
                names.append(name)
            continue
        stat = None
        names.append(name)
        if not value or not all(names):
            raise _invalid(text)
        if value.startswith("(") and value.endswith(")"):
            inner = value[1:-1].strip()
            if not inner or inner.startswith("("):
                raise _invalid(text)
            numbers = tuple(parse_numlist(inner))
        else:
            try:
                numbers = (float(value),)
            except ValueError:
                raise _invalid(text) from None
        items.append(AtItem(" ".join(names), values=numbers))
        names = []
    if names or not items:
        raise _invalid(text)
    return items
