"""label: variable labels and value labels (define, values, list, dir, drop).

A value label is a named set of (integer value, text) pairs, kept in the session
(``Session.label_sets``) and attached to numeric variables by name (``Session.label_names``), as
in Stata: a label survives the variables it is attached to, ``label values x .`` detaches it,
and ``save``/``use`` keep both in the .dta file.  Sets are replaced, never changed in place, so the
dispatcher's snapshot restores them when a command fails.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.scan import unquote
from hlmshell.results.data import LabelListing
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}$")
_PAIR = re.compile(r'\s*(\S+)\s+("(?:[^"]*)"|`"(?:.*?)"\'|\S+)')


@command("LAbel", "", subcommand_error="label {word} not supported", subcommand_rc=199)
def label(session: Session, args: Args) -> None:
    """Label variables and values (label variable, define, values, list, dir, drop)."""
    raise syntax_error()


@command("LAbel VARiable", "anything")
def label_variable(session: Session, args: Args) -> None:
    """Label a variable.

    ``label variable varname ["label"]``; without a label the variable's label is removed.
    """
    words = args.anything.split(None, 1)
    name = varlist.resolve(session.variables, words[0])
    text = unquote(words[1].strip()) if len(words) > 1 else ""
    labels = dict(session.var_labels)
    if text:
        labels[name] = text[:80]
    else:
        labels.pop(name, None)
    session.var_labels = labels
    session.changed = True


def parse_pairs(text: str) -> list[tuple[float, str]]:
    """``1 "yes" 0 no`` → [(1.0, "yes"), (0.0, "no")]; Stata's errors for bad values."""
    pairs: list[tuple[float, str]] = []
    pos = 0
    while text[pos:].strip():
        m = _PAIR.match(text, pos)
        if not m:
            raise syntax_error()
        try:
            value = float(m.group(1))
        except ValueError:
            raise StataError(f"{m.group(1)} invalid label value", 198) from None
        if value != value or value != int(value) or abs(value) > 2147483620:
            raise StataError("may not label non-integers", 198)
        pairs.append((value, unquote(m.group(2))))
        pos = m.end()
    return pairs


@command("LAbel DEFine", "anything [, ADD MODIFY REPLACE]")
def label_define(session: Session, args: Args) -> None:
    """Define a value label: ``label define name # "text" [# "text" ...] [, add modify replace]``.

    ``add`` adds values to an existing label, ``modify`` also changes them (an empty text removes
    a value), ``replace`` redefines the label.
    """
    name, _, rest = args.anything.strip().partition(" ")
    if not name:
        raise syntax_error()
    if not _NAME.match(name):
        raise StataError(f"{name} invalid name", 198)
    pairs = parse_pairs(rest)
    exists = name in session.label_sets
    if exists and not (args.add or args.modify or args.replace):
        raise StataError(f"label {name} already defined", 110)
    current = {} if args.replace or not exists else dict(session.label_sets[name])
    for value, text in pairs:
        if value in current and not args.modify:
            raise StataError("invalid attempt to modify label", 180)
        if text:
            current[value] = text
        else:
            current.pop(value, None)       # modify with "" removes the label of a value
    session.label_sets = {**session.label_sets, name: dict(sorted(current.items()))}
    session.changed = True


@command("LAbel VALues", "anything")
def label_values(session: Session, args: Args) -> None:
    """Attach a value label to variables: ``label values varlist name``; with ``.`` (or a single
    variable and nothing else) the variables' labels are detached."""
    words = args.anything.split()
    if not words:
        raise StataError("varlist required", 100)
    if len(words) == 1:
        names, name = varlist.expand(session.variables, words[0]), "."
    else:
        names, name = varlist.expand(session.variables, " ".join(words[:-1])), words[-1]
        if name != "." and not _NAME.match(name):
            raise StataError(f"{name} invalid name", 198)
    attached = dict(session.label_names)
    for var in names:
        if session.is_string(var):
            raise StataError("may not label strings", 181)
        if name == ".":
            attached.pop(var, None)
        else:
            attached[var] = name
    session.label_names = attached
    session.changed = True


@command("LAbel DIR", "")
def label_dir(session: Session, args: Args) -> LabelListing:
    """List the names of the value labels."""
    names = list(session.label_sets)
    session.r = Results(macros={"names": " ".join(names)})
    return LabelListing(tuple((n, ()) for n in names), names_only=True)


@command("LAbel LIst", "[anything]")
def label_list(session: Session, args: Args) -> LabelListing:
    """List the names and contents of value labels (all of them by default)."""
    names = args.anything.split() or list(session.label_sets)
    for n in names:
        if n not in session.label_sets:
            raise StataError(f"value label {n} not found", 111)
    shown = tuple((n, tuple(session.label_sets[n].items())) for n in names)
    if names:
        values = list(session.label_sets[names[-1]])
        session.r = Results(scalars={"k": float(len(values)),
                                     "min": min(values) if values else float("nan"),
                                     "max": max(values) if values else float("nan"),
                                     "hasemiss": 0.0})
    return LabelListing(shown)


@command("LAbel DROP", "anything")
def label_drop(session: Session, args: Args) -> None:
    """Drop value labels (``label drop name ...`` or ``label drop _all``)."""
    names = args.anything.split()
    if not names:
        raise syntax_error()
    if names == ["_all"]:
        session.label_sets = {}
        return
    for n in names:
        if n not in session.label_sets:
            raise StataError(f"value label {n} not found", 111)
    session.label_sets = {k: v for k, v in session.label_sets.items() if k not in names}
    session.changed = True
