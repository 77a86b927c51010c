"""Ordinary least squares as Stata's ``regress`` computes it (no weights, conventional VCE).

With a constant, the total sum of squares is taken about the mean and the model has ``k - 1`` degrees
of freedom; with ``noconstant`` it is the raw sum of squares and the model has ``k``.  The log
likelihoods are those of the normal linear model at the ML variance:
``ll = -n/2 (ln 2π + ln(RSS/n) + 1)``, and ``ll_0`` the same for the constant-only model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.model.design import Design
from hlmshell.model.protocol import FitRecordModel, Influence, Statistic

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class OLSFit:
    beta: np.ndarray      # k coefficients, in the order of X's columns
    V: np.ndarray         # k x k conventional variance matrix s² (X'X)⁻¹
    n: int
    df_m: int
    df_r: int
    rss: float
    mss: float
    r2: float
    r2_a: float
    rmse: float
    F: float              # NaN when undefined (perfect fit, no residual df)
    ll: float
    ll_0: float
    constant: bool = True

    @property
    def tss(self) -> float:
        return self.mss + self.rss


def _loglik(n: int, ss: float) -> float:
    if n == 0 or ss <= 0:
        return math.nan
    return -0.5 * n * (math.log(2 * math.pi) + math.log(ss / n) + 1.0)


def fit_ols(y: np.ndarray, X: np.ndarray, *, constant: bool = True) -> OLSFit:
    """Least squares of ``y`` on the full-rank columns ``X`` (the constant, if any, among them).

    ``constant`` says whether X includes the intercept column; it decides how R² and the model
    degrees of freedom are computed (Stata's ``noconstant``).
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    if k:
        Q, R = np.linalg.qr(X)
        beta = np.linalg.solve(R, Q.T @ y)
        Rinv = np.linalg.solve(R, np.eye(k))
        xtx_inv = Rinv @ Rinv.T
        resid = y - X @ beta
    else:
        beta, xtx_inv, resid = np.zeros(0), np.zeros((0, 0)), y.copy()
    rss = float(resid @ resid)
    centred = y - y.mean() if n else y
    tss_c = float(centred @ centred)
    tss = tss_c if constant else float(y @ y)
    mss = max(tss - rss, 0.0)
    df_m = k - 1 if constant else k
    df_r = n - k
    s2 = rss / df_r if df_r > 0 else math.nan
    if df_m == 0:
        F = 0.0
    elif df_r > 0 and rss > 0:
        F = (mss / df_m) / s2
    else:
        F = math.nan
    r2 = mss / tss if tss > 0 else math.nan
    r2_a = 1 - (1 - r2) * (n - (1 if constant else 0)) / df_r if df_r > 0 else math.nan
    return OLSFit(beta=beta, V=s2 * xtx_inv, n=n, df_m=df_m, df_r=df_r, rss=rss, mss=mss, r2=r2,
                  r2_a=r2_a, rmse=math.sqrt(s2) if df_r > 0 else math.nan, F=F,
                  ll=_loglik(n, rss), ll_0=_loglik(n, tss_c), constant=constant)


@dataclass
class RegressionModel(FitRecordModel):
    """A linear regression in the fitted-model protocol."""

    depvar: str
    design: Design
    fit: OLSFit

    kind = "linear"

    @property
    def coef_names(self) -> list[str]:
        return self.design.names

    @property
    def coef(self) -> np.ndarray:
        return self.design.expand(self.fit.beta)

    @property
    def vcov(self) -> np.ndarray:
        return self.design.expand_matrix(self.fit.V)

    @property
    def df_resid(self) -> float | None:
        return float(self.fit.df_r)

    @property
    def statistics(self) -> tuple[Statistic, ...]:
        return (Statistic("xb", "Linear prediction"), Statistic("residuals", "Residuals"),
                Statistic("stdp", "S.E. of the prediction"))

    def predict(self, stat: str, data: "pd.DataFrame") -> list[np.ndarray]:
        X = self.design.matrix(data)
        xb = X @ self.fit.beta if len(self.fit.beta) else np.zeros(len(data))
        if stat == "xb":
            return [xb]
        if stat == "stdp":
            return [np.sqrt(np.einsum("ij,jk,ik->i", X, self.fit.V, X))]
        return [data[self.depvar].to_numpy(dtype=float, na_value=np.nan) - xb]

    def influence(self, data: "pd.DataFrame") -> Influence:
        """(X'X)⁻¹ x_i e_i on every row (Stata's margins: e(V)/e(rmse)² times the score, the
        residual, times x_i); the robust scale is N / (N - k)."""
        X = self.design.matrix(data)
        e = data[self.depvar].to_numpy(dtype=float) - X @ self.fit.beta
        out = np.zeros((len(data), len(self.design.columns)))
        out[:, self.design.estimable] = (X * e[:, None]) @ (self.fit.V / self.fit.rmse ** 2)
        return Influence(out, len(self.fit.beta))

    def jacobian(self, stat: str, data: "pd.DataFrame") -> np.ndarray:
        if stat != "xb":
            raise ValueError(f"no derivatives of {stat}")
        out = np.zeros((len(data), len(self.design.columns)))
        out[:, self.design.estimable] = self.design.matrix(data)
        return out
