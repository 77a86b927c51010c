"""The response seam of the multilevel core: what the outcome contributes to the likelihood.

The levels, covariance parameterisations, cross-products and block factorisation (``structure``,
``covariance``, ``crossprod``, ``factor``) are shared by every multilevel model; a response supplies
the rest.  :class:`Gaussian` is the linear mixed model's: with y = Xβ + Zb + ε, ε ~ N(0, σ²I), β (GLS)
and σ² profile out of the likelihood, which is then a function of the relative factors Λ alone,
evaluated from the factorisation's :class:`~hlmshell.model.multilevel.factor.Core`.
:class:`Generalized` is the GLMMs': the outcome (and binomial trials) with a family and link
(:mod:`.families`); the random effects are integrated out by penalised IRLS (:mod:`.pirls`) and
quadrature (:mod:`.quadrature`) on the same blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .factor import Core
from .families import Family

LOG2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Gaussian:
    """Normal errors; ML or REML (lme4's profiled formulas; notes §3 for REML)."""

    reml: bool = False

    @property
    def method(self) -> str:
        return "REML" if self.reml else "ML"

    def profiled_loglik(self, c: Core, n: int, p: int) -> float:
        """Log likelihood with β and σ² profiled out."""
        if self.reml:
            d = n - p
            return -0.5 * (d * (1.0 + LOG2PI + math.log(c.r2 / d)) + c.logdet_M + c.logdet_XtVX)
        return -0.5 * (n * (1.0 + LOG2PI + math.log(c.r2 / n)) + c.logdet_M)

    def sigma2(self, c: Core, n: int, p: int) -> float:
        return c.r2 / (n - p if self.reml else n)

    def loglik_at_sigma(self, c: Core, n: int, p: int, sigma2: float) -> float:
        """Log likelihood with β profiled (GLS) but σ² given: the function Stata differentiates."""
        if self.reml:
            d = n - p
            return -0.5 * (d * (LOG2PI + math.log(sigma2)) + c.logdet_M + c.logdet_XtVX
                           + c.r2 / sigma2)
        return -0.5 * (n * (LOG2PI + math.log(sigma2)) + c.logdet_M + c.r2 / sigma2)

    def linear_loglik(self, XytXy: np.ndarray, n: int) -> float:
        """The comparison linear model (no random effects): regress's ll, or the REML formula with
        V = σ²I, from the cross-products [X y]'[X y] already built (no second pass over the rows)."""
        p = XytXy.shape[0] - 1
        if p:
            beta = np.linalg.solve(XytXy[:p, :p], XytXy[:p, p])
            rss = float(XytXy[p, p] - XytXy[:p, p] @ beta)
        else:
            rss = float(XytXy[0, 0])
        if rss <= 1e-12 * float(XytXy[p, p]):
            return math.inf         # the fixed effects fit the outcome exactly (a constant y)
        if not self.reml:
            return -0.5 * n * (LOG2PI + 1.0 + math.log(rss / n))
        d = n - p
        logdet = float(np.linalg.slogdet(XytXy[:p, :p])[1]) if p else 0.0
        return -0.5 * d * (LOG2PI + 1.0 + math.log(rss / d)) - 0.5 * logdet


@dataclass(frozen=True)
class Generalized:
    """y | η from a family and link (rows in the fit's order); ``trials`` for binomial counts."""

    family: Family
    y: np.ndarray
    trials: np.ndarray

    @property
    def method(self) -> str:
        return "ML"

    def _shape(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """y and the trials to broadcast against η: rows, or quadrature nodes x rows (the rows
        last, so that every elementwise pass and group sum runs along them)."""
        return self.y, self.trials

    def loglik(self, eta: np.ndarray, anc: float = 0.0) -> np.ndarray:
        y, n = self._shape(eta)
        return self.family.loglik(eta, y, n, anc)

    def kernel(self, eta: np.ndarray, anc: float = 0.0) -> np.ndarray:
        """ln f less its η-free part (:meth:`constant`), at rows or nodes x rows."""
        y, n = self._shape(eta)
        return self.family.derivatives(eta, y, n, anc, order=0, constant=False)[0]

    def kernel_sums(self, eta: np.ndarray, anc: float, sums, log_products, order: int = 0,
                    linear=None, work: tuple[np.ndarray, ...] = ()
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Sums over each group's rows (``sums``) of :meth:`kernel` at rows or nodes x rows, and
        with ``order`` 1 the rows' ∂ln f/∂η there.  A Bernoulli logit takes its ln(1 + e^−|η|)
        terms as the log of their group products (``log_products``): one log per group and node
        instead of a log1p per row and node, the cost of the whole evaluation otherwise, and its
        linear part from ``linear`` when given (``Family.bernoulli_logit_sums``), and ``work``
        (arrays of η's shape) as its work space."""
        y, n = self._shape(eta)
        if self.family.binary and self.family.link == "logit" and self._unit_trials:
            return self.family.bernoulli_logit_sums(eta, y, sums, log_products, order, linear,
                                                     work)
        kernel, d1, _ = self.family.derivatives(eta, y, n, anc, order=order, constant=False)
        return sums(kernel), d1

    def derivative_sums(self, eta: np.ndarray, anc: float, sums, log_products
                        ) -> tuple[float, np.ndarray, np.ndarray]:
        """Σ of :meth:`kernel` over the rows with the rows' ∂ln f/∂η and ∂²ln f/∂η² (penalised
        IRLS), through :meth:`kernel_sums`' shortcut for the Bernoulli logit (∂² = p(p − 1))."""
        if self.family.binary and self.family.link == "logit" and self._unit_trials:
            total, d1 = self.kernel_sums(eta, anc, sums, log_products, order=1)
            p = self.y - d1
            return float(np.sum(total)), d1, p * (p - 1.0)
        kernel, d1, d2 = self.derivatives(eta, anc)
        return float(np.sum(kernel)), d1, d2

    @property
    def _unit_trials(self) -> bool:
        if "_unit" not in self.__dict__:
            self.__dict__["_unit"] = bool(np.all(self.trials == 1.0))
        return self.__dict__["_unit"]

    def constant(self, anc: float = 0.0) -> np.ndarray:
        """The rows' η-free part of ln f (kept for the last ancillary value: it is costly)."""
        key = anc if self.family.ancillary is not None else 0.0
        cache = self.__dict__.setdefault("_constant", {})
        if key not in cache:
            cache.clear()
            cache[key] = self.family.constant(self.y, self.trials, anc)
        return cache[key]

    def derivatives(self, eta: np.ndarray, anc: float = 0.0):
        """(ln f less its η-free part, ∂/∂η, ∂²/∂η²)."""
        y, n = self._shape(eta)
        return self.family.derivatives(eta, y, n, anc, constant=False)

    def irls_weights(self, eta: np.ndarray, d2: np.ndarray, anc: float = 0.0) -> np.ndarray:
        """Positive weights for penalised IRLS: the observed curvature where it is positive (the
        mode's own curvature, so the iterations converge quadratically), else the expected one."""
        w = -d2
        bad = ~(w > 0)
        if bad.any():
            w = np.where(bad, self.family.fisher_weight(eta, self.trials, anc), w)
        return np.maximum(w, 1e-12)
