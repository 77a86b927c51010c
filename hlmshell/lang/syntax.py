"""Stata's generic syntax: ``anything [=exp] [if exp] [in range] [using file] [, options]``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.scan import (_find_assign, _find_keyword, closing_paren, split_options,
                                unquote)

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Options:
    """The options after the comma, looked up with Stata's minimum abbreviations.

    ``take("detail", 1)`` answers whether ``d``, ``de``... ``detail`` was given; ``take_arg`` returns
    the text inside ``name(...)``.  :meth:`finish` raises ``option x not allowed`` for what is left.
    """

    items: list[tuple[str, str | None]] = field(default_factory=list)

    def _pop(self, name: str, minlen: int) -> tuple[str, str | None] | None:
        for k, (word, arg) in enumerate(self.items):
            if len(word) >= minlen and name.startswith(word):
                return self.items.pop(k)
        return None

    def take(self, name: str, minlen: int | None = None) -> bool:
        item = self._pop(name, minlen or len(name))
        if item is None:
            return False
        if item[1] is not None:
            raise StataError(f"option {name} does not take arguments", 198)
        return True

    def take_arg(self, name: str, minlen: int | None = None, *, required: bool = True) -> str | None:
        item = self._pop(name, minlen or len(name))
        if item is None:
            return None
        if item[1] is None and required:
            raise StataError(f"option {name}() requires an argument", 198)
        return item[1] if item[1] is not None else ""

    def finish(self) -> None:
        if self.items:
            word, arg = self.items[0]
            shown = word if arg is None else f"{word}({arg})"
            raise StataError(f"option {shown} not allowed", 198)

    def __bool__(self) -> bool:
        return bool(self.items)


def parse_options(text: str) -> Options:
    """``detail gen(x) cov(un)`` → Options([("detail", None), ("gen", "x"), ("cov", "un")])."""
    items: list[tuple[str, str | None]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        m = _WORD.match(text, i)
        if not m:
            raise syntax_error()
        word = m.group(0).lower()
        i = m.end()
        arg = None
        if i < n and text[i] == "(":
            j = closing_paren(text, i)
            if j is None:
                raise syntax_error()
            arg = text[i + 1:j].strip()
            i = j + 1
        elif i < n and text[i] not in " \t":
            raise syntax_error()
        items.append((word, arg))
    return Options(items)


@dataclass
class Syntax:
    """The parts of ``anything [=exp] [if exp] [in range] [using file] [, options]``."""

    anything: str = ""
    exp: str | None = None
    if_: str | None = None
    in_: str | None = None
    using: str | None = None
    options: Options = field(default_factory=Options)


def parse_syntax(rest: str, *, allow_exp: bool = True) -> Syntax:
    """Split the text after a command word into Stata's generic parts."""
    before, opts = split_options(rest)
    syn = Syntax(options=parse_options(opts))
    marks = []
    for word in ("if", "in", "using"):
        k = _find_keyword(before, word)
        if k >= 0:
            marks.append((k, word))
    marks.sort()
    head_end = marks[0][0] if marks else len(before)
    head = before[:head_end]
    for j, (k, word) in enumerate(marks):
        end = marks[j + 1][0] if j + 1 < len(marks) else len(before)
        value = before[k + len(word):end].strip()
        if not value:
            raise syntax_error()
        setattr(syn, {"if": "if_", "in": "in_", "using": "using"}[word], value)
    if syn.using is not None:
        syn.using = unquote(syn.using)
    if allow_exp:
        k = _find_assign(head)
        if k >= 0:
            syn.exp = head[k + 1:].strip()
            head = head[:k]
            if not syn.exp:
                raise syntax_error()
    syn.anything = head.strip()
    return syn
