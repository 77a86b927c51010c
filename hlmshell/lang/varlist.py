"""Variable lists as Stata reads them: names, unique abbreviations, ``a-b`` ranges, ``*``/``?`` wildcards."""

from __future__ import annotations

import fnmatch
import re
from contextvars import ContextVar

from hlmshell.errors import StataError

# ``set varabbrev off``: variables must be named in full (the dispatcher sets this per command).
ABBREVIATIONS: ContextVar[bool] = ContextVar("varabbrev", default=True)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


def is_valid_name(name: str) -> bool:
    return bool(_NAME.match(name)) and name not in RESERVED


RESERVED = {"_all", "_b", "_coef", "_cons", "_n", "_N", "_pi", "_pred", "_rc", "_se", "_skip",
            "byte", "double", "float", "int", "long", "str", "if", "in", "using", "with"}


def resolve(variables: list[str], word: str) -> str:
    """One variable: the exact name, else the unique variable it abbreviates (Stata's r(111) rules)."""
    if word in variables:
        return word
    matches = abbreviated(variables, word)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise StataError(f"{word} ambiguous abbreviation", 111)
    raise StataError(f"variable {word} not found", 111)


def abbreviated(variables: list[str], word: str) -> list[str]:
    """The variables ``word`` abbreviates (none under ``set varabbrev off``)."""
    return [v for v in variables if v.startswith(word)] if ABBREVIATIONS.get() else []


def expand(variables: list[str], spec: str, *, allow_empty: bool = False) -> list[str]:
    """Expand a varlist against the variables in memory, in the order typed, without duplicates.

    ``_all`` or an empty spec (when ``allow_empty``) means every variable.
    """
    words = _tokens(spec)
    if not words:
        if allow_empty:
            return list(variables)
        raise StataError("varlist required", 100)
    out: list[str] = []
    for word in words:
        for name in _expand_word(variables, word):
            if name not in out:
                out.append(name)
    return out


def _tokens(spec: str) -> list[str]:
    """Split on blanks, keeping ``a - b`` together as one range token ``a-b``."""
    raw = spec.replace(" - ", "-").replace("- ", "-").replace(" -", "-").split()
    return raw


def _expand_word(variables: list[str], word: str) -> list[str]:
    if word == "_all":
        return list(variables)
    if "-" in word:
        first, _, last = word.partition("-")
        if not first or not last:
            raise StataError("invalid syntax", 198)
        i, j = variables.index(resolve(variables, first)), variables.index(resolve(variables, last))
        if j < i:
            raise StataError(f"{word}: variables out of order", 111)
        return variables[i:j + 1]
    if "*" in word or "?" in word or "~" in word:
        pattern = word.replace("~", "*")
        found = [v for v in variables if fnmatch.fnmatchcase(v, pattern)]
        if not found:
            raise StataError(f"variable {word} not found", 111)
        return found
    if not _NAME.match(word):
        raise StataError(f"{word} invalid name", 198)
    return [resolve(variables, word)]


def new_name(variables: list[str], name: str) -> str:
    """Check a name for a new variable: valid and not already defined (Stata's r(198)/r(110))."""
    if not is_valid_name(name):
        raise StataError(f"{name} invalid name", 198)
    if name in variables:
        raise StataError(f"variable {name} already defined", 110)
    return name
