"""Generalized linear mixed models by maximum likelihood (Stata's ``meglm`` family), from arrays.

The random effects are integrated out by the method asked for (``quadrature``): the joint Laplace
approximation, mode-curvature adaptive Gauss–Hermite quadrature (lme4's ``nAGQ``), mean-variance
adaptive quadrature (Stata's default) or non-adaptive quadrature, each an exact function of the
parameters: the modes (penalised IRLS, ``pirls``) or the posterior moments (a fixed point) are found
anew at every evaluation, so the maximum found is that function's maximum, whatever the path.

Parameters: β, the family's ancillary parameter (ln α, ln δ, ln σ) and θ, the log-Cholesky relative
factors of each random-effects equation (``covariance``; Σ_e = Λ_eΛ_e' here, there being no residual
variance to scale by).  They are maximised by BFGS and a Newton polish (``optimise``) from the
single-level fit (``model.glm``, which is also the comparison model of the LR test) and a short grid
of variance scales, as Stata refines its starting values.  V comes from the Hessian in Stata's
estimation metric (β, ln α, lns…, atr…), inverted as for the linear mixed model
(``lmm.gamma_covariance``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from hlmshell.model.errors import ModelError
from hlmshell.model.glm import GLMFit, fit_glm

from . import covariance as cv
from .crossprod import LevelInfo, build_levels
from .factor import level_lambdas
from .families import Family
from .lmm import EquationShape, REEquation, gamma_covariance, gamma_parts
from .glmm_gradient import lambda_derivatives, laplace_gradient, rule_score
from .optimise import OptimiserSummary
from .pirls import Modes, RandomEffects, conditional_modes
from .quadrature import (
    Integral,
    LevelRule,
    Scratch,
    chain_covariances,
    integrate,
    mode_rules,
    moment_rules,
    prior_rules,
    product_rule,
    rule_change,
)
from .response import Generalized
from .threads import single_threaded

METHODS = ("mvaghermite", "mcaghermite", "ghermite", "laplace")
MAX_NODES = 20_000          # quadrature node combinations per innermost group
FIXED_POINT_TOL = 1e-9
GRID = (0.1, 0.5, 1.0, 2.0)   # random-effects standard deviations tried as starting values
WARM_START = 0.05          # largest change in η or Λ over which the last centring is reused
HESSIAN_STEP = 0.002       # finite-difference steps of the exact Hessian, in standard errors
DIFFERENCE_TOL = 1e-13     # the mean-variance fixed point at finite-difference points


@dataclass
class Posterior:
    """Per effect level: empirical Bayes means and modes of the random effects b = Λu (groups x Q)
    with their posterior standard deviations."""

    means: list[np.ndarray]
    means_sd: list[np.ndarray]
    modes: list[np.ndarray]
    modes_sd: list[np.ndarray]


@dataclass
class GLMMFit:
    """A fitted GLMM, in numbers (rows in the order given)."""

    family: Family
    method: str
    intpoints: int
    n: int
    p: int
    beta: np.ndarray
    anc: float | None
    Sigma: list[np.ndarray]            # per equation (in the order given), variance scale
    gamma: np.ndarray                  # Stata's lns…, atr… per level, per equation
    gamma_names: list[str]
    V: np.ndarray                      # over (β, anc, γ): the estimation metric
    se_failed: bool
    ll: float
    comparison: GLMFit                 # the model without random effects (LR test, start)
    optimiser: OptimiserSummary
    levels: list[LevelInfo]
    equations: list[EquationShape]
    posterior: Posterior
    grid: list[float] = field(default_factory=list)   # ll at the starting-value grid nodes

    @property
    def converged(self) -> bool:
        return self.optimiser.converged

    @property
    def k_anc(self) -> int:
        return 0 if self.anc is None else 1

    @property
    def V_beta(self) -> np.ndarray:
        return self.V[:self.p, :self.p]

    @property
    def V_gamma(self) -> np.ndarray:
        k = self.p + self.k_anc
        return self.V[k:, k:]


class _Problem:
    """One GLMM on sorted rows: the likelihood as a function of the parameter vector, with the
    modes and mean-variance rules of the last evaluation kept as starting points for the next."""

    def __init__(self, resp: Generalized, X: np.ndarray, offset: np.ndarray, re: RandomEffects,
                 equations: list[REEquation], method: str, intpoints: int) -> None:
        self.resp, self.X, self.offset, self.re = resp, X, offset, re
        self.equations = equations
        self.method = method
        self.p = X.shape[1]
        self.has_anc = resp.family.ancillary is not None
        self.slices = []
        pos = 0
        for e in equations:
            k = cv.n_params(e.cov, e.Z.shape[1])
            self.slices.append(slice(pos, pos + k))
            pos += k
        self.k_theta = pos
        points = 1 if method == "laplace" else intpoints
        self.nodes = [product_rule(points, el.Q) for el in re.elevels]
        total = int(np.prod([nr.size for nr in self.nodes]))
        if total > MAX_NODES:
            raise ModelError("too_many_nodes", nodes=total)
        self.scratch = Scratch()
        self.modes: list[np.ndarray] | None = None
        self.rules: list[LevelRule] | None = None
        self._rules_at: np.ndarray | None = None
        self._centre: list[LevelRule] | None = None     # set while differencing
        self._start: list[LevelRule] | None = None      # a differencing point's predicted rules
        self._last_rules: list[LevelRule] | None = None  # where the last fixed point ended
        # d(rules)/dφ_j from the last central differences, and where: the first axis points of a
        # Hessian nearby start from them (two integrations each instead of four)
        self._slopes: tuple[np.ndarray, list[list[LevelRule] | None]] | None = None

    # -- parameters ---------------------------------------------------------------------------
    def split(self, psi: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        p = self.p
        anc = float(psi[p]) if self.has_anc else 0.0
        return psi[:p], anc, psi[p + int(self.has_anc):]

    def factors_theta(self, theta: np.ndarray) -> list[np.ndarray]:
        return [cv.lambda_from_theta(e.cov, e.Z.shape[1], theta[s])
                for e, s in zip(self.equations, self.slices)]

    def eta0(self, beta: np.ndarray) -> np.ndarray:
        return (self.X @ beta if self.p else 0.0) + self.offset

    # -- the likelihood -------------------------------------------------------------------------
    def find_modes(self, eta0, lams, factors, anc) -> Modes:
        start = self.modes
        try:
            modes = conditional_modes(self.resp, self.re, eta0, lams, factors, anc, start=start)
        except ModelError:
            if start is None:
                raise
            modes = conditional_modes(self.resp, self.re, eta0, lams, factors, anc)
        self.modes = modes.u
        return modes

    def evaluate(self, eta0: np.ndarray, factors: list[np.ndarray], anc: float,
                 posterior: bool = False, score: bool = False) -> Integral:
        lams = level_lambdas(self.re.skeleton, factors)
        if self.method == "ghermite":
            rules = prior_rules(self.re)
        elif self.method in ("laplace", "mcaghermite"):
            modes = self.find_modes(eta0, lams, factors, anc)
            rules = mode_rules(self.re, modes.u, modes.elimination)
        else:
            return self._mean_variance(eta0, lams, factors, anc, score)
        return integrate(self.resp, self.re, eta0, lams, rules, self.nodes, anc, posterior, score,
                         self.scratch)

    def _mean_variance(self, eta0, lams, factors, anc, score) -> Integral:
        """The mean-variance rules at their fixed point: from the last ones when the parameters
        are close to theirs, else from the modes (a centring far off could settle on nodes that
        miss the posterior).  While differencing, always from the centre's rules and to
        ``DIFFERENCE_TOL``."""
        point = np.r_[eta0, np.concatenate([f.ravel() for f in factors]), anc]
        rules, tol = self.rules, FIXED_POINT_TOL
        self._last_rules = None
        if self._centre is not None:
            rules, tol = (self._start or self._centre), DIFFERENCE_TOL
        elif rules is not None and (self._rules_at is None or point.shape != self._rules_at.shape
                                    or float(np.max(np.abs(point - self._rules_at))) > WARM_START):
            rules = None
        if rules is None:
            modes = self.find_modes(eta0, lams, factors, anc)
            rules = mode_rules(self.re, modes.u, modes.elimination)
        for _ in range(1000):
            res = integrate(self.resp, self.re, eta0, lams, rules, self.nodes, anc, True, score,
                            self.scratch)
            if not np.isfinite(res.ll):
                return res
            new = moment_rules(self.re, res.moments())
            change = rule_change(rules, new)
            rules = new
            if change < tol:
                break
        if self._centre is None:
            self.rules, self._rules_at = rules, point
        self._last_rules = rules
        return res

    def _started(self, start: list[LevelRule] | None, fn, *args):
        """``fn(*args)`` with a differencing point's fixed point started from ``start`` (the centre's
        rules when None), and the rules it converged to (None unless mean-variance)."""
        self._start, self._last_rules = start, None
        try:
            out = fn(*args)
        finally:
            self._start = None
        return out, self._last_rules

    def _differences(self, fn, phi: np.ndarray, steps: np.ndarray) -> list:
        """``fn`` at φ ± steps_j e_j, j = 0, 1, … (up, down in turn): each down point's fixed point
        starts from the reflection of its up point's rules through the centre's, which is that
        point's own to second order (the same fixed point, reached in fewer iterations)."""
        out, slopes = [], []
        for j in range(len(phi)):
            up, dn = phi.copy(), phi.copy()
            up[j] += steps[j]
            dn[j] -= steps[j]
            value, rules = self._started(None, fn, up)
            out.append(value)
            value, down = self._started(_combine([(2.0, self._centre), (-1.0, rules)]), fn, dn)
            out.append(value)
            slopes.append(_combine([(0.5 / steps[j], rules), (-0.5 / steps[j], down)]))
        self._slopes = (phi.copy(), slopes)
        return out

    @contextmanager
    def differencing(self, phi: np.ndarray, gslices: dict[int, slice]) -> Iterator[None]:
        """Finite differences about φ: at the points nearby the mean-variance fixed point starts
        from φ's own converged rules and runs to ``DIFFERENCE_TOL``.  The function differenced is
        then deterministic and smooth; a fixed point warm-started from wherever the last
        evaluation left it, or stopped after a few steps, is neither (on toenail's skewed
        posteriors either costs 5% of a standard error, and a few steps move the optimum)."""
        if self.method != "mvaghermite":
            yield
            return
        self.loglik_gamma(phi, gslices)
        self._centre = self.rules
        try:
            yield
        finally:
            self._centre = None

    def loglik(self, psi: np.ndarray) -> float:
        beta, anc, theta = self.split(psi)
        if not np.all(np.isfinite(psi)):
            return -np.inf
        try:
            with np.errstate(all="ignore"):
                ll = self.evaluate(self.eta0(beta), self.factors_theta(theta), anc).ll
        except (ModelError, np.linalg.LinAlgError, OverflowError, FloatingPointError):
            return -np.inf
        return ll if np.isfinite(ll) else -np.inf

    @property
    def exact_gradient(self) -> bool:
        """Whether :meth:`gradient` is the exact gradient (else the Fisher identity at fixed
        centring, which is exact up to the centring's own dependence on the parameters)."""
        return self.method in ("laplace", "ghermite")

    def value_and_gradient(self, psi: np.ndarray) -> tuple[float, np.ndarray]:
        """The log likelihood and its analytic gradient in (β, anc, θ) (``glmm_gradient``), from
        one evaluation."""
        beta, anc, theta = self.split(psi)
        factors = self.factors_theta(theta)
        lams = level_lambdas(self.re.skeleton, factors)
        dlams = lambda_derivatives(self.re, self.equations, self.slices, theta)
        a = anc if self.has_anc else None
        eta0 = self.eta0(beta)
        with np.errstate(all="ignore"):
            if self.method == "laplace":
                modes = self.find_modes(eta0, lams, factors, anc)
                res = integrate(self.resp, self.re, eta0, lams,
                                mode_rules(self.re, modes.u, modes.elimination), self.nodes, anc,
                                scratch=self.scratch)
                return res.ll, laplace_gradient(modes, self.resp, self.re, self.X, lams, dlams, a)
            res = self.evaluate(eta0, factors, anc, score=True)
            return res.ll, rule_score(res, self.resp, self.re, self.X, dlams, a)

    def gradient(self, psi: np.ndarray) -> np.ndarray:
        return self.value_and_gradient(psi)[1]

    # -- Stata's metric (β, anc, γ) -----------------------------------------------------------
    def theta_of(self, phi: np.ndarray, gslices: dict[int, slice]) -> np.ndarray:
        """ψ = (β, anc, θ) from φ = (β, anc, γ)."""
        k = self.p + int(self.has_anc)
        g = phi[k:]
        theta = np.empty(self.k_theta)
        for i, e in enumerate(self.equations):
            q = e.Z.shape[1]
            theta[self.slices[i]] = cv.theta_from_relcov(e.cov, q, cv.cov_from_gamma(e.cov, q, g[gslices[i]]))
        return np.r_[phi[:k], theta]

    def loglik_gamma(self, phi: np.ndarray, gslices: dict[int, slice]) -> float:
        """The log likelihood in Stata's metric (β, anc, γ): the function V comes from."""
        try:
            psi = self.theta_of(phi, gslices)
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return np.nan
        ll = self.loglik(psi)
        return ll if np.isfinite(ll) else np.nan

    def gradient_gamma(self, phi: np.ndarray, gslices: dict[int, slice]) -> np.ndarray:
        """dll/dφ: the analytic gradient through dθ/dγ when it is exact, else central differences."""
        if not self.exact_gradient:
            with self.differencing(phi, gslices):
                steps = 1e-5 * np.maximum(1.0, np.abs(phi))     # optimise.gradient's
                values = self._differences(lambda v: self.loglik_gamma(v, gslices), phi, steps)
                return (np.array(values[0::2]) - np.array(values[1::2])) / (2 * steps)
        k = self.p + int(self.has_anc)
        return self._rule_value_gradient_gamma(phi, gslices, k)[1]

    def _jacobian(self, phi: np.ndarray, gslices: dict[int, slice], k: int) -> np.ndarray:
        """dθ/dγ by central differences (the map is a few small matrix functions)."""
        J = np.zeros((self.k_theta, len(phi) - k))
        for j in range(len(phi) - k):
            h = 1e-7 * max(1.0, abs(phi[k + j]))
            up, dn = phi.copy(), phi.copy()
            up[k + j] += h
            dn[k + j] -= h
            J[:, j] = (self.theta_of(up, gslices)[k:] - self.theta_of(dn, gslices)[k:]) / (2 * h)
        return J

    def hessian_gamma(self, phi: np.ndarray, gslices: dict[int, slice], *, exact: bool = True,
                      approx: np.ndarray | None = None) -> np.ndarray:
        """d²ll/dφ²: central differences of the analytic gradient (the exact Hessian when that
        gradient is exact; else, with ``exact=False``, a close approximation for Newton steps), or
        of the log likelihood itself, in steps scaled by ``approx`` (such an approximation)."""
        if exact and not self.exact_gradient:
            return self.likelihood_hessian(phi, gslices, approx)[0]
        if not self.exact_gradient:
            return self.approximate_hessian(phi, gslices)[0]
        with np.errstate(all="ignore"), self.differencing(phi, gslices):
            steps = 1e-5 * np.maximum(1.0, np.abs(phi))
            values = self._differences(lambda v: self.gradient_gamma(v, gslices), phi, steps)
            return _symmetric(np.column_stack([(values[2 * j] - values[2 * j + 1]) / (2 * steps[j])
                                               for j in range(len(phi))]))

    def approximate_hessian(self, phi: np.ndarray, gslices: dict[int, slice]
                            ) -> tuple[np.ndarray, np.ndarray]:
        """For the adaptive rules: central differences of the rule gradient (a close approximation
        to the Hessian, for Newton steps), and the gradient from the log likelihoods at the same
        points (:meth:`gradient_gamma`'s points and fixed points: its value, at no extra cost)."""
        k = self.p + int(self.has_anc)
        with np.errstate(all="ignore"), self.differencing(phi, gslices):
            steps = 1e-5 * np.maximum(1.0, np.abs(phi))
            values = self._differences(lambda v: self._rule_value_gradient_gamma(v, gslices, k),
                                       phi, steps)
        H = np.column_stack([(values[2 * j][1] - values[2 * j + 1][1]) / (2 * steps[j])
                             for j in range(len(phi))])
        f = np.array([v[0] if np.isfinite(v[0]) else np.nan for v in values])
        return _symmetric(H), (f[0::2] - f[1::2]) / (2 * steps)

    def likelihood_hessian(self, phi: np.ndarray, gslices: dict[int, slice],
                           approx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Central differences of the log likelihood, each parameter stepped by a fraction of its
        standard error as ``approx`` has it: steps that size neither drown in rounding nor feel
        the function's higher derivatives, whatever the parameters' scales (age² beside ln σ).
        With it the gradient (:meth:`_second_differences`)."""
        base = 1e-3 * np.maximum(1.0, np.abs(phi))
        steps = base
        if approx is not None:
            curvature = -np.diag(approx)
            ok = np.isfinite(curvature) & (curvature > 0)
            steps = np.where(ok, HESSIAN_STEP / np.sqrt(np.where(ok, curvature, 1.0)), base)
            steps = np.minimum(steps, 50.0 * base)
        with np.errstate(all="ignore"), self.differencing(phi, gslices):
            D, grad = self._second_differences(phi, steps, gslices)
        return _symmetric(D / np.outer(steps, steps)), grad

    def _second_differences(self, phi: np.ndarray, steps: np.ndarray,
                            gslices: dict[int, slice]) -> tuple[np.ndarray, np.ndarray]:
        """Central second differences (h = 1) of the log likelihood at φ + steps·z, the mixed
        ones from the two diagonal corners (Abramowitz & Stegun 25.3.27, O(h²) as the four-corner
        rule; 1 + m + m² points instead of 1 + 2m²):
            H_ij = [f(e_i + e_j) + f(−e_i − e_j) − f(e_i) − f(−e_i) − f(e_j) − f(−e_j) + 2f(0)] / 2,
        and the gradient by central differences in ``optimise.gradient``'s small steps (the axis
        points' own differences are off by f'''h²/6, up to 1e-11 in the scaled gradient on
        skewed likelihoods: too coarse for the convergence test).
        Each point's fixed point starts from the rules predicted from the centre's and the axis
        points' (linear in z, right to second order; the small steps' on the parabola), the
        first axis points' from the last differences' slopes when those were taken nearby."""
        m = len(phi)

        def f(z: np.ndarray, start):
            return self._started(start, self.loglik_gamma, phi + steps * z, gslices)

        f0 = f(np.zeros(m), self._centre)[0]
        slopes: list[list[LevelRule] | None] = [None] * m
        if (self._slopes is not None and self._slopes[0].shape == phi.shape
                and float(np.max(np.abs(self._slopes[0] - phi))) <= WARM_START):
            slopes = self._slopes[1]
        axis: dict[tuple[int, int], tuple[float, list[LevelRule] | None]] = {}
        H = np.empty((m, m))
        grad = np.empty(m)
        for i in range(m):
            e = np.eye(m)[i]
            axis[i, 1] = f(e, _combine([(1.0, self._centre), (steps[i], slopes[i])]))
            axis[i, -1] = f(-e, _combine([(2.0, self._centre), (-1.0, axis[i, 1][1])]))
            H[i, i] = axis[i, 1][0] - 2 * f0 + axis[i, -1][0]
            small = 1e-5 * max(1.0, abs(phi[i])) / steps[i]
            ends = []
            for z in (small, -small):      # their rules: the parabola through the axis points'
                start = _combine([(1.0 - z * z, self._centre), ((z * z + z) / 2, axis[i, 1][1]),
                                  ((z * z - z) / 2, axis[i, -1][1])])
                ends.append(f(z * e, start)[0])
            grad[i] = (ends[0] - ends[1]) / (2 * small * steps[i])
            for j in range(i):
                corners = 0.0
                for sign in (1, -1):
                    z = sign * (np.eye(m)[i] + np.eye(m)[j])
                    start = _combine([(1.0, axis[i, sign][1]), (1.0, axis[j, sign][1]),
                                      (-1.0, self._centre)])
                    corners += f(z, start)[0]
                H[i, j] = H[j, i] = (corners - axis[i, 1][0] - axis[i, -1][0] - axis[j, 1][0]
                                     - axis[j, -1][0] + 2 * f0) / 2
        return H, grad

    def _rule_value_gradient_gamma(self, phi: np.ndarray, gslices: dict[int, slice], k: int
                                   ) -> tuple[float, np.ndarray]:
        """The log likelihood and the Fisher-identity gradient carried to φ (for approximate
        Hessians)."""
        psi = self.theta_of(phi, gslices)
        f, g = self.value_and_gradient(psi)
        return f, np.r_[g[:k], self._jacobian(phi, gslices, k).T @ g[k:]]


def _symmetric(H: np.ndarray) -> np.ndarray:
    return 0.5 * (H + H.T)


def _combine(terms: list[tuple[float, list[LevelRule] | None]]) -> list[LevelRule] | None:
    """Σ a·rules, level by level (None when any is None: the centre's rules are used then)."""
    if any(rules is None for _, rules in terms):
        return None
    out = []
    for parts in zip(*(rules for _, rules in terms)):
        c, B, R = (sum(a * getattr(r, name) for (a, _), r in zip(terms, parts))
                   for name in ("c", "B", "R"))
        out.append(LevelRule(c, B, R))
    return out


def _check(y, X, levels, equations, method, intpoints):
    n = y.shape[0]
    if X.shape[0] != n or any(li.row_group.shape[0] != n for li in levels):
        raise ValueError("y, X and levels must have the same number of rows")
    if method not in METHODS:
        raise ValueError(f"unknown integration method {method}")
    if intpoints < 1:
        raise ValueError("intpoints must be positive")
    for e in equations:
        if e.cov not in cv.COV_TYPES or not 0 <= e.level < len(levels):
            raise ValueError("bad random-effects equation")
        if e.cov == "exchangeable" and e.Z.shape[1] < 2:
            raise ModelError("exchangeable_too_small")


def fit_glmm(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray] | list[LevelInfo],
             equations: list[REEquation], family: Family, *, trials: np.ndarray | None = None,
             offset: np.ndarray | None = None, method: str = "mvaghermite", intpoints: int = 7,
             maxiter: int = 300, tolerance: float = 1e-8, ltolerance: float = 1e-10,
             nrtolerance: float = 1e-12) -> GLMMFit:
    """Fit by maximum likelihood.  ``levels`` are each row's codes per level (outermost first;
    nested groups are formed here) or already built :class:`LevelInfo`."""
    # trial points far out overflow (they are -inf); the batched small blocks run best on one
    # BLAS thread (``threads``): with two, the random-slope benchmark took 60% more CPU
    with np.errstate(all="ignore"), single_threaded():
        return _fit_glmm(y, X, levels, equations, family, trials=trials, offset=offset,
                         method=method, intpoints=intpoints, maxiter=maxiter,
                         tolerance=tolerance, ltolerance=ltolerance, nrtolerance=nrtolerance)


def _fit_glmm(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray] | list[LevelInfo],
             equations: list[REEquation], family: Family, *, trials: np.ndarray | None = None,
             offset: np.ndarray | None = None, method: str = "mvaghermite", intpoints: int = 7,
             maxiter: int = 300, tolerance: float = 1e-8, ltolerance: float = 1e-10,
             nrtolerance: float = 1e-12) -> GLMMFit:
    if not equations:
        return _without_random_effects(y, X, family, trials, offset, method, intpoints)
    prob, infos, eqs = likelihood_problem(y, X, levels, equations, family, trials, offset,
                                          method, intpoints)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n, p = y.shape[0], prob.p
    X = np.asarray(X, dtype=np.float64).reshape(n, -1)
    ntr = np.ones(n) if trials is None else np.asarray(trials, dtype=float)
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    # the model without random effects: the LR test's and the start's
    comparison = fit_glm(y, X, family, trials=ntr, offset=off)
    if not np.isfinite(comparison.ll):
        raise ModelError("infeasible_start")
    base = comparison.params
    theta0 = np.concatenate([cv.theta_start(e.cov, e.Z.shape[1]) for e in eqs])
    grid, best, start = [], -np.inf, None
    for scale in GRID:                      # Stata's "refining starting values"
        theta = theta0.copy()
        for e, s in zip(eqs, prob.slices):
            q = e.Z.shape[1]
            theta[s] = cv.theta_from_relcov(e.cov, q, scale * scale * np.eye(q))
        psi = np.r_[base, theta]
        value = prob.loglik(psi)
        grid.append(value)
        if value > best:
            best, start = value, psi
    if start is None or not np.isfinite(best):
        raise ModelError("infeasible_start")
    prob.modes = prob.rules = None
    psi, summary = _maximise(prob, start, maxiter, _start_curvature(prob, eqs, comparison))
    beta, anc, theta = prob.split(psi)
    factors = prob.factors_theta(theta)
    Sigma = [F @ F.T for F in factors]
    names, gamma, gslices = gamma_parts(eqs, Sigma)
    k = p + int(prob.has_anc)
    phi, H, summary = _polish(prob, np.r_[psi[:k], gamma], gslices, summary, maxiter,
                              (tolerance, ltolerance, nrtolerance))
    psi = prob.theta_of(phi, gslices)
    beta, anc, theta = prob.split(psi)
    factors = prob.factors_theta(theta)
    Sigma = [F @ F.T for F in factors]
    gamma = phi[k:]
    V, se_failed = _covariance(H, phi, k, names)
    ll = prob.loglik(psi)
    posterior = _posterior(prob, beta, factors, anc, intpoints)
    return GLMMFit(
        family=family, method=method, intpoints=intpoints, n=n, p=p, beta=beta.copy(),
        anc=anc if prob.has_anc else None, Sigma=Sigma, gamma=gamma, gamma_names=names, V=V,
        se_failed=se_failed, ll=ll, comparison=comparison, optimiser=summary, levels=list(infos),
        equations=[EquationShape(e.level, tuple(e.names), e.cov) for e in equations],
        posterior=posterior, grid=grid)


def _without_random_effects(y, X, family, trials, offset, method, intpoints) -> GLMMFit:
    """An me command typed without ``||``: the single-level model (Stata fits it, e(k_r) = 0)."""
    glm = fit_glm(y, X, family, trials=trials, offset=offset)
    k = glm.V.shape[0]
    summary = OptimiserSummary(glm.params, glm.ll, glm.log[0][1], glm.iterations, glm.converged,
                               list(glm.log))
    return GLMMFit(family=family, method=method, intpoints=intpoints, n=glm.n,
                   p=len(glm.beta), beta=glm.beta, anc=glm.anc, Sigma=[], gamma=np.zeros(0),
                   gamma_names=[], V=glm.V.reshape(k, k), se_failed=not np.all(np.isfinite(glm.V)),
                   ll=glm.ll, comparison=glm, optimiser=summary, levels=[], equations=[],
                   posterior=Posterior([], [], [], []))


def likelihood_problem(y, X, levels, equations, family, trials, offset, method, intpoints
                       ) -> tuple[_Problem, list[LevelInfo], list[REEquation]]:
    """The GLMM on rows sorted by their innermost group (group sums contiguous)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = y.shape[0]
    X = np.asarray(X, dtype=np.float64).reshape(n, -1)
    infos = levels if levels and isinstance(levels[0], LevelInfo) else build_levels(levels, n)
    _check(y, X, infos, equations, method, intpoints)
    if not equations:
        raise ValueError("a GLMM needs random effects")
    ntr = np.ones(n) if trials is None else np.asarray(trials, dtype=float)
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    inner = max(e.level for e in equations)
    order = np.argsort(infos[inner].row_group, kind="stable")
    sorted_levels = build_levels([li.row_group[order] for li in infos[:inner + 1]], n)
    eqs = [REEquation(e.level, list(e.names), np.asarray(e.Z, dtype=float)[order], e.cov)
           for e in equations]
    resp = Generalized(family, y[order], ntr[order])
    re = RandomEffects(sorted_levels, [e.level for e in eqs], [e.Z for e in eqs])
    return _Problem(resp, X[order], off[order], re, eqs, method, intpoints), list(infos), eqs


def marginal_loglik(y: np.ndarray, X: np.ndarray, levels: list[np.ndarray],
                    equations: list[REEquation], family: Family, beta: np.ndarray,
                    Sigma: list[np.ndarray], *, anc: float | None = None,
                    trials: np.ndarray | None = None, offset: np.ndarray | None = None,
                    method: str = "mvaghermite", intpoints: int = 7) -> float:
    """The log likelihood at given parameters (Σ_e per equation) by an integration method."""
    prob, _, eqs = likelihood_problem(y, X, levels, equations, family, trials, offset, method,
                                      intpoints)
    theta = np.concatenate([cv.theta_from_relcov(e.cov, e.Z.shape[1], S) for e, S in zip(eqs, Sigma)])
    psi = np.r_[beta, [anc] if anc is not None else [], theta]
    with np.errstate(all="ignore"):
        return prob.loglik(psi)


def _start_curvature(prob: _Problem, eqs: list[REEquation], comparison: GLMFit) -> np.ndarray:
    """BFGS's first inverse Hessian of −ll: the single-level fit's V for (β, anc) and 1/(2G) for
    each θ of an equation on G groups (ln σ̂'s large-sample variance with the effects known).
    BFGS from the identity first stepped the intercept to 1.5 and took 17 evaluations on the
    random-intercept benchmark."""
    k = prob.p + int(prob.has_anc)
    H0 = np.eye(k + prob.k_theta)
    V = np.asarray(comparison.V, dtype=float).reshape(-1, k) if k else np.zeros((0, 0))
    if V.shape == (k, k) and np.all(np.isfinite(V)) and np.all(np.linalg.eigvalsh(V) > 0):
        H0[:k, :k] = V
    for e, sl in zip(eqs, prob.slices):
        G = prob.re.levels[e.level].n_groups
        idx = np.arange(k + sl.start, k + sl.stop)
        H0[idx, idx] = 1.0 / (2.0 * max(G, 1))
    return H0


def _maximise(prob: _Problem, start: np.ndarray, maxiter: int, hess_inv0: np.ndarray
              ) -> tuple[np.ndarray, OptimiserSummary]:
    """BFGS with the analytic gradient, from the best grid node and ``hess_inv0``."""
    from scipy import optimize

    f0 = prob.loglik(start)
    log = [(0, f0)]
    state = {"x": None, "f": None, "g": None}

    def both(x: np.ndarray) -> tuple[float, np.ndarray]:
        if state["x"] is None or not np.array_equal(x, state["x"]):
            try:
                f, g = prob.value_and_gradient(x)
            except (ModelError, np.linalg.LinAlgError, OverflowError, FloatingPointError):
                f, g = -np.inf, np.full(x.shape, np.nan)
            state.update(x=x.copy(), f=f, g=g)
        f, g = state["f"], state["g"]
        if not np.isfinite(f) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(x)
        return -f, -g

    def callback(xk: np.ndarray) -> None:
        log.append((len(log), -both(xk)[0]))

    res = optimize.minimize(both, start, jac=True, method="BFGS", callback=callback,
                            options={"gtol": 1e-8 * max(1.0, abs(f0)), "maxiter": maxiter,
                                     "hess_inv0": hess_inv0})
    x = res.x if np.isfinite(prob.loglik(res.x)) else start
    return x, OptimiserSummary(x, prob.loglik(x), f0, len(log) - 1, bool(res.success), log)


def _polish(prob: _Problem, phi: np.ndarray, gslices: dict[int, slice],
            summary: OptimiserSummary, maxiter: int, tolerances: tuple[float, float, float]
            ) -> tuple[np.ndarray, np.ndarray, OptimiserSummary]:
    """Newton steps in Stata's metric on the exact log likelihood (its gradient analytic or by
    central differences) to Stata's criteria ([R] maximize): the scaled gradient below
    ``nrtolerance`` and the last step having changed the parameters by less than ``tolerance`` or
    the log likelihood by less than ``ltolerance`` (relative).  The Hessian there is the one V
    uses.

    The first step takes the Hessian of the analytic gradient (exact for Laplace and
    non-adaptive quadrature, and the steps' Hessian throughout then; close for the adaptive rules,
    whose gradient comes from the likelihoods at the same points).  For the adaptive rules every
    later point gets the exact Hessian of the log likelihood with the gradient from small steps
    beside its axis points, their fixed points started on the parabola through those (one
    integration each): quadratic convergence, and the last point's Hessian is V's."""
    tolerance, ltolerance, nrtolerance = tolerances
    exact = prob.exact_gradient
    g: np.ndarray | None = None
    if exact:
        H = prob.hessian_gamma(phi, gslices, exact=True)
    else:
        H, g = prob.approximate_hessian(phi, gslices)
    f = prob.loglik_gamma(phi, gslices)
    log, it = list(summary.log), summary.iterations
    converged = False
    # the last iteration's change: BFGS's last step, until a Newton step is taken
    small_step = len(log) >= 2 and abs(log[-1][1] - log[-2][1]) < ltolerance * max(1.0, abs(f))
    at = phi.copy()                       # where H was computed
    for step_no in range(50):
        if it >= maxiter or not np.all(np.isfinite(H)):
            break
        if step_no and not prob.exact_gradient:
            H, g = prob.likelihood_hessian(phi, gslices, H)
            at, exact = phi.copy(), True
            if not np.all(np.isfinite(H)):
                break
        if g is None or prob.exact_gradient:
            g = prob.gradient_gamma(phi, gslices)
        if not np.all(np.isfinite(g)):
            break
        step, scaled = _newton_step(g, H)
        if scaled < nrtolerance and small_step:
            converged = True
            break
        found = _halve(lambda v: prob.loglik_gamma(v, gslices), phi, step, f)
        if found is None:
            converged = scaled < np.sqrt(nrtolerance)
            break
        small_step = (abs(found[1] - f) < ltolerance * max(1.0, abs(f))
                      or float(np.max(np.abs(found[0] - phi))) < tolerance)
        phi, f = found
        it += 1
        log.append((it, f))
    moved = float(np.max(np.abs(phi - at))) > 1e-7 * max(1.0, float(np.max(np.abs(phi))))
    if moved or not exact:
        H = prob.hessian_gamma(phi, gslices, approx=H)
    return phi, H, OptimiserSummary(phi, f, summary.start, it, converged, log)


def _newton_step(g: np.ndarray, H: np.ndarray) -> tuple[np.ndarray, float]:
    """The uphill Newton step (−H's eigenvalues floored) and the scaled gradient g'(−H)⁻¹g."""
    w, U = np.linalg.eigh(-H)
    w = np.maximum(w, 1e-8 * max(1.0, float(np.max(np.abs(w)))))
    step = U @ ((U.T @ g) / w)
    return step, float(g @ step)


def _halve(f, x: np.ndarray, step: np.ndarray, fx: float) -> tuple[np.ndarray, float] | None:
    """x + t·step for the first t = 1, ½, … (steps capped at 5) that does not lower f."""
    big = float(np.max(np.abs(step))) if step.size else 0.0
    if big > 5.0:
        step = step * (5.0 / big)
    t = 1.0
    while t > 1e-6:
        fn = f(x + t * step)
        if np.isfinite(fn) and fn >= fx - 1e-12 * abs(fx):
            return x + t * step, fn
        t /= 2
    return None


def _covariance(H: np.ndarray, phi: np.ndarray, k: int, names: list[str]) -> tuple[np.ndarray, bool]:
    """V = (−H)⁻¹ over (β, anc, γ); correlations on the boundary are held fixed, as for mixed."""
    full_names = [f"b{i}" for i in range(k)] + names
    return gamma_covariance(H, phi, full_names)


def _posterior(prob: _Problem, beta: np.ndarray, factors: list[np.ndarray], anc: float,
               intpoints: int) -> Posterior:
    """Empirical Bayes means (posterior means by the mean-variance rule with ``intpoints`` points,
    whatever the fit's method) and modes, with their posterior SDs, on b = Λu."""
    eta0 = prob.eta0(beta)
    lams = level_lambdas(prob.re.skeleton, factors)
    modes = prob.find_modes(eta0, lams, factors, anc)
    method, nodes = prob.method, prob.nodes
    prob.method = "mvaghermite"
    prob.nodes = [product_rule(intpoints, el.Q) for el in prob.re.elevels]
    if method != "mvaghermite":     # a mean-variance fit's last rules are these (its fixed point)
        prob.rules = None
    with np.errstate(all="ignore"):
        mom = prob.evaluate(eta0, factors, anc, posterior=True).moments()
    prob.method, prob.nodes = method, nodes
    mode_cov = chain_covariances(prob.re, mode_rules(prob.re, modes.u, modes.elimination))
    means, means_sd, mode_b, modes_sd = [], [], [], []
    for j, (lev, lam) in enumerate(zip(prob.re.elevels, lams)):
        Q = lev.Q
        means.append(mom.mean[j][:, :Q] @ lam.T)
        means_sd.append(_sd(lam, mom.cov[j][:, :Q, :Q]))
        mode_b.append(modes.u[j] @ lam.T)
        modes_sd.append(_sd(lam, mode_cov[j][:, :Q, :Q]))
    return Posterior(means, means_sd, mode_b, modes_sd)


def _sd(lam: np.ndarray, cov: np.ndarray) -> np.ndarray:
    var = np.einsum("ik,gkl,il->gi", lam, cov, lam)
    return np.sqrt(np.maximum(var, 0.0))
