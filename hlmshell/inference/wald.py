"""Wald inference on estimated coefficients: z/t statistics, p-values, CIs and joint chi2 tests."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hlmshell.inference.distributions import chi2_sf, f_sf, normal_ppf, normal_sf, t_ppf, t_sf


@dataclass
class CoefStats:
    estimate: float
    se: float
    stat: float      # z (or t)
    p: float
    lower: float
    upper: float


def coef_stats(b: float, se: float, *, level: float = 95.0, df: float | None = None) -> CoefStats:
    """z-based (``df`` None) or t-based inference for one coefficient, as Stata's coefficient table."""
    alpha = 1 - level / 100.0
    if not np.isfinite(se) or se <= 0:
        return CoefStats(b, se, np.nan, np.nan, np.nan, np.nan)
    stat = b / se
    if df is None:
        p, crit = 2 * normal_sf(abs(stat)), normal_ppf(1 - alpha / 2)
    else:
        p, crit = 2 * t_sf(abs(stat), df), t_ppf(1 - alpha / 2, df)
    return CoefStats(b, se, stat, float(p), b - crit * se, b + crit * se)


@dataclass
class WaldTest:
    chi2: float
    df: int
    p: float
    dropped: int = 0   # constraints dropped as linearly dependent


def wald_test(R: np.ndarray, r: np.ndarray, b: np.ndarray, V: np.ndarray) -> WaldTest:
    """H0: R b = r.  Dependent constraints are dropped (Stata notes them as dropped)."""
    R = np.atleast_2d(R)
    keep: list[int] = []
    for i in range(R.shape[0]):
        trial = R[keep + [i]]
        if np.linalg.matrix_rank(trial, tol=1e-10) == len(keep) + 1:
            keep.append(i)
    Rk, rk = R[keep], np.asarray(r, dtype=float)[keep]
    diff = Rk @ b - rk
    middle = Rk @ V @ Rk.T
    chi2 = float(diff @ np.linalg.solve(middle, diff)) if len(keep) else np.nan
    df = len(keep)
    return WaldTest(chi2, df, float(chi2_sf(chi2, df)) if df else np.nan, R.shape[0] - df)


def f_test_p(F: float, df_m: float, df_r: float) -> float:
    """Prob > F of a model's F statistic (NaN when the model has no degrees of freedom)."""
    if df_m == 0 or not math.isfinite(F) or df_r <= 0:
        return math.nan
    return float(f_sf(F, df_m, df_r))


def fixed_effects_test(design, beta: np.ndarray, V: np.ndarray) -> tuple[float, int, float]:
    """The header's Wald test (chi2, df, p) that every fixed effect but the constant is zero (NaN,
    0, NaN when there is nothing but the constant)."""
    tested = [i for i, j in enumerate(design.estimable) if design.columns[j].kind != "constant"]
    if not tested:
        return math.nan, 0, math.nan
    test = wald_test(np.eye(len(beta))[tested], np.zeros(len(tested)), beta, V)
    return test.chi2, test.df, test.p
