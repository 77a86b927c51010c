"""xtsum varlist [if] [in]: overall, between (panel means) and within (x_it − x̄_i + x̄) summaries.

As Stata's xtsum: only observations with the variable and the panel variable present count; the
between statistics are over the panels' means, the within ones over the deviations from them plus
the overall mean; N, n and T-bar = N/n (T when every panel has the same number).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.commands.data.xtset import panel_setting
from hlmshell.errors import StataError
from hlmshell.results.panel import XtsumRow, XtsumTable
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def _summary(x: np.ndarray) -> tuple[float, float, float]:
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else np.nan
    return sd, float(x.min()), float(x.max())


@command("xtsum", "[varlist] [if] [in]", byable="recall")
def xtsum(session: Session, args: Args) -> XtsumTable:
    """Summarize panel data: overall, between-panel and within-panel variation."""
    from hlmshell.lang.expr import column_values, row_mask
    from hlmshell.model.panel import make_panels

    xt = panel_setting(session)
    rows = row_mask(session, args.if_, args.in_)
    panel = column_values(session.data, xt.panel)
    out = []
    scalars: dict[str, float] = {}
    for name in args.varlist:
        if session.is_string(name):
            raise StataError(f"string variables not allowed in varlist;\n{name} is a string "
                             "variable", 109)
        x = column_values(session.data, name)
        use = rows & ~np.isnan(x) & ~np.isnan(panel)
        if not use.any():
            out.append(XtsumRow(name, np.nan, (np.nan,) * 3, (np.nan,) * 3, (np.nan,) * 3, 0, 0,
                                np.nan, False))
            continue
        v = x[use]
        panels = make_panels(panel[use])
        means = panels.means(v)
        within = v - means[panels.codes] + v.mean()
        sizes = panels.sizes
        out.append(XtsumRow(name, float(v.mean()), _summary(v), _summary(means), _summary(within),
                            int(use.sum()), panels.n, float(use.sum()) / panels.n,
                            bool((sizes == sizes[0]).all())))
        scalars = {"N": float(use.sum()), "n": float(panels.n), "Tbar": float(use.sum()) / panels.n,
                   "mean": float(v.mean()), "sd": out[-1].overall[0], "min": out[-1].overall[1],
                   "max": out[-1].overall[2], "sd_b": out[-1].between[0],
                   "min_b": out[-1].between[1], "max_b": out[-1].between[2],
                   "sd_w": out[-1].within[0], "min_w": out[-1].within[1],
                   "max_w": out[-1].within[2]}
    session.r = Results(scalars=scalars)
    return XtsumTable(tuple(out))
