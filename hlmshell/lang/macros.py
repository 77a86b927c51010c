"""Macro substitution ([U] 18.3, [P] macro): what a line says once its macros are expanded.

Before a command line is parsed, `` `name' `` is replaced by the local macro ``name`` and ``$name`` /
``${name}`` by the global; an undefined macro is empty.  References nest (`` ``i'' `` expands
`` `i' `` first, then the local it names) and the other forms inside `` `...' `` are:
`` `=exp' `` (the value of an expression), `` `:macro function' `` (:mod:`hlmshell.lang.macrofcn`),
`` `++i' `` / `` `i++' `` / `` `--i' `` / `` `i--' `` (increment before or after substituting),
`` `e(N)' `` / `` `r(mean)' `` / `` `s(x)' `` / `` `c(pwd)' `` (stored results and system values) and
`` `macval(name)' `` (the contents without expanding the macros they hold).  `` `" "' `` are compound
quotes, not macros; ``\\``` and ``\\$`` keep a literal quote or dollar.

What a reference means is asked of a :class:`Source` (the session's answers are in
:mod:`hlmshell.commands.session.macrofcn`, which can read the data for macro functions).
"""

from __future__ import annotations

import math
import re
from typing import Protocol

from hlmshell.errors import StataError
from hlmshell.lang.numfmt import fmt_g

MAX_DEPTH = 50                  # nested expansions of macros whose contents hold macros
_GLOBAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STORED = re.compile(r"^([ersc])\((\w*)\)$")
_INCREMENT = re.compile(r"^(\+\+|--)?([A-Za-z0-9_]+)(\+\+|--)?$")
_LOCAL_NAME = re.compile(r"^[A-Za-z0-9_]{1,31}$|^\*$")
_GLOBAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


class Source(Protocol):
    """What macro references mean."""

    def local(self, name: str) -> str: ...
    def global_(self, name: str) -> str: ...
    def increment(self, name: str, delta: int, before: bool) -> str: ...
    def evaluate(self, exp: str) -> str: ...
    def function(self, text: str) -> str: ...
    def stored(self, kind: str, name: str) -> str: ...


def number_text(x: float) -> str:
    """A number as a macro holds it: up to 16 significant digits (``.3333333333333333``), ``.`` if
    missing -- what ``local x = 1/3`` and `` `r(mean)' `` give."""
    if x is None or not math.isfinite(x):
        return "."
    return fmt_g(float(x), 18).strip()


def is_local_name(name: str) -> bool:
    return bool(_LOCAL_NAME.match(name))


def is_global_name(name: str) -> bool:
    return bool(_GLOBAL_NAME.match(name))


def expand(text: str, source: Source) -> str:
    """``text`` with every macro reference replaced."""
    return _expand(text, source, 0)


def _expand(text: str, source: Source, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise StataError("macro substitution results in line that is too long", 920)
    return _scan(text, 0, source, depth, inside=False)[0]


def _scan(text: str, i: int, source: Source, depth: int, *, inside: bool) -> tuple[str, int, bool]:
    """Expand from ``text[i]``: to the end, or (``inside`` a reference) to its closing ``'``.
    Returns the expanded text, where the scan stopped, and whether a closing quote was found."""
    out: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if inside and c == "'":
            return "".join(out), i + 1, True
        if c == "\\" and i + 1 < n and text[i + 1] in "`$":
            out.append(text[i + 1])
            i += 2
        elif text.startswith('`"', i):
            out.append('`"')
            i += 2
        elif c == "`":
            value, i = _reference(text, i + 1, source, depth)
            out.append(value)
        elif c == "$":
            value, i = _global(text, i + 1, source, depth)
            out.append(value)
        else:
            out.append(c)
            i += 1
    return "".join(out), i, False


def _reference(text: str, i: int, source: Source, depth: int) -> tuple[str, int]:
    """The value of the reference opened by a `` ` `` just before ``text[i]``, and where it ends.
    Without a closing ``'`` the quote stays as typed."""
    inner, end, closed = _scan(text, i, source, depth, inside=True)
    if not closed:      # the rest, scanned already (no rescan: linear in the backticks)
        return "`" + inner, end
    return _meaning(inner, source, depth), end


def _global(text: str, i: int, source: Source, depth: int) -> tuple[str, int]:
    """The value of ``$name`` or ``${name}`` (the ``$`` just before ``text[i]``)."""
    if text.startswith("{", i):
        end = text.find("}", i)
        if end < 0:
            return "$", i
        name = _expand(text[i + 1:end], source, depth + 1).strip()
        return _expand(source.global_(name), source, depth + 1), end + 1
    m = _GLOBAL.match(text, i)
    if not m:
        return "$", i
    return _expand(source.global_(m.group(0)), source, depth + 1), m.end()


def _meaning(ref: str, source: Source, depth: int) -> str:
    """What the text between `` ` `` and ``'`` stands for."""
    if ref.startswith("="):
        return source.evaluate(ref[1:])
    if ref.startswith(":"):
        return source.function(ref[1:].strip())
    m = _STORED.match(ref.strip())
    if m:
        return source.stored(m.group(1), m.group(2))
    if ref.startswith("macval(") and ref.endswith(")"):
        return source.local(ref[7:-1].strip())
    m = _INCREMENT.match(ref)
    if m and (m.group(1) or m.group(3)) and not (m.group(1) and m.group(3)):
        op = m.group(1) or m.group(3)
        return source.increment(m.group(2), 1 if op == "++" else -1, before=bool(m.group(1)))
    return _expand(source.local(ref), source, depth + 1)


# -- words ---------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Split on blanks as Stata's macro functions and loops do: ``"a b"`` and `` `"a b"' `` are one
    word each (their quotes removed)."""
    return [w for w, _ in quoted_words(text)]


def quoted_words(text: str) -> list[tuple[str, str]]:
    """Each word of ``text`` as (contents, as typed with its quotes)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text.startswith('`"', i):
            end = _compound_end(text, i)
            out.append((text[i + 2:end - 2], text[i:end]))
            i = end
        elif text[i] == '"':
            end = text.find('"', i + 1)
            end = n if end < 0 else end + 1
            out.append((text[i + 1:end - 1] if end <= n and text[end - 1] == '"' else text[i + 1:end],
                        text[i:end]))
            i = end
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            out.append((text[i:j], text[i:j]))
            i = j
    return out


def _compound_end(text: str, i: int) -> int:
    """Where the compound quote opened at ``text[i]`` (`` `" ``) ends (after its ``"'``); nested ones
    count."""
    depth, j, n = 0, i, len(text)
    while j < n:
        if text.startswith('`"', j):
            depth += 1
            j += 2
        elif text.startswith("\"'", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return n


def arguments(text: str) -> dict[str, str]:
    """The locals a program or do-file gets from its arguments: `` `0' `` the text as typed,
    `` `1' ``, `` `2' ``... its words (quotes removed), `` `*' `` all of them."""
    out = {"0": text.strip(), "*": text.strip()}
    for k, word in enumerate(words(text), start=1):
        out[str(k)] = word
    return out


def quote_word(word: str) -> str:
    """A word as a list element: bare when it has no blank or quote, else in compound quotes."""
    if word and not any(ch.isspace() or ch == '"' for ch in word):
        return word
    return f'`"{word}"\''


def as_number(text: str, name: str) -> float:
    """A local's contents as a number for ``++``/``--`` (empty is 0)."""
    if not text.strip():
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise StataError(f"{text} invalid increment of local {name}", 198) from None
