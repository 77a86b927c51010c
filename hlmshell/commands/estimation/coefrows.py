"""The rows of a coefficient table from a design and its estimates (shared by mixed and regress)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.inference.wald import coef_stats
from hlmshell.results.estimation import CoefRow

if TYPE_CHECKING:
    from hlmshell.model.design import Design


def coef_rows(design: "Design", beta: np.ndarray, V: np.ndarray, level: float, *,
              df: float | np.ndarray | None = None, baselevels: bool = False
              ) -> tuple[CoefRow, ...]:
    """Rows in Stata's layout: base levels hidden (unless ``baselevels``), factor terms grouped.

    A factor main effect with a single row prints compactly (``1.sector``); interaction levels always
    print under their term (``sector#c.ses`` / ``1``), as in Stata.  ``df`` gives t statistics
    (regress: one df; mixed with dfmethod(): one per estimable coefficient); without it they are
    z statistics (mixed).
    """
    visible = [c for c in design.columns if baselevels or not c.base]
    shown: dict[str, int] = {}
    for c in visible:
        shown[c.term] = shown.get(c.term, 0) + 1
    position = {j: i for i, j in enumerate(design.estimable)}
    rows = []
    for j, c in enumerate(design.columns):
        if c.base and not baselevels:
            continue
        grouped = (c.kind == "interaction" and c.level != "") or (c.kind == "factor" and shown[c.term] > 1)
        label, term = (c.level, c.term) if grouped else (c.label, "")
        if not c.estimable:
            status = "base" if c.base else "empty" if c.empty else "omitted"
            rows.append(CoefRow(label=label, term=term, status=status))
            continue
        i = position[j]
        row_df = None if df is None else float(np.broadcast_to(df, len(beta))[i])
        st = coef_stats(float(beta[i]), float(np.sqrt(V[i, i])), level=level, df=row_df)
        rows.append(CoefRow(label=label, coef=st.estimate, se=st.se, z=st.stat, p=st.p,
                            lower=st.lower, upper=st.upper, term=term))
    return tuple(rows)


def offset_rows(offset: str, exposure: str) -> tuple[CoefRow, ...]:
    """The row Stata adds below the coefficients for a variable entering with coefficient 1:
    ``lh |  1  (offset)`` or ``ln(h) |  1  (exposure)``; none without one."""
    if offset:
        return (CoefRow(offset, 1.0, status="offset"),)
    if exposure:
        return (CoefRow(f"ln({exposure})", 1.0, status="exposure"),)
    return ()
