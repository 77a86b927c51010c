"""scalar: define, list and drop named scalars (numbers or strings).

``scalar [define] name = exp``, ``scalar list|dir [names | _all]``, ``scalar drop names | _all``;
``scalar`` alone lists them all.
"""

from __future__ import annotations

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.results.data import ScalarList
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


def _define(session: Session, names: list[str], exp: str) -> None:
    from hlmshell.lang.expr import evaluate_scalar

    name = names[0]
    if not varlist.is_valid_name(name):
        raise StataError(f"{name} invalid name", 198)
    value = evaluate_scalar(session, exp)
    session.scalars = {**session.scalars, name: value}


@command("SCAlar", "[name] [=exp]", otherwise=True)
def scalar(session: Session, args: Args) -> ScalarList | None:
    """Define, list or drop scalars."""
    if args.exp is None:
        if args.names:
            raise syntax_error()
        return _list(session, [])
    if not args.names:
        raise syntax_error()
    _define(session, args.names, args.exp)
    return None


@command("SCAlar DEfine", "name =exp")
def scalar_define(session: Session, args: Args) -> None:
    """Define a scalar: ``scalar define name = exp``."""
    _define(session, args.names, args.exp)


def _list(session: Session, names: list[str]) -> ScalarList:
    chosen = list(session.scalars) if not names or "_all" in names else names
    for n in chosen:
        if n not in session.scalars:
            raise StataError(f"scalar {n} not found", 111)
    return ScalarList(tuple((n, session.scalars[n]) for n in chosen))


@command("SCAlar LIst", "[namelist]")
def scalar_list(session: Session, args: Args) -> ScalarList:
    """List scalars (all of them without names)."""
    return _list(session, args.names)


@command("SCAlar DIr", "[namelist]")
def scalar_dir(session: Session, args: Args) -> ScalarList:
    """List scalars, as ``scalar list``."""
    return _list(session, args.names)


@command("SCAlar drop", "namelist")
def scalar_drop(session: Session, args: Args) -> None:
    """Drop scalars (``_all``: every one)."""
    keep = dict(session.scalars)
    for n in args.names:
        if n == "_all":
            keep = {}
        elif n in keep:
            del keep[n]
        else:
            raise StataError(f"scalar {n} not found", 111)
    session.scalars = keep
