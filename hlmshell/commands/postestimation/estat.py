"""``estat``: post-estimation statistics.  ``estat ic`` works after any model with a log likelihood;
the multilevel subcommands live in :mod:`estat_mixed`.  A subcommand that does not apply to the
active model is Stata's ``invalid subcommand`` r(321)."""

from __future__ import annotations

import numpy as np

from hlmshell.commands.postestimation.estnames import (
    ic_row,
    require_active,
    stored_name,
)
from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args
from hlmshell.results.postest import ICTable
from hlmshell.results.stored import Results, StataMatrix
from hlmshell.shell.registry import command, parent
from hlmshell.shell.session import Session

parent("ESTAT", subcommand_error="invalid subcommand {word}", subcommand_rc=321,
       summary="Post-estimation statistics: estat ic, and those of the active model.")


def _positive(value: float | None, option: str) -> float | None:
    if value is not None and value <= 0:
        raise StataError(f"option {option}() invalid", 198)
    return value


@command("estat IC", "[, N(real) DF(real)]")
def estat_ic(session: Session, args: Args) -> ICTable:
    """AIC and BIC of the active results (Model column: their stored name or .)."""
    n, df = _positive(args.n, "n"), _positive(args.df, "df")
    e = require_active(session)
    row = ic_row(stored_name(e), e, n=n, df=df)
    S = StataMatrix(np.array([[np.nan if v is None else v
                               for v in (row.N, row.ll0, row.ll, row.df, row.aic, row.bic)]]),
                    [row.name], ["N", "ll0", "ll", "df", "AIC", "BIC"])
    session.r = Results(matrices={"S": S})
    return ICTable([row], None if n is not None else "number of observations")
