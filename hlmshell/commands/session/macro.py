"""Macros ([P] macro): ``local``, ``global``, ``macro list|dir|drop|shift``, ``tempvar``,
``tempname``, ``tempfile``, and the parsing helpers ``tokenize`` and ``gettoken``.

``local name [= exp | : macro function | "string" | `"string"' | text]``: with nothing after the name
the macro is dropped.  ``local ++i`` / ``local --i`` add or subtract one (an undefined macro is 0).
Macro references in the line were expanded by the dispatcher before the command runs.
"""

from __future__ import annotations

import os
import re
import tempfile

from hlmshell.commands.session.macrofcn import macro_function
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.lang.macros import (
    as_number,
    is_global_name,
    is_local_name,
    number_text,
    quoted_words,
)
from hlmshell.lang.scan import unquote
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_NAME = re.compile(r"(\+\+|--)?([^\s=:]+)")
_POSITIONAL = re.compile(r"^[1-9][0-9]*$")


def definition(session: Session, text: str) -> tuple[str, str | None]:
    """``name [= exp | : fcn | string]`` → (name, value); None drops the macro."""
    m = _NAME.match(text.strip())
    if not m:
        raise syntax_error()
    name, rest = m.group(2), text.strip()[m.end():]
    body = rest.strip()
    if body.startswith("="):
        from hlmshell.lang.expr import evaluate_scalar

        if not body[1:].strip():
            raise syntax_error()
        value = evaluate_scalar(session, body[1:])
        return name, value if isinstance(value, str) else number_text(value)
    if body.startswith(":"):
        return name, macro_function(session, body[1:])
    return name, unquote(body) if body else None


def _define(session: Session, text: str, *, is_global: bool) -> None:
    m = _NAME.match(text.strip())
    if m and m.group(1):                        # local ++i / local --i
        name = m.group(2)
        if is_global or text.strip()[m.end():].strip() or not is_local_name(name):
            raise syntax_error()
        old = session.locals.get(name, "")
        session.locals[name] = number_text(as_number(old, name) + (1 if m.group(1) == "++" else -1))
        return
    name, value = definition(session, text)
    valid = is_global_name(name) if is_global else is_local_name(name)
    if not valid:
        raise StataError(f"{name} invalid name", 198)
    store = session.globals if is_global else session.locals
    if value is None:
        store.pop(name, None)
    else:
        store[name] = value


@command("LOCal", "anything(raw id=definition)")
def local(session: Session, args: Args) -> None:
    """Define a local macro: ``local name [= exp | : function | "string"]``; ``local ++i``."""
    if not args.anything:
        raise syntax_error()
    _define(session, args.anything, is_global=False)


@command("GLobal", "anything(raw id=definition)")
def global_(session: Session, args: Args) -> None:
    """Define a global macro: ``global name [= exp | : function | "string"]``."""
    if not args.anything:
        raise syntax_error()
    _define(session, args.anything, is_global=True)


# -- macro list | dir | drop | shift --------------------------------------------------------------
@command("MACro", "", subcommand_error="macro {word} is not supported")
def macro(session: Session, args: Args) -> None:
    """List, drop or shift macros."""
    raise syntax_error()


macro.needs_subcommand = True  # type: ignore[attr-defined]   # help: no ``macro`` line alone


def _listing(session: Session, names: list[str]) -> Text | None:
    entries: list[tuple[str, str]] = []
    if not names or names == ["_all"]:
        entries = list(session.globals.items()) + [(f"_{k}", v) for k, v in session.locals.items()]
    else:
        for name in names:
            store = session.locals if name.startswith("_") else session.globals
            key = name[1:] if name.startswith("_") else name
            if key not in store:
                raise StataError(f"macro {name} not found", 111)
            entries.append((name, store[key]))
    if not entries:
        return None
    return Text("\n".join(f"{name + ':':<15} {value}" for name, value in entries))


@command("MACro List", "[namelist]")
def macro_list(session: Session, args: Args) -> Text | None:
    """List macros: globals by name, locals as ``_name``."""
    return _listing(session, [w for w in args.names])


@command("MACro DIr", "")
def macro_dir(session: Session, args: Args) -> Text | None:
    """List every macro, as ``macro list``."""
    return _listing(session, [])


@command("MACro drop", "anything(id=names)")
def macro_drop(session: Session, args: Args) -> None:
    """Drop macros: names, ``_name`` for a local, ``pattern*``, or ``_all`` (every global)."""
    import fnmatch

    for word in args.anything.split():
        if word == "_all":
            session.globals.clear()
            continue
        store = session.locals if word.startswith("_") else session.globals
        pattern = word[1:] if word.startswith("_") else word
        for name in [n for n in store if fnmatch.fnmatchcase(n, pattern)]:
            del store[name]


@command("MACro SHift", "[anything(id=#)]")
def macro_shift(session: Session, args: Args) -> None:
    """Shift the positional locals: `2' becomes `1', `3' becomes `2', ..."""
    k = 1
    if args.anything:
        if not args.anything.strip().isdigit():
            raise syntax_error()
        k = int(args.anything)
    numbered = sorted(int(n) for n in session.locals if _POSITIONAL.match(n))
    top = numbered[-1] if numbered else 0
    for n in range(1, top + 1):
        value = session.locals.get(str(n + k))
        if value is None:
            session.locals.pop(str(n), None)
        else:
            session.locals[str(n)] = value


# -- temporary names ---------------------------------------------------------------------------
def temporary_name(session: Session) -> str:
    """A name no variable, scalar or matrix of the user's will have: ``__000000``, ``__000001``..."""
    name = f"__{session.temp_count:06d}"
    session.temp_count += 1
    return name


def _temporaries(session: Session, args: Args, kind: str) -> None:
    for local_name in args.names:
        name = temporary_name(session)
        if kind == "file":
            name = os.path.join(tempfile.gettempdir(), f"St{os.getpid()}.{name[2:]}")
        session.locals[local_name] = name
        session.frame.temporaries = [*session.frame.temporaries, (kind, name)]


@command("TEMPVar", "namelist")
def tempvar(session: Session, args: Args) -> None:
    """Names for temporary variables, dropped when the do-file or program ends."""
    _temporaries(session, args, "var")


@command("TEMPName", "namelist")
def tempname(session: Session, args: Args) -> None:
    """Names for temporary scalars and matrices, dropped when the do-file or program ends."""
    _temporaries(session, args, "name")


@command("TEMPFile", "namelist")
def tempfile_(session: Session, args: Args) -> None:
    """Names for temporary files, erased when the do-file or program ends."""
    _temporaries(session, args, "file")


# -- tokenize / gettoken -------------------------------------------------------------------------
def tokens(text: str, parse: str = " ", *, keep_quotes: bool = False) -> list[str]:
    """Stata's tokens: split at blanks and at each of the ``parse`` characters (which are tokens
    themselves); ``"a b"`` is one token (its quotes removed unless ``keep_quotes``)."""
    return [tok for tok, _ in _tokens_at(text, parse, keep_quotes)]


def _tokens_at(text: str, parse: str, keep_quotes: bool) -> list[tuple[str, int]]:
    """Tokens with the index where each ends."""
    out: list[tuple[str, int]] = []
    i, n = 0, len(text)
    blanks = " " in parse
    while i < n:
        if text[i].isspace() and blanks:
            i += 1
            continue
        if text[i] in parse and not text[i].isspace():
            out.append((text[i], i + 1))
            i += 1
            continue
        if text.startswith('"', i) or text.startswith('`"', i):
            contents, raw = quoted_words(text[i:])[0]
            out.append((raw if keep_quotes else contents, i + len(raw)))
            i += len(raw)
            continue
        j = i
        while j < n and not (text[j] in parse or (blanks and text[j].isspace())):
            j += 1
        if text[i:j].strip():
            out.append((text[i:j].strip(), j))
        i = max(j, i + 1)
    return out


def _parse_chars(options: str) -> tuple[str, bool]:
    """``parse("chars")`` and ``quotes`` from a tokenize/gettoken option text."""
    parse, quotes = " ", False
    rest = options
    m = re.search(r'parse\(\s*"((?:[^"]|"(?!\s*\)))*)"\s*\)', rest)
    if m:
        parse = m.group(1) or " "
        rest = rest[:m.start()] + rest[m.end():]
    words = rest.split()
    for w in words:
        if w in ("quotes", "q", "qu", "quo", "quot", "quote"):
            quotes = True
        else:
            raise StataError(f"option {w} not allowed", 198)
    return parse, quotes


def _split_options(text: str) -> tuple[str, str]:
    """The text before the options comma (outside quotes) and the options."""
    quote = False
    for k, ch in enumerate(text):
        if ch == '"':
            quote = not quote
        elif ch == "," and not quote:
            return text[:k], text[k + 1:]
    return text, ""


@command("TOKenize", "[anything(raw id=string)]")
def tokenize(session: Session, args: Args) -> None:
    """Split a string into the positional locals `1', `2', ... (``parse("chars")``)."""
    body, options = _split_options(args.anything)
    parse, _ = _parse_chars(options)
    body = body.strip()
    whole = quoted_words(body)
    if len(whole) == 1 and whole[0][1] == body:         # ``tokenize "`0'"``: the string quoted
        body = whole[0][0]
    found = tokens(body, parse)
    for name in [n for n in session.locals if _POSITIONAL.match(n)]:
        del session.locals[name]
    for k, tok in enumerate(found, start=1):
        session.locals[str(k)] = tok


_TARGET = re.compile(r"\s*(?:\((local|global)\)\s*)?([A-Za-z0-9_]+)")


@command("GETTOKen", "anything(raw id=names)")
def gettoken(session: Session, args: Args) -> None:
    """``gettoken first [rest] : source [, parse("chars") quotes]``: the first token of a macro."""
    head, colon, tail = args.anything.partition(":")
    if not colon:
        raise syntax_error()
    body, options = _split_options(tail)
    parse, quotes = _parse_chars(options)
    targets = []
    pos = 0
    while head[pos:].strip():
        m = _TARGET.match(head, pos)
        if not m:
            raise syntax_error()
        targets.append((m.group(1) or "local", m.group(2)))
        pos = m.end()
    m = _TARGET.fullmatch(body.rstrip())
    if not m or not 1 <= len(targets) <= 2:
        raise syntax_error()
    source = (session.globals if m.group(1) == "global" else session.locals).get(m.group(2), "")
    found = _tokens_at(source, parse, quotes)
    first, end = found[0] if found else ("", len(source))
    values = [first, source[end:]]
    for (kind, name), value in zip(targets, values):
        (session.globals if kind == "global" else session.locals)[name] = value
