"""list [varlist] [if] [in]: the observations in Stata's boxed table, numbered on the left."""

from __future__ import annotations

import numpy as np

from hlmshell.data import files as datasets
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.syntax import parse_syntax
from hlmshell.lang.varlist import expand
from hlmshell.results.data import ListColumn, ListTable
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("list", 1, usage="list [varlist] [if] [in]")
def list_(session: Session, cmd: Command) -> ListTable:
    """List observations (all variables unless a varlist is given)."""
    if cmd.by:
        raise StataError("list may not be combined with by here", 190)
    syn = parse_syntax(cmd.rest, allow_exp=False)
    syn.options.take("clean", 1)
    syn.options.finish()
    if syn.using is not None:
        raise syntax_error()
    names = expand(session.variables, syn.anything, allow_empty=True)
    rows = np.flatnonzero(row_mask(session, syn.if_, syn.in_))
    columns = []
    for name in names:
        col = session.data[name]
        values = [None if v is None or v != v else v for v in col.to_numpy(dtype=object)[rows]]
        columns.append(ListColumn(name, values, datasets.display_format(col)))
    return ListTable([int(i) + 1 for i in rows], columns, session.nobs)
