"""What every estimation command posts the same way: e(b), e(V), e(sample), the model, replay, and
the r(table) Stata leaves behind when it shows a coefficient table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from hlmshell.results.stored import EResults, Results, StataMatrix

if TYPE_CHECKING:
    from hlmshell.shell.session import Session

TABLE_ROWS = ("b", "se", "{stat}", "pvalue", "ll", "ul", "df", "crit", "eform")


def post_model(session: Session, e: EResults, model: Any, sample: np.ndarray,
               output: Callable[[Any, Any], Any], display: Any) -> EResults:
    """Fill ``e`` with the model's e(b) and e(V) (named by its coef_names), e(sample) as the keys
    of ``sample``, and replay through ``output(model, display)``; r() becomes r(table) and
    r(level) at ``display.level``."""
    names = list(model.coef_names)
    e.matrices["b"] = StataMatrix(model.coef.reshape(1, -1), ["y1"], names)
    e.matrices["V"] = StataMatrix(model.vcov, list(names), list(names))
    e.sample = session.sample_keys(sample)
    e.model = model
    e.show, e.display = lambda e, d: [output(e.model, d)], display
    session.r = coef_table_results(e, display.level)
    return e


def coef_table_results(e: EResults, level: float) -> Results:
    """r(table): b, se, z (t when the model has residual df), pvalue, ll, ul, df, crit and eform
    of every column of e(b); base and omitted columns have missing everything but b."""
    from hlmshell.inference.distributions import normal_ppf, t_ppf
    from hlmshell.inference.wald import coef_stats

    b, V = e.matrices["b"], e.matrices["V"]
    df = getattr(e.model, "df_resid", None)
    alpha = 1 - level / 100
    crit = float(t_ppf(1 - alpha / 2, df) if df is not None else normal_ppf(1 - alpha / 2))
    columns = []
    for j, bj in enumerate(b.values.reshape(-1)):
        var = V.values[j, j]
        if var > 0:
            st = coef_stats(float(bj), float(np.sqrt(var)), level=level, df=df)
            columns.append([st.estimate, st.se, st.stat, st.p, st.lower, st.upper,
                            np.nan if df is None else df, crit, 0.0])
        else:
            columns.append([float(bj), *[np.nan] * 5, np.nan if df is None else df, crit, 0.0])
    rows = [r.format(stat="z" if df is None else "t") for r in TABLE_ROWS]
    table = StataMatrix(np.array(columns).T, rows, list(b.colnames))
    return Results(scalars={"level": float(level)}, matrices={"table": table})
