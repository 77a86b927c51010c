"""r(table) of the post-estimation commands that estimate several quantities (margins, contrast,
pwcompare, nlcom): the rows ``b se z pvalue ll ul df crit eform``, one column per estimate."""

from __future__ import annotations

import numpy as np

from hlmshell.inference.contrast import adjusted, two_sided_p
from hlmshell.results.stored import StataMatrix

ROWS = ["b", "se", "z", "pvalue", "ll", "ul", "df", "crit", "eform"]


def statistics(est: np.ndarray, se: np.ndarray, df: np.ndarray | None, level: float,
               p: np.ndarray | None = None, crit: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z (or t), p and critical values (unadjusted unless given)."""
    stat = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
    p = two_sided_p(stat, df) if p is None else p
    if crit is None:
        _, crit = adjusted(stat, p, df, level, "noadjust", 1, 1)
    return stat, p, crit


def table_matrix(names: list[str], est: np.ndarray, se: np.ndarray, df: np.ndarray | None,
                 level: float, p: np.ndarray | None = None,
                 crit: np.ndarray | None = None) -> StataMatrix:
    stat, p, crit = statistics(est, se, df, level, p, crit)
    dfs = np.full(len(est), np.nan) if df is None else np.broadcast_to(df, len(est))
    values = np.vstack([est, se, stat, p, est - crit * se, est + crit * se, dfs, crit,
                        np.zeros(len(est))])
    return StataMatrix(values, list(ROWS), list(names))
