"""The profiled likelihood of a linear mixed model as a function of θ, with its analytic gradient.

θ holds each equation's log-Cholesky relative factor (:mod:`.covariance`).  A design with an
``R.varname`` term is factored by the blocked Cholesky of :mod:`.crossed`; any other by the
level-wise one of :mod:`.factor`.  Both give log|M| (log|M_full| for REML), r² and β̂ and, through the
posterior blocks (:mod:`.posterior`), the derivatives of :mod:`.gradient`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import covariance as cv
from .crossed import (
    CrossedLayout,
    build_crossed,
    crossed_core,
    crossed_posterior,
    crossed_residual_products,
)
from .crossprod import EffectLevel, Layout, LevelInfo, build_layout
from .factor import core
from .gradient import derivatives
from .posterior import TermPosterior, nested_posterior, nested_residual_products
from .response import Gaussian


@dataclass
class _Evaluation:
    """What one θ gave: the factorisation (None where M is not positive definite), ℓ, and the
    derivatives of log|M| and r² once they have been asked for."""

    core: object
    loglik: float
    derivatives: tuple[np.ndarray, np.ndarray] | None = None


class Objective:
    """ℓ(θ) with β and σ² profiled out, and ℓ(θ, ln σ) with β profiled (what the SEs come from).

    The evaluations at the most recent θ and at the best θ so far are kept: an optimiser asks again
    for the point it stopped at, a line search's value is followed by the gradient at the point it
    accepts, and the fit then wants the factorisation and the derivatives at the optimum — each a
    whole evaluation otherwise (on a MovieLens-shaped crossed design, ~3 s apiece).
    """

    def __init__(self, y: np.ndarray | None, X: np.ndarray | None, levels: list[LevelInfo],
                 equations: list, response: Gaussian, layout: Layout | None = None) -> None:
        """From the rows (y, X and the equations' columns), or from a ``layout`` of cross-products
        accumulated elsewhere (:mod:`.streaming`; then only the equations' shapes are used)."""
        self.n, self.p = (layout.n, layout.p) if layout is not None else X.shape
        self.response = response
        self.covs = [(e.cov, e.Z.shape[1]) for e in equations]
        pos, self.slices = 0, []
        for cov, q in self.covs:
            k = cv.n_params(cov, q)
            self.slices.append(slice(pos, pos + k))
            pos += k
        self._recent: tuple[bytes, _Evaluation] | None = None
        self._best: tuple[bytes, _Evaluation] | None = None
        self.crossed: CrossedLayout | None = None
        self.layout: Layout | None = None
        if any(e.codes is not None for e in equations):
            self.crossed = build_crossed(y, X, levels, [e.level for e in equations],
                                         [e.Z for e in equations], [e.codes for e in equations],
                                         [e.label for e in equations])
            self.XytXy = self.crossed.XytXy
        else:
            self.layout = layout if layout is not None else build_layout(
                y, X, levels, [e.level for e in equations], [e.Z for e in equations])
            self.XytXy = self.layout.XytXy

    @property
    def d(self) -> int:
        """The residual degrees of freedom of σ²'s estimate: n (ML) or n − p (REML)."""
        return self.n - self.p if self.response.reml else self.n

    @property
    def terms(self) -> list[EffectLevel]:
        return self.crossed.terms if self.crossed is not None else self.layout.elevels

    def factors(self, theta: np.ndarray) -> list[np.ndarray]:
        return [cv.lambda_from_theta(cov, q, theta[s]) for (cov, q), s in zip(self.covs, self.slices)]

    def factorise(self, factors: list[np.ndarray]):
        """The factorisation at the relative factors, or None where M is not positive definite."""
        if self.crossed is not None:
            return crossed_core(self.crossed, factors)
        return core(self.layout, factors)

    def posterior(self, c, blocks: bool) -> list[TermPosterior]:
        full = self.response.reml
        if self.crossed is not None:
            return crossed_posterior(self.crossed, c, full, blocks)
        return nested_posterior(self.layout, c, full, blocks)

    def _evaluation(self, theta: np.ndarray, derivatives: bool) -> _Evaluation:
        key = np.asarray(theta, dtype=np.float64).tobytes()
        ev = next((e for k, e in (self._recent, self._best) if k == key), None) \
            if self._recent is not None else None
        if ev is None:
            c = self.factorise(self.factors(theta))
            ev = _Evaluation(c, -np.inf if c is None else
                             self.response.profiled_loglik(c, self.n, self.p))
        if derivatives and ev.derivatives is None and ev.core is not None:
            ev.derivatives = self._derivatives(theta, ev.core)
        self._recent = (key, ev)
        if self._best is None or ev.loglik >= self._best[1].loglik:
            self._best = (key, ev)
        return ev

    def _derivatives(self, theta: np.ndarray, c) -> tuple[np.ndarray, np.ndarray]:
        """∂log|M|/∂θ and ∂r²/∂θ at θ, from its factorisation."""
        if not theta.size:
            return np.zeros(0), np.zeros(0)
        posts = self.posterior(c, blocks=False)
        if self.crossed is not None:
            resid = crossed_residual_products(self.crossed, c, posts)
        else:
            resid = nested_residual_products(self.layout, c, posts)
        factors = self.factors(theta)
        dfactors = [cv.lambda_derivatives(cov, q, theta[s]) for (cov, q), s in
                    zip(self.covs, self.slices)]
        return derivatives(self.terms, posts, resid, factors, dfactors)

    def core_at(self, theta: np.ndarray):
        """The factorisation at θ (None where M is not positive definite)."""
        return self._evaluation(theta, derivatives=False).core

    def loglik(self, theta: np.ndarray) -> float:
        return self._evaluation(theta, derivatives=False).loglik

    def loglik_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray | None]:
        """The profiled ℓ and its gradient in θ (−inf, None where undefined)."""
        ev = self._evaluation(theta, derivatives=True)
        if ev.core is None:
            return -np.inf, None
        dlogdet, dr2 = ev.derivatives
        return ev.loglik, -0.5 * (dlogdet + self.d * dr2 / ev.core.r2)

    def sigma_hessian(self, theta: np.ndarray, H_profiled: np.ndarray) -> np.ndarray:
        """The Hessian of ℓ(θ, ln σ) at the optimum from the profiled one, H_p = H_θθ − h h'/(−2d)
        (a Schur complement), with h = ∂²ℓ/∂θ∂lnσ = e^{−2 lnσ} ∂r²/∂θ and ∂²ℓ/∂lnσ² = −2d."""
        ev = self._evaluation(theta, derivatives=True)
        c, (_, dr2) = ev.core, ev.derivatives
        d = self.d
        h = d / c.r2 * dr2
        k = theta.size
        H = np.empty((k + 1, k + 1))
        H[:k, :k] = H_profiled - np.outer(h, h) / (2.0 * d)
        H[:k, k] = H[k, :k] = h
        H[k, k] = -2.0 * d
        return H
