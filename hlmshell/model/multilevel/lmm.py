"""Linear mixed models by maximum likelihood or REML (Stata's `mixed`).

The likelihood is profiled over β (GLS) and σ², evaluated from per-group cross-products
(mixed_likelihood), maximised over log-Cholesky relative factors (mixed_optimise), and then
mapped to Stata's ancillary metric γ = (lns…, atr…, lnsig_e), where V(γ) comes from a numerical
Hessian of the log likelihood with β profiled and σ_e not profiled (notes §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

from hlmshell.errors import StataError

from . import covariance as cv
from .crossprod import Layout, build_layout, build_levels
from .likelihood import Core, core, ll_at_sigma, ols_ll, profiled_ll, sigma2_hat
from .optimise import hessian, maximise


@dataclass
class REEquation:
    level: int  # index of its grouping level, 0 = outermost
    names: list[str]  # display names of the random-effect variables, "_cons" last if present
    Z: np.ndarray  # n x q float64 (column of ones for _cons)
    cov: str  # "identity" | "independent" | "exchangeable" | "unstructured"


@dataclass
class MixedFit:
    method: str  # "ML" | "REML"
    n: int
    p: int
    beta: np.ndarray
    V_beta: np.ndarray
    sigma2: float
    Sigma: list[np.ndarray]  # per equation (in the order given), variance scale
    gamma: np.ndarray  # Stata's e(b) order: per level, per equation, then lnsig_e
    gamma_names: list[str]
    gamma_eq: list[int]  # equation index of each γ element (-1 for lnsig_e)
    V_gamma: np.ndarray
    ll: float
    ll_c: float
    df_c: int
    chi2_c: float
    p_c: float
    converged: bool
    iterations: int
    se_failed: bool
    n_groups: list[int]  # per level (combination groups for nested levels)
    g_min: list[int]
    g_avg: list[float]
    g_max: list[int]
    eq_levels: list[int]
    eq_covs: list[str]
    eq_names: list[list[str]]
    theta: np.ndarray = field(repr=False, default=None)
    layout: Layout = field(repr=False, default=None)
    core: Core = field(repr=False, default=None)


BOUNDARY_ATANH = 5.0   # |corr| > 0.9999: the likelihood is flat in atanh(corr) out there


def gamma_covariance(H: np.ndarray, gamma: np.ndarray, names: list[str]) -> tuple[np.ndarray, bool]:
    """V(γ) = (−H)⁻¹, and whether that failed.

    When a correlation sits on the boundary (|corr| → 1, e.g. HSB's ``c.ses##i.sector || id: ses``)
    the log likelihood is flat in its atanh and −H is singular.  Stata, stopping a step short, still
    inverts a barely regular Hessian there; we hold such correlations fixed instead: their rows of
    V(γ) are zero and the other parameters' covariance comes from the rest of −H.  (The delta-method
    SE of a covariance then rests on its two variances, which is its derivative at |corr| = 1.)
    """
    k = len(gamma)
    free = [i for i in range(k)
            if not (names[i].startswith("atr") and abs(gamma[i]) > BOUNDARY_ATANH)]
    V = np.full((k, k), np.nan)
    if not np.all(np.isfinite(H)):
        return V, True
    sub = -H[np.ix_(free, free)]
    try:
        np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:
        return V, True
    V = np.zeros((k, k))
    inv = np.linalg.inv(sub)
    V[np.ix_(free, free)] = 0.5 * (inv + inv.T)
    return V, False


def _theta_slices(eqs: list[REEquation]) -> list[slice]:
    out, pos = [], 0
    for e in eqs:
        k = cv.n_theta(e.cov, e.Z.shape[1])
        out.append(slice(pos, pos + k))
        pos += k
    return out


def _gamma_order(eqs: list[REEquation]) -> list[int]:
    """Equations sorted by level, keeping the typed order within a level (Stata's E index)."""
    return sorted(range(len(eqs)), key=lambda i: (eqs[i].level, i))


def _check(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray], eqs: list[REEquation]) -> None:
    n = y.shape[0]
    if X.shape[0] != n or any(len(np.asarray(lv)) != n for lv in levels):
        raise ValueError("y, X and levels must have the same number of rows")
    for e in eqs:
        if e.cov not in cv.COV_TYPES:
            raise ValueError(f"unknown covariance structure {e.cov}")
        if not 0 <= e.level < len(levels):
            raise ValueError("equation level out of range")
        if e.Z.shape != (n, len(e.names)):
            raise ValueError("Z must be n x len(names)")
        if e.cov == "exchangeable" and e.Z.shape[1] < 2:
            raise StataError("exchangeable covariance requires at least two random effects", 198)


def fit_mixed(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray], equations: list[REEquation], *,
              reml: bool = False, maxiter: int = 300, tol: float = 1e-10,
              on_iteration: Callable[[int, float], None] | None = None) -> MixedFit:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    X = np.asarray(X, dtype=np.float64).reshape(y.shape[0], -1)
    _check(y, X, levels, equations)
    n, p = X.shape
    if n <= p:
        raise StataError("insufficient observations", 2001)
    infos = build_levels(levels, n)
    eq_Z = [np.asarray(e.Z, dtype=np.float64) for e in equations]
    layout = build_layout(y, X, infos, [e.level for e in equations], eq_Z)
    slices = _theta_slices(equations)

    def factors_theta(theta: np.ndarray) -> list[np.ndarray]:
        return [cv.lambda_from_theta(e.cov, e.Z.shape[1], theta[s]) for e, s in zip(equations, slices)]

    def ll_theta(theta: np.ndarray) -> float:
        c = core(layout, factors_theta(theta))
        return -np.inf if c is None else profiled_ll(c, n, p, reml)

    theta0 = np.concatenate([cv.theta_start(e.cov, e.Z.shape[1]) for e in equations]) \
        if equations else np.zeros(0)
    if not np.isfinite(ll_theta(theta0)):
        raise StataError("initial values not feasible", 1400)
    if theta0.size:
        opt = maximise(ll_theta, theta0, maxiter=maxiter, tol=tol, on_iteration=on_iteration)
        theta, converged, iterations = opt.x, opt.converged, opt.iterations
    else:
        theta, converged, iterations = theta0, True, 0
        if on_iteration is not None:
            on_iteration(0, ll_theta(theta0))
    c = core(layout, factors_theta(theta))
    ll = profiled_ll(c, n, p, reml)
    s2 = sigma2_hat(c, n, p, reml)
    Sigma = [s2 * F @ F.T for F in factors_theta(theta)]

    # γ in Stata's order and its covariance from the Hessian with σ_e not profiled
    order = _gamma_order(equations)
    level_eq_count: dict[int, int] = {}
    names: list[str] = []
    gparts: list[np.ndarray] = []
    gamma_eq: list[int] = []
    gslices: dict[int, slice] = {}
    pos = 0
    for i in order:
        e = equations[i]
        E = level_eq_count.get(e.level, 0)
        level_eq_count[e.level] = E + 1
        nm = cv.gamma_names(e.cov, e.Z.shape[1], e.level, E)
        names += nm
        gparts.append(cv.gamma_from_cov(e.cov, Sigma[i]))
        gamma_eq += [i] * len(nm)
        gslices[i] = slice(pos, pos + len(nm))
        pos += len(nm)
    names.append("lnsig_e")
    gamma_eq.append(-1)
    gamma = np.concatenate(gparts + [np.array([0.5 * np.log(s2)])])

    def ll_gamma(g: np.ndarray) -> float:
        sig2 = np.exp(2 * g[-1])
        try:
            facs = [cv.relfactor_from_relcov(e.cov, cv.cov_from_gamma(e.cov, e.Z.shape[1], g[gslices[i]]) / sig2)
                    for i, e in enumerate(equations)]
        except np.linalg.LinAlgError:
            return np.nan
        cc = core(layout, facs)
        return np.nan if cc is None else ll_at_sigma(cc, n, p, reml, sig2)

    with np.errstate(all="ignore"):
        H = hessian(ll_gamma, gamma, h=1e-3, richardson=False)
    V_gamma, se_failed = gamma_covariance(H, gamma, names)

    V_beta = s2 * np.linalg.inv(c.XtVX) if p else np.zeros((0, 0))
    ll_c = ols_ll(layout.XytXy, n, reml)
    df_c = len(gamma) - 1
    chi2_c = max(0.0, 2.0 * (ll - ll_c))
    p_c = float(stats.chi2.sf(chi2_c, df_c)) if df_c else float("nan")
    if df_c == 1 and chi2_c > 1e-5:
        p_c *= 0.5
    return MixedFit(
        method="REML" if reml else "ML", n=n, p=p, beta=c.beta.copy(), V_beta=V_beta, sigma2=s2,
        Sigma=Sigma, gamma=gamma, gamma_names=names, gamma_eq=gamma_eq, V_gamma=V_gamma, ll=ll,
        ll_c=ll_c, df_c=df_c, chi2_c=chi2_c, p_c=p_c, converged=bool(converged),
        iterations=int(iterations), se_failed=se_failed,
        n_groups=[li.n_groups for li in infos], g_min=[li.g_min for li in infos],
        g_avg=[li.g_avg for li in infos], g_max=[li.g_max for li in infos],
        eq_levels=[e.level for e in equations], eq_covs=[e.cov for e in equations],
        eq_names=[list(e.names) for e in equations], theta=theta, layout=layout, core=c)


from .blup import fitted_values, group_of_rows, random_effects  # noqa: E402  (re-export)

__all__ = ["REEquation", "MixedFit", "fit_mixed", "random_effects", "group_of_rows", "fitted_values"]
