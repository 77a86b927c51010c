"""Variable management: rename, keep/drop (variables or observations), order."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("REName", "anything")
def rename(session: Session, args: Args) -> None:
    """Rename variables.

    ``rename old new`` or ``rename (old1 old2) (new1 new2)``.
    """
    text = args.anything.strip()
    m = re.match(r"^\((.*?)\)\s*\((.*?)\)$", text)
    olds, news = (m.group(1).split(), m.group(2).split()) if m else (text.split()[:1],
                                                                    text.split()[1:])
    if not m and len(text.split()) != 2:
        raise syntax_error()
    if len(olds) != len(news) or not olds:
        raise StataError("syntax error: number of old and new names differ", 198)
    resolved = [varlist.resolve(session.variables, o) for o in olds]
    remaining = [v for v in session.variables if v not in resolved]
    for new in news:
        if not varlist.is_valid_name(new):
            raise StataError(f"{new} invalid name", 198)
        if new in remaining or news.count(new) > 1:
            raise StataError(f"variable {new} already defined", 110)
    mapping = dict(zip(resolved, news))
    labels = {mapping.get(k, k): v for k, v in session.var_labels.items()}
    attached = {mapping.get(k, k): v for k, v in session.label_names.items()}
    sortedby = [mapping.get(v, v) for v in session.sortedby]
    session.set_data(session.data.rename(columns=mapping))
    session.var_labels = labels
    session.label_names = attached
    session.sortedby = sortedby
    return None


def _drop_or_keep(session: Session, args: Args, keep: bool) -> Text | None:
    from hlmshell.lang.expr import row_mask

    verb = "keep" if keep else "drop"
    if args.if_ is None and args.in_ is None:
        if args.by is not None:
            raise StataError(f"{verb} varlist may not be combined with by", 190)
        if not args.varlist:
            raise StataError("varlist required", 100)
        kept = [v for v in session.variables if (v in args.varlist) == keep]
        if kept:
            session.set_data(session.data[kept])
        else:
            import pandas as pd

            session.set_data(pd.DataFrame())
        return None
    if args.varlist:
        raise syntax_error()
    groups = None if args.by is None else args.by.ids
    mask = row_mask(session, args.if_, args.in_, groups=groups)
    selected = mask if keep else ~mask
    deleted = int((~selected).sum())
    if deleted:
        session.set_data(session.data.loc[selected])      # the index keeps the keys
    return Text(f"({deleted:,} observation{'' if deleted == 1 else 's'} deleted)")


@command("drop", "[varlist(default=none)] [if] [in]", byable="onecall")
def drop(session: Session, args: Args) -> Text | None:
    """Drop variables or observations.

    ``drop varlist``, ``drop if exp``, ``drop in range [if exp]``; under ``by`` only the
    observations form.
    """
    return _drop_or_keep(session, args, keep=False)


@command("keep", "[varlist(default=none)] [if] [in]", byable="onecall")
def keep(session: Session, args: Args) -> Text | None:
    """Keep variables or observations.

    ``keep varlist``, ``keep if exp``, ``keep in range [if exp]``; under ``by`` only the
    observations form.
    """
    return _drop_or_keep(session, args, keep=True)


@command("order", "varlist [, first last before(varname) after(varname)]")
def order(session: Session, args: Args) -> None:
    """Reorder variables.

    To the front (the default, ``first``), to the end (``last``), or before/after another variable.
    """
    placed = [o for o in ("first", "last", "before", "after") if args.options[o]]
    if len(placed) > 1:
        raise StataError("only one of first, last, before(), and after() allowed", 198)
    names = args.varlist
    rest = [v for v in session.variables if v not in names]
    anchor = args.before or args.after
    if anchor:
        if anchor in names:
            raise syntax_error()
        k = rest.index(anchor) + (0 if args.before else 1)
        cols = rest[:k] + names + rest[k:]
    else:
        cols = rest + names if args.last else names + rest
    session.set_data(session.data[cols])
    return None
