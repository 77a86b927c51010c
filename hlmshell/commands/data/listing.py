"""list [varlist] [if] [in]: the observations in Stata's boxed table, numbered on the left.

Under ``by`` each group is listed on its own, its observations numbered within the group (``_n``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.results.data import ListColumn, ListTable
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("List", "[varlist] [if] [in] [, NOLabel]", byable="recall")
def list_(session: Session, args: Args) -> ListTable:
    """List observations (all variables unless a varlist is given); value labels are shown unless
    ``nolabel``."""
    from hlmshell.data import files as datasets
    from hlmshell.lang.expr import row_mask

    rows = np.flatnonzero(row_mask(session, args.if_, args.in_))
    columns = []
    for name in args.varlist:
        col = session.data[name]
        values = [None if v is None or v != v else v for v in col.to_numpy(dtype=object)[rows]]
        if not args.nolabel and name in session.label_names:
            values = [v if v is None else session.value_label(name, v) or v for v in values]
        columns.append(ListColumn(name, values, datasets.display_format(col)))
    group = session.by_rows
    if group is None:
        return ListTable([int(i) + 1 for i in rows], columns, session.nobs)
    within = np.cumsum(group)          # _n within the by-group
    return ListTable([int(within[i]) for i in rows], columns, int(group.sum()))
