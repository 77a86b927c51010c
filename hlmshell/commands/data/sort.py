"""sort and gsort: stable sorts in Stata's order (missing after every number)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.commands.data.generate import insert_column
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("SOrt", "varlist [in] [, stable]")
def sort(session: Session, args: Args) -> None:
    """Sort the data in ascending order of varlist.

    Every sort here is stable (ties keep their order), which is what ``stable`` asks for.
    """
    from hlmshell.data.sorting import sort_order

    keys = args.varlist
    data = session.data
    if args.in_ is not None:
        from hlmshell.lang.expr import row_mask

        rows = np.flatnonzero(row_mask(session, None, args.in_))
        part = data.iloc[rows].reset_index(drop=True)
        order = np.arange(len(data))
        order[rows] = rows[sort_order(part, keys)]
        session.set_data(data.iloc[order])
        session.sortedby = []
        return None
    session.set_data(data.iloc[sort_order(data, keys)])        # the index keeps the keys
    session.sortedby = list(keys)
    return None


_GSORT_TERM = re.compile(r"^([+-]?)(\S+)$")


@command("gsort", "anything [, Generate(name) MFirst stable]")
def gsort(session: Session, args: Args) -> None:
    """Sort in ascending (+) or descending (-) order; missing values last unless mfirst."""
    from hlmshell.data import storage
    from hlmshell.data.sorting import sort_order

    text = re.sub(r"([+-])\s+", r"\1", args.anything)
    keys: list[str] = []
    desc: list[bool] = []
    for word in text.split():
        m = _GSORT_TERM.match(word)
        if not m:
            raise syntax_error()
        for name in varlist.expand(session.variables, m.group(2)):
            keys.append(name)
            desc.append(m.group(1) == "-")
    if not keys:
        raise StataError("varlist required", 100)
    gen = args.generate
    if gen:
        varlist.new_name(session.variables, gen)
    order = sort_order(session.data, keys, descending=desc, missing_first=args.mfirst)
    data = session.data.iloc[order]
    if gen:
        codes = data[keys].astype(object).where(data[keys].notna(), None)
        change = np.ones(len(data), dtype=bool)
        if len(data) > 1:
            change[1:] = (codes.iloc[1:].to_numpy() != codes.iloc[:-1].to_numpy()).any(axis=1)
        data = insert_column(data, gen, storage.numeric_series(np.cumsum(change), "double"))
    session.set_data(data)
    session.sortedby = list(keys) if not any(desc) else []
    return None
