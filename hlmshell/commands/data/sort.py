"""sort and gsort: stable sorts in Stata's order (missing after every number)."""

from __future__ import annotations

import re

import numpy as np

from hlmshell.commands.data.generate import insert_column
from hlmshell.data import storage
from hlmshell.data.sorting import sort_order
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.syntax import parse_syntax
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("sort", 2, usage="sort varlist [in] [, stable]")
def sort(session: Session, cmd: Command) -> None:
    """Sort the data in ascending order of varlist (always stable here)."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    syn.options.take("stable")
    syn.options.finish()
    if cmd.by:
        raise StataError("sort may not be combined with by", 190)
    if syn.if_ is not None:
        raise StataError("if not allowed", 101)
    keys = varlist.expand(session.variables, syn.anything)
    data = session.data
    if syn.in_ is not None:
        from hlmshell.lang.expr import row_mask
        rows = np.flatnonzero(row_mask(session, None, syn.in_))
        part = data.iloc[rows].reset_index(drop=True)
        order = np.arange(len(data))
        order[rows] = rows[sort_order(part, keys)]
        session.set_data(data.iloc[order].reset_index(drop=True))
        session.sortedby = []
        return None
    session.set_data(data.iloc[sort_order(data, keys)].reset_index(drop=True))
    session.sortedby = list(keys)
    return None


_GSORT_TERM = re.compile(r"^([+-]?)(\S+)$")


@command("gsort", 5, usage="gsort [+|-]varname [[+|-]varname ...] [, generate(newvar) mfirst]")
def gsort(session: Session, cmd: Command) -> None:
    """Sort in ascending (+) or descending (-) order; missing values last unless mfirst."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    mfirst = syn.options.take("mfirst", 2)
    gen = syn.options.take_arg("generate", 1)
    syn.options.take("stable")
    syn.options.finish()
    if cmd.by:
        raise StataError("gsort may not be combined with by", 190)
    if syn.if_ is not None or syn.in_ is not None:
        raise syntax_error()
    text = re.sub(r"([+-])\s+", r"\1", syn.anything)
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
    if gen:
        varlist.new_name(session.variables, gen)
    order = sort_order(session.data, keys, descending=desc, missing_first=mfirst)
    data = session.data.iloc[order].reset_index(drop=True)
    if gen:
        codes = data[keys].astype(object).where(data[keys].notna(), None)
        change = np.ones(len(data), dtype=bool)
        if len(data) > 1:
            change[1:] = (codes.iloc[1:].to_numpy() != codes.iloc[:-1].to_numpy()).any(axis=1)
        data = insert_column(data, gen, storage.numeric_series(np.cumsum(change), "double"))
    session.set_data(data)
    session.sortedby = list(keys) if not any(desc) else []
    return None
