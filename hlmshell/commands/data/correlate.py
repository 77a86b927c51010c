"""correlate [varlist] [if] [in] [, covariance]: correlations (or covariances), casewise deletion.

r(N), r(rho) (two variables; with covariance r(cov_12), r(Var_1), r(Var_2)) and the matrix r(C).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.results.data import CorrelationTable
from hlmshell.results.stored import Results, StataMatrix
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("CORrelate", "[varlist] [if] [in] [, COVariance]", byable="recall", aliases=("corr",))
def correlate(session: Session, args: Args) -> CorrelationTable:
    """Correlation (or covariance) matrix of variables, over observations with none missing."""
    from hlmshell.lang.expr import row_mask

    names = args.varlist
    strings = [n for n in names if session.is_string(n)]
    if strings:
        if args.varlist_text.strip():
            raise StataError("string variables not allowed in varlist;\n"
                             f"{strings[0]} is a string variable", 109)
        names = [n for n in names if n not in strings]
    rows = row_mask(session, args.if_, args.in_)
    x = session.data[names].to_numpy(dtype=float, na_value=np.nan)[rows]
    x = x[~np.isnan(x).any(axis=1)]
    n = len(x)
    if n == 0:
        raise StataError("no observations", 2000)
    cov = np.cov(x, rowvar=False, ddof=1).reshape(len(names), len(names)) if n > 1 \
        else np.full((len(names), len(names)), np.nan)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    matrix = cov if args.covariance else corr
    scalars = {"N": float(n)}
    if len(names) == 2:
        if args.covariance:
            scalars.update(cov_12=float(cov[0, 1]), Var_1=float(cov[0, 0]), Var_2=float(cov[1, 1]))
        else:
            scalars["rho"] = float(corr[0, 1])
    session.r = Results(scalars=scalars,
                        matrices={"C": StataMatrix(matrix.copy(), list(names), list(names))})
    return CorrelationTable(names, matrix, n, args.covariance)
