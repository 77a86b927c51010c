"""The profiled likelihood of a linear mixed model as a function of θ, with its analytic gradient.

θ holds each equation's log-Cholesky relative factor (:mod:`.covariance`).  A design with an
``R.varname`` term is factored by the blocked Cholesky of :mod:`.crossed`; any other by the
level-wise one of :mod:`.factor`.  Both give log|M| (log|M_full| for REML), r² and β̂ and, through the
posterior blocks (:mod:`.posterior`), the derivatives of :mod:`.gradient`.
"""

from __future__ import annotations

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


class Objective:
    """ℓ(θ) with β and σ² profiled out, and ℓ(θ, ln σ) with β profiled (what the SEs come from)."""

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

    def _derivatives(self, theta: np.ndarray):
        factors = self.factors(theta)
        c = self.factorise(factors)
        if c is None:
            return None
        if not theta.size:
            return c, np.zeros(0), np.zeros(0)
        posts = self.posterior(c, blocks=False)
        if self.crossed is not None:
            resid = crossed_residual_products(self.crossed, c, posts)
        else:
            resid = nested_residual_products(self.layout, c, posts)
        dfactors = [cv.lambda_derivatives(cov, q, theta[s]) for (cov, q), s in
                    zip(self.covs, self.slices)]
        return (c, *derivatives(self.terms, posts, resid, factors, dfactors))

    def loglik(self, theta: np.ndarray) -> float:
        c = self.factorise(self.factors(theta))
        return -np.inf if c is None else self.response.profiled_loglik(c, self.n, self.p)

    def loglik_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray | None]:
        """The profiled ℓ and its gradient in θ (−inf, None where undefined)."""
        out = self._derivatives(theta)
        if out is None:
            return -np.inf, None
        c, dlogdet, dr2 = out
        return (self.response.profiled_loglik(c, self.n, self.p),
                -0.5 * (dlogdet + self.d * dr2 / c.r2))

    def sigma_hessian(self, theta: np.ndarray, H_profiled: np.ndarray) -> np.ndarray:
        """The Hessian of ℓ(θ, ln σ) at the optimum from the profiled one, H_p = H_θθ − h h'/(−2d)
        (a Schur complement), with h = ∂²ℓ/∂θ∂lnσ = e^{−2 lnσ} ∂r²/∂θ and ∂²ℓ/∂lnσ² = −2d."""
        c, _, dr2 = self._derivatives(theta)
        d = self.d
        h = d / c.r2 * dr2
        k = theta.size
        H = np.empty((k + 1, k + 1))
        H[:k, :k] = H_profiled - np.outer(h, h) / (2.0 * d)
        H[:k, k] = H[k, :k] = h
        H[k, k] = -2.0 * d
        return H
