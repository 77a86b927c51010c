"""Stata's abbreviation rules, in one place.

A name is declared with capitals marking its shortest accepted form, as in Stata's ``syntax``:
``NOConstant`` is the option ``noconstant``, typed as ``noc`` or longer; ``REGress`` the command
``regress``, typed as ``reg`` or longer.  A name without capitals must be typed in full.

:func:`shorten` is the other kind of abbreviation: Stata's ``abbrev()`` of a long name to a
display width, with ``~`` in the middle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Pattern:
    """A name and its shortest accepted abbreviation."""

    name: str        # lower case, in full
    minlen: int

    @classmethod
    def parse(cls, declared: str) -> "Pattern":
        """``NOConstant`` → ('noconstant', 3); ``detail`` → ('detail', 6)."""
        caps = len(declared) - len(declared.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"))
        return cls(declared.lower(), caps if caps else len(declared))

    def matches(self, word: str) -> bool:
        word = word.lower()
        return len(word) >= self.minlen and self.name.startswith(word)

    @property
    def shortest(self) -> str:
        return self.name[:self.minlen]

    @property
    def declared(self) -> str:
        """The name with its minimal abbreviation in capitals (``NOConstant``)."""
        return self.name[:self.minlen].upper() + self.name[self.minlen:] \
            if self.minlen < len(self.name) else self.name


class Table(Generic[T]):
    """Names with their abbreviations → values; an exact name wins over an abbreviation."""

    def __init__(self, entries: Iterable[tuple[Pattern, T]] = ()) -> None:
        self._entries: list[tuple[Pattern, T]] = list(entries)

    def add(self, pattern: Pattern, value: T) -> None:
        self._entries = [(p, v) for p, v in self._entries if p.name != pattern.name]
        self._entries.append((pattern, value))

    def get(self, word: str) -> T | None:
        """The exact name, else the abbreviation with the longest declared minimum (``sca`` is
        ``SCAlar``, not ``SCatter``, as in Stata)."""
        word = word.lower()
        for pattern, value in self._entries:
            if pattern.name == word:
                return value
        best: tuple[Pattern, T] | None = None
        for pattern, value in self._entries:
            if pattern.matches(word) and (best is None or pattern.minlen > best[0].minlen):
                best = (pattern, value)
        return None if best is None else best[1]

    def patterns(self) -> list[Pattern]:
        return [p for p, _ in self._entries]

    def items(self) -> list[tuple[Pattern, T]]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def match(word: str, declared: Iterable[str]) -> str | None:
    """The full name ``word`` abbreviates among ``declared`` patterns (``["INDependent", ...]``)."""
    return Table((Pattern.parse(d), Pattern.parse(d).name) for d in declared).get(word)


def shorten(name: str, width: int) -> str:
    """Stata's ``abbrev(name, width)``: a longer name keeps ``width - 2`` leading characters, ``~``
    and its last character (``abcdefghij~z``)."""
    if len(name) <= width:
        return name
    if width < 3:
        return name[:width]
    return name[:width - 2] + "~" + name[-1]
