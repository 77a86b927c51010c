"""Linear mixed models by maximum likelihood or REML (Stata's `mixed`), from arrays.

The likelihood is profiled over β (GLS) and σ² (:class:`~.response.Gaussian`), evaluated from
per-group cross-products (``crossprod``) through the block factorisation (``factor``), maximised over
log-Cholesky relative factors (``optimise``), and then mapped to Stata's ancillary metric
γ = (lns…, atr…, lnsig_e) (``covariance``), where V(γ) comes from a numerical Hessian of the log
likelihood with β profiled and σ_e not profiled (notes §2).  ``mixed_model.MixedModel`` wraps a fit
with its design and structure into the fitted-model protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hlmshell.model.errors import ModelError

from . import covariance as cv
from .crossed import CrossedLayout
from .crossprod import Layout, LevelInfo, build_levels
from .factor import Core
from .objective import Objective
from .optimise import OptimiserSummary, maximise
from .response import Gaussian
from .threads import single_threaded


@dataclass
class REEquation:
    """One random-effects equation as arrays: its level, effect names, columns and covariance."""

    level: int  # index of its grouping level, 0 = outermost
    names: list[str]  # display names of the random-effect variables, "_cons" last if present
    Z: np.ndarray  # n x q float64 (column of ones for _cons); R.varname: n x 1 (its z)
    cov: str  # "identity" | "independent" | "exchangeable" | "unstructured"
    codes: np.ndarray | None = None  # R.varname: each row's level (0..len(names)-1); Z's one
    #                                  column then holds each row's value of its level's indicator

    @property
    def label(self) -> str:
        return self.names[0].partition(".")[2] if self.codes is not None else " ".join(self.names)


@dataclass(frozen=True)
class EquationShape:
    """What a fit keeps of an equation (not its n x q columns)."""

    level: int
    names: tuple[str, ...]
    cov: str


@dataclass
class LMMFit:
    """A fitted linear mixed model, in numbers."""

    response: Gaussian
    n: int
    p: int
    beta: np.ndarray
    V_beta: np.ndarray
    sigma2: float
    Sigma: list[np.ndarray]  # per equation (in the order given), variance scale
    gamma: np.ndarray  # Stata's e(b) order: per level, per equation, then lnsig_e
    gamma_names: list[str]
    V_gamma: np.ndarray
    se_failed: bool
    ll: float
    ll_linear: float  # the comparison model without random effects (same ML/REML criterion)
    optimiser: OptimiserSummary
    levels: list[LevelInfo]
    equations: list[EquationShape]
    theta: np.ndarray = field(repr=False, default=None)
    layout: Layout = field(repr=False, default=None)
    core: Core = field(repr=False, default=None)
    crossed: CrossedLayout | None = field(repr=False, default=None)   # R.varname designs

    @property
    def method(self) -> str:
        return self.response.method

    @property
    def converged(self) -> bool:
        return self.optimiser.converged


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


def _gamma_order(eqs: list[REEquation]) -> list[int]:
    """Equations sorted by level, keeping the typed order within a level (Stata's E index)."""
    return sorted(range(len(eqs)), key=lambda i: (eqs[i].level, i))


def gamma_parts(equations: list[REEquation], Sigma: list[np.ndarray]
                ) -> tuple[list[str], np.ndarray, dict[int, slice]]:
    """Stata's γ of the random effects (lns…, atr… per level, then per equation as typed): the
    names, the values from each equation's Σ_e, and each equation's slice of γ."""
    level_eq_count: dict[int, int] = {}
    names: list[str] = []
    parts: list[np.ndarray] = []
    slices: dict[int, slice] = {}
    for i in _gamma_order(equations):
        e = equations[i]
        E = level_eq_count.get(e.level, 0)
        level_eq_count[e.level] = E + 1
        nm = cv.gamma_names(e.cov, e.Z.shape[1], e.level, E)
        slices[i] = slice(len(names), len(names) + len(nm))
        names += nm
        parts.append(cv.gamma_from_cov(e.cov, Sigma[i]))
    return names, (np.concatenate(parts) if parts else np.zeros(0)), slices


def _check(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray], eqs: list[REEquation]) -> None:
    n = y.shape[0]
    if X.shape[0] != n or any(len(np.asarray(lv)) != n for lv in levels):
        raise ValueError("y, X and levels must have the same number of rows")
    for e in eqs:
        if e.cov not in cv.COV_TYPES:
            raise ValueError(f"unknown covariance structure {e.cov}")
        if not 0 <= e.level < len(levels):
            raise ValueError("equation level out of range")
        if e.Z.shape != (n, len(e.names) if e.codes is None else 1):
            raise ValueError("Z must be n x len(names), or n x 1 with codes")
        if e.codes is not None and (e.cov != "identity" or len(e.codes) != n):
            raise ValueError("a factor's equation has identity covariance and a code per row")
        if e.cov == "exchangeable" and e.Z.shape[1] < 2:
            raise ModelError("exchangeable_too_small")


def fit_lmm(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray] | list[LevelInfo],
            equations: list[REEquation], *, reml: bool = False, maxiter: int = 300,
            tolerance: float = 1e-8, ltolerance: float = 1e-10,
            nrtolerance: float = 1e-12) -> LMMFit:
    """Fit by ML or REML.  ``levels`` are each row's codes per level (outermost first; nested groups
    are formed here) or already built :class:`LevelInfo`.  BLAS runs on one thread (``threads``)."""
    with single_threaded():
        return _fit(y, X, levels, equations, reml=reml, maxiter=maxiter, tolerance=tolerance,
                    ltolerance=ltolerance, nrtolerance=nrtolerance)


def _fit(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray] | list[LevelInfo],
         equations: list[REEquation], *, reml: bool, maxiter: int, tolerance: float,
         ltolerance: float, nrtolerance: float) -> LMMFit:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    X = np.asarray(X, dtype=np.float64).reshape(y.shape[0], -1)
    n, p = X.shape
    infos = levels if levels and isinstance(levels[0], LevelInfo) else build_levels(levels, n)
    _check(y, X, [li.row_group for li in infos], equations)
    if n <= p:
        raise ModelError("insufficient_observations")
    response = Gaussian(reml)
    eqs = [REEquation(e.level, e.names, np.asarray(e.Z, dtype=np.float64), e.cov, e.codes)
           for e in equations]
    return _estimate(Objective(y, X, infos, eqs, response), eqs, infos, maxiter=maxiter,
                     tolerance=tolerance, ltolerance=ltolerance, nrtolerance=nrtolerance)


def fit_layout(layout: Layout, levels: list[LevelInfo], equations: list[REEquation], *,
               reml: bool = False, maxiter: int = 300, tolerance: float = 1e-8,
               ltolerance: float = 1e-10, nrtolerance: float = 1e-12) -> LMMFit:
    """Fit from cross-products accumulated elsewhere (:mod:`.streaming`): the equations' Z are
    0 × q arrays that give only their shapes, ``levels`` the groups' counts."""
    if layout.n <= layout.p:
        raise ModelError("insufficient_observations")
    response = Gaussian(reml)
    with single_threaded():
        return _estimate(Objective(None, None, levels, equations, response, layout=layout),
                         equations, levels, maxiter=maxiter, tolerance=tolerance,
                         ltolerance=ltolerance, nrtolerance=nrtolerance)


def _estimate(obj: Objective, eqs: list[REEquation], infos: list[LevelInfo], *, maxiter: int,
              tolerance: float, ltolerance: float, nrtolerance: float) -> LMMFit:
    n, p, response = obj.n, obj.p, obj.response
    theta0 = np.concatenate([cv.theta_start(e.cov, e.Z.shape[1]) for e in eqs]) \
        if eqs else np.zeros(0)
    start = obj.loglik(theta0)
    ll_linear = response.linear_loglik(obj.XytXy, n)
    if not np.isfinite(start) or not np.isfinite(ll_linear):    # no residual variation
        raise ModelError("infeasible_start")
    if theta0.size:
        summary = maximise(obj.loglik_gradient, theta0, maxiter=maxiter, tolerance=tolerance,
                           ltolerance=ltolerance, nrtolerance=nrtolerance, f=obj.loglik)
        summary = _to_boundary(obj, summary, maxiter)
    else:
        summary = OptimiserSummary(theta0, start, start, 0, True, [(0, start)], np.zeros((0, 0)))
    theta = summary.x
    factors = obj.factors(theta)
    c = obj.core_at(theta)
    ll = response.profiled_loglik(c, n, p)
    s2 = response.sigma2(c, n, p)
    Sigma = [s2 * F @ F.T for F in factors]

    # γ in Stata's order; V(γ) from the Hessian of ℓ(θ, ln σ) carried over to γ
    names, gamma_re, gslices = gamma_parts(eqs, Sigma)
    names.append("lnsig_e")
    gamma = np.concatenate([gamma_re, [0.5 * np.log(s2)]])
    H = _gamma_hessian(obj, eqs, theta, summary, gamma, gslices)
    V_gamma, se_failed = gamma_covariance(H, gamma, names)
    V_beta = s2 * np.linalg.inv(c.XtVX) if p else np.zeros((0, 0))
    return LMMFit(
        response=response, n=n, p=p, beta=c.beta.copy(), V_beta=V_beta, sigma2=s2, Sigma=Sigma,
        gamma=gamma, gamma_names=names, V_gamma=V_gamma, se_failed=se_failed, ll=ll,
        ll_linear=ll_linear, optimiser=summary, levels=list(infos),
        equations=[EquationShape(e.level, tuple(e.names), e.cov) for e in eqs],
        theta=theta, layout=obj.layout, core=c, crossed=obj.crossed)


LOW_SD = -5.0      # a log-Cholesky diagonal this low (sd < 0.7% of σ's) may be heading for 0
ON_BOUNDARY = -12.0   # where it is then held: |corr| = 1 − O(e⁻²⁴), ℓ within ~1e-9 of the supremum


def _to_boundary(obj: Objective, summary: OptimiserSummary, maxiter: int) -> OptimiserSummary:
    """Where an unstructured factor's diagonal is heading for 0 (a correlation of ±1), the supremum
    lies on the boundary, which the log-Cholesky θ only approaches, ever more slowly: hold those
    diagonals at :data:`ON_BOUNDARY` and maximise over the rest; kept if higher."""
    low = [j for (cov, q), sl in zip(obj.covs, obj.slices) if cov == "unstructured"
           for j, (a, b) in zip(range(sl.start, sl.stop), zip(*np.tril_indices(q)))
           if a == b and summary.x[j] < LOW_SD]
    if not low:
        return summary
    free = [j for j in range(summary.x.size) if j not in low]

    def on_boundary(z: np.ndarray) -> np.ndarray:
        x = summary.x.copy()
        x[low] = ON_BOUNDARY
        x[free] = z
        return x

    def fg(z: np.ndarray) -> tuple[float, np.ndarray | None]:
        v, g = obj.loglik_gradient(on_boundary(z))
        return v, None if g is None else g[free]

    res = maximise(fg, summary.x[free], maxiter=maxiter, f=lambda z: obj.loglik(on_boundary(z)))
    if not res.value > summary.value:
        return summary
    it = summary.iterations
    return OptimiserSummary(on_boundary(res.x), res.value, summary.start, it + res.iterations,
                            res.converged, summary.log + [(it + k, v) for k, v in res.log[1:]],
                            None, summary.evaluations + res.evaluations)


def _gamma_hessian(obj: Objective, eqs: list[REEquation], theta: np.ndarray,
                   summary: OptimiserSummary, gamma: np.ndarray,
                   gslices: dict[int, slice]) -> np.ndarray:
    """∂²ℓ/∂γ² = J'H J at the optimum (where ∇ℓ = 0), H the Hessian of ℓ(θ, ln σ) and J = ∂(θ, ln σ)/∂γ
    by central differences of the map γ → (θ, ln σ) (small matrices only)."""
    from .optimise import hessian_of_gradient

    Hp = summary.hessian
    if Hp is None or Hp.shape != (theta.size, theta.size):
        Hp = hessian_of_gradient(obj.loglik_gradient, theta)
    if not np.all(np.isfinite(Hp)):
        return np.full((gamma.size, gamma.size), np.nan)
    H = obj.sigma_hessian(theta, Hp)

    def theta_of(g: np.ndarray) -> np.ndarray:
        sig2 = np.exp(2 * g[-1])
        parts = [cv.theta_from_relcov(e.cov, e.Z.shape[1],
                                      cv.cov_from_gamma(e.cov, e.Z.shape[1], g[gslices[i]]) / sig2)
                 for i, e in enumerate(eqs)]
        return np.concatenate(parts + [g[-1:]])

    J = np.empty((gamma.size, gamma.size))
    try:
        for j in range(gamma.size):
            e = np.zeros(gamma.size)
            e[j] = 1e-6 * max(1.0, abs(gamma[j]))
            J[:, j] = (theta_of(gamma + e) - theta_of(gamma - e)) / (2 * e[j])
    except (np.linalg.LinAlgError, FloatingPointError, ValueError):
        return np.full((gamma.size, gamma.size), np.nan)
    return J.T @ H @ J

