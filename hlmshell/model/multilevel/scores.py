"""Scores of the highest-level groups: each one's log-likelihood contribution differentiated with
respect to every parameter in Stata's metric (Stata's ``predict, scores`` after ``mixed`` and the me
commands: one score per highest-level group, in the metric of the estimation).

A multilevel model's log likelihood is a sum over its highest-level groups (their random effects,
and those nested in them, integrated out group by group); an observation has no contribution of its
own.  The contributions come from the fits' own per-group pieces: for the linear mixed model the
block elimination of M = I + Λ'Z'ZΛ (``factor``), whose per-group blocks add up into the groups'
log-determinants and quadratic forms; for a GLMM the per-group integrals (``quadrature``).
Derivatives are analytic in β for the linear model and central differences of the vector of
contributions otherwise (one vectorised evaluation per step).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import covariance as cv
from .crossprod import Layout
from .factor import eliminate
from .lmm import REEquation

LOG_2PI = math.log(2.0 * math.pi)
STEP = 1e-5        # relative step of the central differences


def central_scores(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                   which: list[int]) -> np.ndarray:
    """∂f/∂x_j for j in ``which``, f a vector of per-group contributions: groups x len(which)."""
    out = []
    for j in which:
        h = STEP * max(1.0, abs(float(x[j])))
        up, dn = x.copy(), x.copy()
        up[j] += h
        dn[j] -= h
        out.append((f(up) - f(dn)) / (2.0 * h))
    return np.column_stack(out) if out else np.zeros((0, 0))


class LinearGroups:
    """The linear mixed model's log likelihood by highest-level group, at any (β, γ) in Stata's
    metric (γ = lns…, atr… per level and equation, then lnsig_e):

        ℓ_g = −½ [n_g ln(2πσ²) + ln|M|_g + (r_g'r_g − Σ_h |C_h w|²) / σ²],   w = (−β, 1),

    ln|M|_g and Σ_h |C_h w|² summed over the elimination's blocks h of g and its nested groups
    (C_h = L_h⁻¹Λ'Z'[X y] reduced, so that Σ_h C_h'C_h = [X y]'ZΛM⁻¹Λ'Z'[X y])."""

    def __init__(self, y: np.ndarray, X: np.ndarray, layout: Layout, equations: list[REEquation],
                 gslices: dict[int, slice]) -> None:
        self.y, self.X, self.layout = y, X, layout
        self.equations, self.gslices = equations, gslices
        top = layout.levels[0]
        self.top = top.row_group
        self.n_groups = top.n_groups
        self.sizes = np.bincount(self.top, minlength=self.n_groups).astype(float)
        self.block_tops = [top.row_group[layout.levels[el.level].first_row]
                           for el in layout.elevels]

    def _per_group(self, values: np.ndarray, j: int) -> np.ndarray:
        out = np.zeros((self.n_groups,) + values.shape[1:])
        np.add.at(out, self.block_tops[j], values)
        return out

    def _factors(self, gamma: np.ndarray) -> tuple[list[np.ndarray], float]:
        sigma2 = math.exp(2.0 * gamma[-1])
        factors = []
        for i, e in enumerate(self.equations):
            q = e.Z.shape[1]
            rel = cv.cov_from_gamma(e.cov, q, gamma[self.gslices[i]]) / sigma2
            factors.append(cv.lambda_from_theta(e.cov, q, cv.theta_from_relcov(e.cov, q, rel)))
        return factors, sigma2

    def loglik(self, beta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """The vector of ℓ_g (NaN throughout where M is not positive definite)."""
        return self._evaluate(beta, gamma, with_beta=False)[0]

    def scores(self, beta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
        """groups x (len(β) + len(γ)): ∂ℓ_g/∂β analytic (X_g'V̄_g⁻¹r_g / σ²), ∂ℓ_g/∂γ by central
        differences."""
        _, d_beta = self._evaluate(beta, gamma, with_beta=True)
        d_gamma = central_scores(lambda g: self.loglik(beta, g), gamma, list(range(len(gamma))))
        return np.hstack([d_beta, d_gamma])

    def _evaluate(self, beta: np.ndarray, gamma: np.ndarray, with_beta: bool
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        factors, sigma2 = self._factors(gamma)
        el = eliminate(self.layout, factors)
        if el is None:
            return np.full(self.n_groups, np.nan), None
        p = self.X.shape[1]
        w = np.r_[-beta, 1.0]
        r = self.y - (self.X @ beta if p else 0.0)
        quad = np.bincount(self.top, r * r, minlength=self.n_groups)
        logdet = np.zeros(self.n_groups)
        d_beta = np.zeros((self.n_groups, p))
        if with_beta:
            np.add.at(d_beta, self.top, self.X * r[:, None])
        for j, (L, _, C) in enumerate(el.store):
            v = C @ w                                      # (G_j, Q_j)
            quad -= self._per_group(np.sum(v * v, axis=1), j)
            logdet += self._per_group(2.0 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)),
                                                   axis=1), j)
            if with_beta:
                d_beta -= self._per_group(np.einsum("gqa,gq->ga", C[:, :, :p], v), j)
        ll = -0.5 * (self.sizes * (LOG_2PI + math.log(sigma2)) + logdet + quad / sigma2)
        return ll, d_beta / sigma2
