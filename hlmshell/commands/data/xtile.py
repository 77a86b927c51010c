"""xtile newvar = exp [if] [in] [, nquantiles(#) cutpoints(varname) altdef]: quantile categories.

As Stata's xtile: the cutpoints are the percentiles 100k/n, k = 1..n-1, of the nonmissing values in
the sample (summarize's definition, or ``altdef``'s interpolation), or the nonmissing values of the
``cutpoints()`` variable, sorted; a value gets 1 when it is at most the first cutpoint, k when it
lies in (cutpoint k-1, cutpoint k], and n when it exceeds them all; missing stays missing.  The
new variable is a byte (an int from 100 categories) unless a type is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("xtile", "newvarname =exp [if] [in] [, Nquantiles(integer 2) Cutpoints(varname) ALTdef]")
def xtile(session: Session, args: Args) -> None:
    """Create a variable of quantile categories."""
    from hlmshell.commands.data.generate import full_values, insert_column
    from hlmshell.data import storage
    from hlmshell.data.statistics import altdef_percentile, stata_percentile
    from hlmshell.lang.expr import column_values, is_string_value, row_mask

    if args.cutpoints is not None and "nquantiles" in args.given:
        raise StataError("nquantiles() and cutpoints() may not be specified together", 198)
    n = args.nquantiles
    if not 2 <= n <= 1000:
        raise StataError("nquantiles() must be between 2 and 1000", 198)
    mask = row_mask(session, args.if_, args.in_)
    x = full_values(session, args.exp, None)
    if is_string_value(x):
        raise StataError("type mismatch", 109)
    use = mask & ~np.isnan(x)
    if not use.any():
        raise StataError("no observations", 2000)
    if args.cutpoints is not None:
        c = column_values(session.data, args.cutpoints)
        if c.dtype == object:
            raise StataError("type mismatch", 109)
        cuts = np.sort(c[~np.isnan(c)])
    else:
        s = np.sort(x[use])
        pct = altdef_percentile if args.altdef else stata_percentile
        cuts = np.array([pct(s, 100.0 * k / n) for k in range(1, n)])
    codes = np.searchsorted(cuts, x, side="left") + 1.0
    kind = args.storage_type or ("byte" if len(cuts) < 100 else "int")
    column = storage.numeric_series(np.where(use, codes, np.nan), kind)
    session.set_data(insert_column(session.data, args.newvars[0], column))
