"""Fitted curves for ``twoway lfit``, ``qfit`` and ``lfitci``: ``regress y x [x²]`` evaluated on a grid.

The regression is :func:`hlmshell.model.linear.fit_ols` (the same numbers as ``regress``); the standard
errors at the evaluation points are those of ``predict, stdp`` (the fitted mean), ``stdf`` (a new
observation: stdp² + s²) and ``stdr`` (a residual: s² − stdp²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.model.errors import ModelError
from hlmshell.model.linear import OLSFit, fit_ols


@dataclass(frozen=True, eq=False)
class CurveFit:
    """A polynomial fit of y on x and its predictions at ``at``."""

    fit: OLSFit            # coefficients in regress's order: x, x², ..., _cons
    at: np.ndarray
    yhat: np.ndarray
    stdp: np.ndarray

    @property
    def s2(self) -> float:
        return self.fit.rss / self.fit.df_r if self.fit.df_r > 0 else float("nan")

    def se(self, kind: str) -> np.ndarray:
        """``stdp``, ``stdf`` or ``stdr`` at the evaluation points."""
        if kind == "stdp":
            return self.stdp
        if kind == "stdf":
            return np.sqrt(self.stdp ** 2 + self.s2)
        return np.sqrt(np.maximum(self.s2 - self.stdp ** 2, 0.0))


def _powers(x: np.ndarray, degree: int) -> np.ndarray:
    return np.column_stack([x ** d for d in range(1, degree + 1)] + [np.ones(len(x))])


def polynomial_fit(x: np.ndarray, y: np.ndarray, degree: int, at: np.ndarray) -> CurveFit:
    """Least squares of y on x, …, x^degree and a constant, predicted at ``at``."""
    x, y, at = (np.asarray(v, dtype=float) for v in (x, y, at))
    X = _powers(x, degree)
    if len(x) < X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        raise ModelError("insufficient_observations")
    fit = fit_ols(y, X)
    A = _powers(at, degree)
    stdp = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", A, fit.V, A), 0.0))
    return CurveFit(fit, at, A @ fit.beta, stdp)


def evaluation_points(x: np.ndarray, n: int, lower: float | None = None,
                      upper: float | None = None) -> np.ndarray:
    """``n`` evenly spaced points from ``lower`` (default min x) to ``upper`` (default max x)."""
    lo = float(np.min(x)) if lower is None else lower
    hi = float(np.max(x)) if upper is None else upper
    return lo + np.arange(n) * (hi - lo) / (n - 1) if n > 1 else np.array([lo])
