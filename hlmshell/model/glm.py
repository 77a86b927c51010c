"""Single-level generalized linear models by Newton–Raphson: Stata's ``logit``, ``probit``,
``cloglog``, ``poisson``, ``nbreg`` (mean or constant dispersion) and the Gaussian linear model.

They are the commands of the same names and the comparison models of the GLMMs (the LR test
``vs. logistic model``) and their starting values.  The log likelihood includes every constant (ln
C(n, y), ln y!), as Stata's e(ll) does; V is the inverse of the observed information (Stata's
``vce(oim)``).  Newton steps use the analytic score and Hessian in β; the ancillary parameter
(ln α, ln δ, ln σ) joins the Newton system with its analytic score (``Family.d_ancillary``) and
central differences of the scores for its second derivatives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.model.design import Design
from hlmshell.model.errors import ModelError
from hlmshell.model.multilevel.families import Family
from hlmshell.model.protocol import FitRecordModel, Statistic

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class GLMFit:
    """A fitted GLM, in numbers (β over the design's estimable columns)."""

    family: Family
    beta: np.ndarray
    anc: float | None             # the ancillary parameter in its log metric (None: none)
    V: np.ndarray                 # over (β, anc)
    ll: float
    n: int
    converged: bool
    iterations: int
    log: list[tuple[int, float]] = field(default_factory=list)

    @property
    def params(self) -> np.ndarray:
        return self.beta if self.anc is None else np.r_[self.beta, self.anc]


def _start_eta(family: Family, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A linear predictor near the data (glm's initialisation) for the first least-squares fit."""
    from scipy import special

    if family.binary:
        p = (y + 0.5) / (n + 1.0)
        if family.link == "logit":
            return special.logit(p)
        if family.link == "probit":
            return special.ndtri(p)
        return np.log(-np.log1p(-p))
    if family.name == "gaussian":
        return y.astype(float)
    return np.log(y + 0.5)


def _loglik(family, eta, y, n, anc):
    return float(np.sum(family.loglik(eta, y, n, anc)))


def fit_glm(y: np.ndarray, X: np.ndarray, family: Family, *, trials: np.ndarray | None = None,
            offset: np.ndarray | None = None, maxiter: int = 300, tol: float = 1e-10,
            start: np.ndarray | None = None) -> GLMFit:
    """Maximum likelihood by Newton–Raphson with step halving, from ``start`` (β, then the
    ancillary parameter) or from a least-squares fit to a linearised response."""
    with np.errstate(all="ignore"):      # trial points far out overflow; they are -inf
        return _fit_glm(y, X, family, trials=trials, offset=offset, maxiter=maxiter, tol=tol,
                        start=start)


def _fit_glm(y: np.ndarray, X: np.ndarray, family: Family, *, trials: np.ndarray | None = None,
            offset: np.ndarray | None = None, maxiter: int = 300, tol: float = 1e-10,
            start: np.ndarray | None = None) -> GLMFit:

    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(y.shape[0], -1)
    m, p = X.shape
    ntr = np.ones(m) if trials is None else np.asarray(trials, dtype=float)
    off = np.zeros(m) if offset is None else np.asarray(offset, dtype=float)
    has_anc = family.ancillary is not None
    if start is not None:
        psi = np.asarray(start, dtype=float).copy()
    else:
        beta = np.linalg.lstsq(X, _start_eta(family, y, ntr) - off, rcond=None)[0] if p else np.zeros(0)
        psi = beta if not has_anc else np.r_[beta, _start_anc(family, y, X @ beta + off)]

    def split(v):
        return (v[:p], float(v[p])) if has_anc else (v, 0.0)

    def value(v):
        b, a = split(v)
        return _loglik(family, X @ b + off, y, ntr, a)

    def score_hess(v):
        b, a = split(v)
        eta = X @ b + off
        _, d1, d2 = family.derivatives(eta, y, ntr, a)
        g = X.T @ d1
        H = (X * d2[:, None]).T @ X
        if not has_anc:
            return g, H
        h = 1e-6
        s_up = X.T @ family.derivatives(eta, y, ntr, a + h, order=1)[1]
        s_dn = X.T @ family.derivatives(eta, y, ntr, a - h, order=1)[1]
        d_up = float(np.sum(family.d_ancillary(eta, y, a + h)))
        d_dn = float(np.sum(family.d_ancillary(eta, y, a - h)))
        G = np.r_[g, float(np.sum(family.d_ancillary(eta, y, a)))]
        Hf = np.zeros((p + 1, p + 1))
        Hf[:p, :p] = H
        Hf[:p, p] = Hf[p, :p] = (s_up - s_dn) / (2 * h)
        Hf[p, p] = (d_up - d_dn) / (2 * h)
        return G, Hf

    ll = value(psi)
    log = [(0, ll)]
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        g, H = score_hess(psi)
        w, U = np.linalg.eigh(-H)
        if not np.all(np.isfinite(w)):
            break
        w = np.maximum(w, 1e-10 * max(1.0, float(np.max(np.abs(w)))))
        step = U @ ((U.T @ g) / w)
        t = 1.0
        while True:
            trial = psi + t * step
            ll_t = value(trial)
            if np.isfinite(ll_t) and ll_t >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
            if t < 1e-10:
                ll_t, trial = ll, psi
                break
        change = abs(ll_t - ll)
        psi, ll = trial, ll_t
        log.append((it, ll))
        if float(g @ step) < tol or (change < 1e-13 * (1 + abs(ll)) and t * np.max(np.abs(step)) < 1e-9):
            converged = True
            break
    g, H = score_hess(psi)
    try:
        V = np.linalg.inv(-H)
        V = 0.5 * (V + V.T)
    except np.linalg.LinAlgError:
        V = np.full(H.shape, np.nan)
    b, a = split(psi)
    return GLMFit(family, b, a if has_anc else None, V, ll, m, converged, it, log)


def _start_anc(family: Family, y: np.ndarray, eta: np.ndarray) -> float:
    """ln α (or ln δ, ln σ) by the moments of the residuals at the starting β."""
    mu = family.mean(eta)
    if family.name == "gaussian":
        return 0.5 * math.log(max(float(np.mean((y - mu) ** 2)), 1e-12))
    excess = float(np.mean((y - mu) ** 2 - mu))
    if family.dispersion == "mean":
        return math.log(max(excess / max(float(np.mean(mu * mu)), 1e-12), 1e-4))
    return math.log(max(excess / max(float(np.mean(mu)), 1e-12), 1e-4))


def constant_only(y: np.ndarray, family: Family, *, trials: np.ndarray | None = None,
                  offset: np.ndarray | None = None) -> GLMFit:
    """The model with only an intercept (Stata's ll_0, the start of its iteration log)."""
    return fit_glm(y, np.ones((len(y), 1)), family, trials=trials, offset=offset)


def check_response(y: np.ndarray, family: Family, trials: np.ndarray | None = None,
                   depvar: str = "") -> None:
    """What the response must be for the family (ModelError otherwise); binary outcomes are 0 and
    nonzero, as Stata reads them."""
    if family.binary:
        if trials is None:
            if np.all(y != 0) or np.all(y == 0):
                raise ModelError("outcome_constant")
            return
        if np.any(trials < 0) or np.any(trials != np.floor(trials)):
            raise ModelError("bad_trials")
        if np.any(y < 0) or np.any(y > trials) or np.any(y != np.floor(y)):
            raise ModelError("bad_binomial")
        return
    if family.name in ("poisson", "nbinomial"):
        if np.any(y < 0):
            raise ModelError("negative_count", depvar=depvar)


@dataclass
class GLMModel(FitRecordModel):
    """A single-level GLM in the fitted-model protocol (``logit``, ``probit``, ``poisson``)."""

    depvar: str
    design: Design
    fit: GLMFit
    offset: str = ""               # the offset variable ("" none); ln(exposure) via ``exposure``
    exposure: str = ""

    kind = "glm"

    @property
    def coef_names(self) -> list[str]:
        names = self.design.names
        if self.fit.anc is not None:
            names = [f"{self.depvar}:{c}" for c in names] + [f"/:{self.fit.family.ancillary}"]
        return names

    @property
    def coef(self) -> np.ndarray:
        b = self.design.expand(self.fit.beta)
        return b if self.fit.anc is None else np.r_[b, self.fit.anc]

    @property
    def vcov(self) -> np.ndarray:
        k = len(self.design.columns)
        if self.fit.anc is None:
            return self.design.expand_matrix(self.fit.V)
        out = np.zeros((k + 1, k + 1))
        idx = list(self.design.estimable) + [k]
        out[np.ix_(idx, idx)] = self.fit.V
        return out

    @property
    def df_resid(self) -> float | None:
        return None

    @property
    def statistics(self) -> tuple[Statistic, ...]:
        first = "pr" if self.fit.family.binary else "n"
        label = "Pr(" + self.depvar + ")" if self.fit.family.binary else "Predicted number of events"
        return (Statistic(first, label), Statistic("xb", "Linear prediction"),
                Statistic("stdp", "S.E. of the prediction"))

    def _offset(self, data: "pd.DataFrame") -> np.ndarray:
        if self.offset:
            return data[self.offset].to_numpy(dtype=float, na_value=np.nan)
        if self.exposure:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(data[self.exposure].to_numpy(dtype=float, na_value=np.nan))
        return np.zeros(len(data))

    def _xb(self, data: "pd.DataFrame") -> np.ndarray:
        X = self.design.matrix(data)
        return (X @ self.fit.beta if len(self.fit.beta) else np.zeros(len(data))) + self._offset(data)

    def predict(self, stat: str, data: "pd.DataFrame") -> list[np.ndarray]:
        if stat == "stdp":
            X = self.design.matrix(data)
            k = len(self.fit.beta)
            return [np.sqrt(np.einsum("ij,jk,ik->i", X, self.fit.V[:k, :k], X))]
        xb = self._xb(data)
        if stat == "xb":
            return [xb]
        return [self.fit.family.mean(xb)]

    def jacobian(self, stat: str, data: "pd.DataFrame") -> np.ndarray:
        out = np.zeros((len(data), len(self.coef_names)))
        X = self.design.matrix(data)
        if stat == "xb":
            out[:, self.design.estimable] = X
        elif stat in ("pr", "n"):
            out[:, self.design.estimable] = X * self.fit.family.mean_derivative(self._xb(data))[:, None]
        else:
            raise ValueError(f"no derivatives of {stat}")
        return out
