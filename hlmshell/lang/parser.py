"""Turning text into commands: comments and continuation lines, prefixes, and Stata's generic syntax.

Stata's commands share one shape::

    [prefix:] command [anything] [=exp] [if exp] [in range] [using file] [, options]

:func:`logical_lines` folds a script into one string per command, :func:`parse_command` splits off the
prefixes and the command word, and :func:`parse_syntax` splits the rest into a :class:`Syntax`.  Commands
then read their own ``anything`` (a varlist, an expression, model equations...) with the helpers of
``varlist`` and ``expr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hlmshell.errors import StataError, syntax_error

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# -- lines --------------------------------------------------------------------------------------
def strip_comments(text: str) -> str:
    """Remove ``/* */`` and ``//`` comments and join ``///`` continuations (quotes respected)."""
    out: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        c = text[i]
        if quote:
            out.append(c)
            if c == quote:
                quote = None
            i += 1
        elif c == '"':
            quote = '"'
            out.append(c)
            i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif text.startswith("///", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            out.append(" ")
        elif text.startswith("//", i) and (i == 0 or text[i - 1] in " \t\n"):
            end = text.find("\n", i)
            i = n if end < 0 else end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def logical_lines(text: str) -> list[str]:
    """Split a script into commands: one per line after comments and ``///`` joins; blank lines dropped.

    A line whose first non-blank character is ``*`` is a comment.
    """
    kept = []
    for line in text.splitlines():
        kept.append("" if line.lstrip().startswith("*") else line)
    lines = []
    for line in strip_comments("\n".join(kept)).split("\n"):
        if line.strip():
            lines.append(line.strip())
    return lines


def needs_continuation(text: str) -> bool:
    """True when the typed text ends in ``///`` or inside an open ``/* */`` comment (REPL multi-line)."""
    if text.rstrip().endswith("///"):
        return True
    return text.count("/*") > text.count("*/")


# -- scanning at top level -----------------------------------------------------------------------
def top_level_positions(text: str):
    """Yield (index, char) for characters outside quotes, parentheses and brackets."""
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c == '"':
            quote = '"'
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0:
            yield i, c
        i += 1


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it stands outside quotes and parentheses."""
    parts, start = [], 0
    positions = {i for i, _ in top_level_positions(text)}
    i = 0
    while i <= len(text) - len(sep):
        if i in positions and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
        else:
            i += 1
    parts.append(text[start:])
    return parts


def _find_keyword(text: str, word: str) -> int:
    """Index of the top-level keyword ``word`` standing alone (e.g. ``if``), or -1."""
    for i, _ in top_level_positions(text):
        if text.startswith(word, i):
            before = text[i - 1] if i > 0 else " "
            after = text[i + len(word)] if i + len(word) < len(text) else " "
            if before in " \t" and (after in " \t" or (word != "in" and after in '("!')) and i > 0:
                return i
            if i == 0 and after in " \t":
                return i
    return -1


def _find_assign(text: str) -> int:
    """Index of a top-level ``=`` that is not part of ``==``, ``!=``, ``<=``, ``>=``, ``~=``."""
    for i, c in top_level_positions(text):
        if c == "=":
            prev = text[i - 1] if i > 0 else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if prev not in "=!<>~" and nxt != "=":
                return i
    return -1


# -- prefixes and the command word -------------------------------------------------------------
@dataclass
class Command:
    """One command line with its prefixes taken off."""

    name: str                     # the word typed (abbreviations are resolved by the dispatcher)
    rest: str                     # everything after the command word
    text: str                     # the original line
    quietly: bool = False
    noisily: bool = False
    capture: bool = False
    by: list[str] | None = None   # ``by varlist:`` / ``bysort varlist:``
    by_sort: bool = False
    by_order: list[str] | None = None  # bysort's extra (varlist) sort keys, Stata's ``bysort a (b):``


_PREFIXES = {
    "qui": "quietly", "quie": "quietly", "quiet": "quietly", "quietl": "quietly", "quietly": "quietly",
    "n": "noisily", "no": "noisily", "noi": "noisily", "nois": "noisily", "noisi": "noisily",
    "noisil": "noisily", "noisily": "noisily",
    "cap": "capture", "capt": "capture", "captu": "capture", "captur": "capture", "capture": "capture",
}


def parse_command(line: str) -> Command:
    """Split prefixes (``quietly``, ``capture``, ``by varlist:``, ``bysort varlist:``) from a line."""
    text = line.strip()
    cmd = Command(name="", rest="", text=text)
    rest = text
    while True:
        rest = rest.lstrip()
        m = _WORD.match(rest)
        if not m:
            break
        word = m.group(0)
        lowered = word
        if lowered in _PREFIXES:
            after = rest[m.end():]
            kind = _PREFIXES[lowered]
            setattr(cmd, kind, True)
            rest = after.lstrip()
            if rest.startswith(":"):
                rest = rest[1:]
            continue
        if lowered in ("by", "bys", "byso", "bysor", "bysort"):
            colon = next((i for i, c in top_level_positions(rest) if c == ":"), -1)
            if colon < 0:
                raise syntax_error()
            spec = rest[m.end():colon]
            order = None
            if "(" in spec:
                spec, _, tail = spec.partition("(")
                order = tail.rstrip(") ").split()
            cmd.by = spec.split()
            cmd.by_order = order
            cmd.by_sort = lowered != "by"
            if not cmd.by:
                raise syntax_error()
            rest = rest[colon + 1:]
            continue
        break
    rest = rest.lstrip()
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[=.]", rest)
    if not m:
        if rest:
            raise StataError(f"{rest.split()[0]} is not a valid command name", 199)
        cmd.name = ""
        return cmd
    cmd.name = m.group(0)
    cmd.rest = rest[m.end():]
    return cmd


# -- generic syntax ------------------------------------------------------------------------------
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
            depth, j = 0, i
            quote = False
            while j < n:
                c = text[j]
                if c == '"':
                    quote = not quote
                elif not quote and c == "(":
                    depth += 1
                elif not quote and c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
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


def split_options(text: str) -> tuple[str, str]:
    """Split at the first top-level comma: (before, after); after is '' when there is none."""
    for i, c in top_level_positions(text):
        if c == ",":
            return text[:i], text[i + 1:]
    return text, ""


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


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    if text.startswith('`"') and text.endswith("\"'"):
        return text[2:-2]
    return text
