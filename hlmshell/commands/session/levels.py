"""``levelsof`` and ``confirm`` ([P] levelsof, [P] confirm): what a program or do-file checks and
loops over.

``levelsof x, local(levels)`` is the usual source of a ``foreach`` list: the distinct values in
order (numbers as a macro holds them, strings in compound quotes unless ``clean``), also left in
r(levels) with r(r) levels over r(N) observations.
"""

from __future__ import annotations

import os

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.lang.macros import is_local_name, number_text, quote_word
from hlmshell.lang.varlist import expand, resolve
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("levelsof", "varname [if] [in] [, Clean Local(name) MISsing Separate(string)]",
         byable="recall")
def levelsof(session: Session, args: Args) -> Text:
    """Show the distinct values of a variable (and keep them in a local macro)."""
    from hlmshell.lang.expr import column_values, row_mask

    name = args.varname
    values = column_values(session.data, name)[row_mask(session, args.if_, args.in_)]
    string = values.dtype == object
    if not args.missing:
        values = values[values != ""] if string else values[~np.isnan(values)]
    if string:
        levels = sorted(set(values.tolist()))
        shown = [w if args.clean and quote_word(w) == w else f'`"{w}"\'' for w in levels]
    else:
        found = np.unique(values[~np.isnan(values)])
        shown = [number_text(float(x)) for x in found] + (["."] if np.isnan(values).any() else [])
    text = (args.separate if args.separate is not None else " ").join(shown)
    if args.local is not None:
        if not is_local_name(args.local):
            raise StataError(f"{args.local} invalid name", 198)
        session.locals[args.local] = text
    session.r = Results(scalars={"N": float(len(values)), "r": float(len(shown))},
                        macros={"levels": text})
    return Text(text)


@command("CONFirm", "anything(raw id=what)")
def confirm(session: Session, args: Args) -> None:
    """Check that something exists or is of the right kind: ``confirm [new|numeric|string]
    variable``, ``confirm [integer] number``, ``confirm file``, ``confirm matrix|scalar``,
    ``confirm existence``."""
    words = args.anything.split()
    if not words:
        raise syntax_error()
    kind = words[0]
    if kind in ("new", "numeric", "string", "str") or kind.startswith("var"):
        _variables(session, words)
    elif kind in ("integer", "number", "n", "nu", "num", "numb", "numbe"):
        _number(words)
    elif kind in ("existence", "e", "ex", "exi", "exis", "exist", "existe", "existen", "existenc"):
        if len(words) == 1:
            raise StataError("", 6)
    elif kind in ("file", "fi", "fil"):
        _file(session, args.anything.split(None, 1)[1] if len(words) > 1 else "")
    elif kind in ("matrix", "scalar"):
        store = session.matrices if kind == "matrix" else session.scalars
        for name in words[1:]:
            if name not in store:
                raise StataError(f"{kind} {name} not found", 111)
        if len(words) == 1:
            raise syntax_error()
    else:
        raise syntax_error()


def _variables(session: Session, words: list[str]) -> None:
    want = words[0] if not words[0].startswith("var") else ""
    rest = words[1:] if want else words
    if not rest or not rest[0].startswith("var"):
        raise syntax_error()
    names = rest[1:]
    if not names:
        raise StataError("varlist required", 100)
    if want == "new":
        for name in names:
            if name in session.variables:
                raise StataError(f"variable {name} already defined", 110)
        return
    for name in expand(session.variables, " ".join(names)):
        is_string = session.is_string(resolve(session.variables, name))
        if want == "numeric" and is_string:
            raise StataError(f"string variable {name} found where numeric variable expected", 7)
        if want in ("string", "str") and not is_string:
            raise StataError(f"numeric variable {name} found where string variable expected", 7)


def _number(words: list[str]) -> None:
    integer = words[0] == "integer"
    rest = words[2:] if integer else words[1:]
    if integer and (len(words) < 2 or not words[1].startswith("n")):
        raise syntax_error()
    text = " ".join(rest)
    try:
        value = float(text)
    except ValueError:
        raise StataError(f"{text} found where {'integer' if integer else 'number'} expected",
                         7) from None
    if integer and value != int(value):
        raise StataError(f"{text} found where integer expected", 7)


def _file(session: Session, name: str) -> None:
    from hlmshell.data.files import user_path  # not at start-up: pandas
    from hlmshell.lang.scan import unquote

    name = unquote(name)
    if not name or not os.path.isfile(user_path(session.cwd, name)):
        raise StataError(f"file {name} not found", 601)
