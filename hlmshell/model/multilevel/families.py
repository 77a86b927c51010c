"""The conditional distribution of the response given the random effects: family and link.

A :class:`Family` gives, row by row, the log density of y given the linear predictor η (and the
family's ancillary parameter, in its log metric), its first and second derivatives in η (observed,
not expected: the mode-curvature quadrature uses the curvature of the integrand itself), the mean,
and the residuals Stata's ``predict`` computes after the me commands (``meglm_p.ado``).

Families and links, as ``meglm`` names them:

* ``bernoulli`` / ``binomial`` (trials per row) with ``logit``, ``probit`` or ``cloglog``;
* ``poisson`` with ``log``;
* ``nbinomial`` with ``log``, dispersion ``mean`` (NB2: Var = μ(1 + αμ), α = exp(lnalpha)) or
  ``constant`` (NB1: Var = μ(1 + δ), δ = exp(lndelta));
* ``gaussian`` with ``identity`` (σ = exp(lnsigma); shown as the variance var(e.y)).

Everything is vectorised over arrays of any shape (rows x quadrature nodes), with ``y`` and the
trials broadcast against η.  The binomial constant ln C(n, y) and ln y! for counts are included, as
Stata includes them in e(ll).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FAMILIES = ("bernoulli", "binomial", "poisson", "nbinomial", "gaussian")
LINKS = {"bernoulli": ("logit", "probit", "cloglog"), "binomial": ("logit", "probit", "cloglog"),
         "poisson": ("log",), "nbinomial": ("log",), "gaussian": ("identity",)}
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


ANC_BOUND = 40.0      # |ln α| beyond which the density no longer changes in double precision


def _clip(anc: float) -> float:
    """The ancillary parameter held within ±ANC_BOUND (optimiser trial points far outside)."""
    return min(max(float(anc), -ANC_BOUND), ANC_BOUND)


def _special():
    from scipy import special

    return special


@dataclass(frozen=True)
class Family:
    """One family with its link (and, for the negative binomial, its dispersion)."""

    name: str
    link: str
    dispersion: str = ""              # nbinomial: "mean" | "constant"

    def __post_init__(self) -> None:
        if self.name not in FAMILIES or self.link not in LINKS[self.name]:
            raise ValueError(f"family {self.name} with link {self.link} is not supported")
        if (self.name == "nbinomial") != (self.dispersion in ("mean", "constant")):
            raise ValueError("dispersion applies to the negative binomial only")

    @property
    def binary(self) -> bool:
        return self.name in ("bernoulli", "binomial")

    @property
    def ancillary(self) -> str | None:
        """The ancillary parameter in its estimation metric (e(b)'s ``/lnalpha``), if any."""
        if self.name == "nbinomial":
            return "lnalpha" if self.dispersion == "mean" else "lndelta"
        if self.name == "gaussian":
            return "lnsigma"
        return None

    @property
    def model(self) -> str:
        """Stata's e(model), the name the LR test against the model without random effects uses."""
        if self.binary:
            return {"logit": "logistic", "probit": "probit", "cloglog": "cloglog"}[self.link]
        return {"poisson": "Poisson", "nbinomial": "nbinomial", "gaussian": "linear"}[self.name]

    # -- the density -----------------------------------------------------------------------
    def loglik(self, eta, y, n, anc: float = 0.0):
        """ln f(y | η) row by row."""
        return self.derivatives(eta, y, n, anc, order=0)[0]

    def constant(self, y, n, anc: float = 0.0):
        """The part of ln f that does not depend on η (ln C(n, y), −ln y!, ...)."""
        sp = _special()
        anc = _clip(anc)
        if self.binary:
            return sp.gammaln(n + 1.0) - sp.gammaln(y + 1.0) - sp.gammaln(n - y + 1.0)
        if self.name == "poisson":
            return -sp.gammaln(y + 1.0)
        if self.name == "nbinomial":
            if self.dispersion == "mean":
                m = math.exp(-anc)
                return sp.gammaln(y + m) - sp.gammaln(m) - sp.gammaln(y + 1.0)
            return -sp.gammaln(y + 1.0) + y * (anc - math.log1p(math.exp(anc)))
        return np.full(np.shape(y), -HALF_LOG_2PI - anc)

    def derivatives(self, eta, y, n, anc: float = 0.0, order: int = 2, constant: bool = True):
        """(ln f, ∂/∂η, ∂²/∂η²) row by row; ``order`` 0 or 1 stops early (the rest are None);
        without ``constant`` ln f leaves out :meth:`constant` (the quadrature adds it once)."""
        sp = _special()
        anc = _clip(anc)
        eta = np.asarray(eta, dtype=float)
        if self.binary:
            out = self._binomial(sp, eta, y, n, order)
        elif self.name == "poisson":
            mu = np.exp(eta)
            out = y * eta - mu, (y - mu if order else None), (-mu if order > 1 else None)
        elif self.name == "nbinomial":
            out = self._nbinomial(sp, eta, y, anc, order)
        else:
            s2 = math.exp(2.0 * anc)
            r = y - eta
            out = (-0.5 * r * r / s2, (r / s2 if order else None),
                   (np.full_like(eta, -1.0 / s2) if order > 1 else None))
        if constant:
            return out[0] + self.constant(y, n, anc), out[1], out[2]
        return out

    @staticmethod
    def bernoulli_logit_sums(eta, y, sums, log_products, order: int = 0, linear=None,
                             work=()):
        """Group sums of the logit's yη − max(η, 0) − ln(1 + e^−|η|) for 0/1 outcomes (``sums``
        adds rows into groups, ``log_products`` is ln Π of rows in [1, 2]), and with ``order`` 1
        the rows' ∂/∂η = y − p; the same numbers as :meth:`derivatives`, in fewer passes.
        yη − max(η, 0) = (y − ½)η − |η|/2, and ``linear(c)``, when given, is the group sums of
        cη for row weights c from group-level sums (η is linear in the quadrature nodes), which
        spares two passes over the rows; ``work``, up to two arrays of η's shape, is overwritten
        in place of new arrays (with ``order`` 1 the first becomes ∂/∂η)."""
        a = np.abs(eta, out=work[0] if work else None)
        total = linear(y - 0.5) if linear is not None else sums((y - 0.5) * eta)
        total -= 0.5 * sums(a)
        np.negative(a, out=a)
        np.exp(a, out=a)                          # e^−|η|
        if not order:
            a += 1.0
            total -= log_products(a)
            return total, None
        one_e = np.add(a, 1.0, out=work[1] if len(work) > 1 else None)
        total -= log_products(one_e)
        # p = ½ + sign(η)(½ − q), q = e^−|η|/(1 + e^−|η|): y − p without a mask
        q = np.divide(a, one_e, out=a)
        np.subtract(0.5, q, out=q)
        np.copysign(q, eta, out=q)
        np.subtract(y - 0.5, q, out=q)
        return total, q

    def _binomial(self, sp, eta, y, n, order):
        f = n - y
        if self.link == "logit":
            # y ln p + (n − y) ln(1 − p) = yη − n ln(1 + e^η), with e^(−|η|) for the softplus
            e = np.exp(-np.abs(eta))
            ll = y * eta - n * (np.maximum(eta, 0.0) + np.log1p(e))
            if not order:
                return ll, None, None
            p = np.where(eta >= 0, 1.0, e) / (1.0 + e)
            return ll, y - n * p, (-n * p * (1.0 - p) if order > 1 else None)
        if self.link == "probit":
            l1, l0 = sp.log_ndtr(eta), sp.log_ndtr(-eta)
            ll = y * l1 + f * l0
            if not order:
                return ll, None, None
            ld = -0.5 * eta * eta - HALF_LOG_2PI
            r1, r0 = np.exp(ld - l1), np.exp(ld - l0)
            d2 = -y * r1 * (eta + r1) - f * r0 * (r0 - eta) if order > 1 else None
            return ll, y * r1 - f * r0, d2
        t = np.exp(np.minimum(eta, 700.0))
        ll = y * np.log(-np.expm1(-t)) - f * t
        if not order:
            return ll, None, None
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(t > 0, t / np.expm1(t), 1.0)
            d1 = y * a - f * t
            if order < 2:
                return ll, d1, None
            b = np.exp(2.0 * np.log(np.maximum(a, 1e-300)) + t)
        return ll, d1, y * (a - b) - f * t

    def _nbinomial(self, sp, eta, y, anc, order):
        """The η-dependent part of the NB2 / NB1 log density and its derivatives."""
        mu = np.exp(eta)
        if self.dispersion == "mean":
            m = math.exp(-anc)                 # 1/α
            ll = -m * np.log1p(mu / m) + y * (eta - np.log(m + mu))
            if not order:
                return ll, None, None
            d1 = m * (y - mu) / (m + mu)
            return ll, d1, (-m * mu * (y + m) / (m + mu) ** 2 if order > 1 else None)
        delta = math.exp(anc)
        r = mu / delta
        ll = sp.gammaln(y + r) - sp.gammaln(r) - r * math.log1p(delta)
        if not order:
            return ll, None, None
        d1 = r * (sp.digamma(y + r) - sp.digamma(r) - math.log1p(delta))
        d2 = d1 + r * r * (sp.polygamma(1, y + r) - sp.polygamma(1, r)) if order > 1 else None
        return ll, d1, d2

    def d_ancillary(self, eta, y, anc: float):
        """∂ln f/∂anc at fixed η (the ancillary parameter in its log metric)."""
        sp = _special()
        anc = _clip(anc)
        mu = np.exp(eta) if self.name == "nbinomial" else None
        if self.name == "nbinomial" and self.dispersion == "mean":
            m = math.exp(-anc)
            return -m * (sp.digamma(y + m) - sp.digamma(m) - np.log1p(mu / m) + (mu - y) / (m + mu))
        if self.name == "nbinomial":
            delta = math.exp(anc)
            r = mu / delta
            l1d = math.log1p(delta)
            return (-r * (sp.digamma(y + r) - sp.digamma(r)) + r * l1d - r * delta / (1.0 + delta)
                    + y / (1.0 + delta))
        if self.name == "gaussian":
            return -1.0 + (y - eta) ** 2 * math.exp(-2.0 * anc)
        return np.zeros(np.broadcast(eta, y).shape)

    def fisher_weight(self, eta, n, anc: float = 0.0):
        """E[-∂²ln f/∂η²]: positive weights for the penalised IRLS iterations (the canonical links'
        observed curvature; for the negative binomial and probit its expectation)."""
        sp = _special()
        if self.binary:
            if self.link == "logit":
                p = sp.expit(eta)
                return n * p * (1.0 - p)
            if self.link == "probit":
                ld = -0.5 * eta * eta - HALF_LOG_2PI
                return n * np.exp(2.0 * ld - sp.log_ndtr(eta) - sp.log_ndtr(-eta))
            t = np.exp(np.minimum(eta, 700.0))
            return n * np.exp(2.0 * np.log(np.maximum(t, 1e-300)) - np.log(np.expm1(np.maximum(t, 1e-300))) - t)
        mu = np.exp(eta) if self.name != "gaussian" else None
        if self.name == "poisson":
            return mu
        if self.name == "nbinomial":
            if self.dispersion == "mean":
                return mu / (1.0 + math.exp(anc) * mu)
            return mu / (1.0 + math.exp(anc))
        return np.full_like(np.asarray(eta, dtype=float), math.exp(-2.0 * anc))

    # -- means and residuals -----------------------------------------------------------------
    def mean(self, eta, n=1.0):
        """E(y | η): the probability times the trials for binomial responses, the count otherwise."""
        sp = _special()
        eta = np.asarray(eta, dtype=float)
        if self.binary:
            if self.link == "logit":
                p = sp.expit(eta)
            elif self.link == "probit":
                p = sp.ndtr(eta)
            else:
                p = -np.expm1(-np.exp(np.minimum(eta, 700.0)))
            return n * p
        if self.name == "gaussian":
            return eta
        return np.exp(eta)

    def mean_derivative(self, eta, n=1.0):
        """dμ/dη (for the derivatives of predictions, ``margins``)."""
        sp = _special()
        eta = np.asarray(eta, dtype=float)
        if self.binary:
            if self.link == "logit":
                p = sp.expit(eta)
                return n * p * (1.0 - p)
            if self.link == "probit":
                return n * np.exp(-0.5 * eta * eta - HALF_LOG_2PI)
            t = np.exp(np.minimum(eta, 700.0))
            return n * t * np.exp(-t)
        if self.name == "gaussian":
            return np.ones_like(eta)
        return np.exp(eta)

    def variance(self, mu, n=1.0, anc: float = 0.0):
        """Var(y | η) as a function of the mean (Pearson residuals)."""
        if self.binary:
            return mu * (1.0 - mu / n)
        if self.name == "poisson":
            return mu
        if self.name == "nbinomial":
            if self.dispersion == "mean":
                return mu + math.exp(anc) * mu * mu
            return mu + math.exp(anc) * mu
        return np.ones_like(mu)

    def pearson(self, y, mu, n=1.0, anc: float = 0.0):
        """(y − μ)/√V(μ); for the Gaussian family y − μ, as Stata's ``_pearson_gaussian``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (y - mu) / np.sqrt(self.variance(mu, n, anc))

    def deviance_residual(self, y, mu, n=1.0, anc: float = 0.0):
        """sign(y − μ)√d with d the unit deviance (``meglm_p.ado``'s ``_deviance_*``)."""
        sp = _special()
        y, mu = np.asarray(y, dtype=float), np.asarray(mu, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.binary:
                d = 2.0 * (sp.xlogy(y, y / mu) + sp.xlogy(n - y, (n - y) / (n - mu)))
            elif self.name == "poisson":
                d = 2.0 * (sp.xlogy(y, y / mu) - (y - mu))
            elif self.name == "nbinomial":
                if self.dispersion != "mean":
                    raise ValueError("deviance residuals need the mean-dispersion negative binomial")
                k = math.exp(anc)
                d = 2.0 * sp.xlogy(y, y / mu) - (2.0 / k) * (1.0 + k * y) * np.log((1.0 + k * y) / (1.0 + k * mu))
            else:
                d = (y - mu) ** 2
        return np.sign(y - mu) * np.sqrt(np.maximum(d, 0.0))

    def anscombe_residual(self, y, mu, n=1.0, anc: float = 0.0):
        """Anscombe residuals (A(y) − A(μ)) / (A'(μ)√V(μ)) with A(x) = ∫ V(t)^(−1/3) dt.

        With H(x) = ₂F₁(2/3, 1/3; 5/3; x): binomial counts (n trials) 1.5(y^⅔H(y/n) − μ^⅔H(μ/n)) /
        (μ(1 − μ/n))^⅙ and Poisson 1.5(y^⅔ − μ^⅔)/μ^⅙, as ``meglm_p.ado``; the negative binomial
        (mean dispersion α) uses the exact integral A(x) = 1.5x^⅔H(−αx), over (μ + αμ²)^⅙."""
        sp = _special()
        y, mu = np.asarray(y, dtype=float), np.asarray(mu, dtype=float)

        def h(x):
            return sp.hyp2f1(2.0 / 3.0, 1.0 / 3.0, 5.0 / 3.0, x)

        with np.errstate(divide="ignore", invalid="ignore"):
            if self.binary:
                return (1.5 * (y ** (2 / 3) * h(y / n) - mu ** (2 / 3) * h(mu / n))
                        / (mu * (1.0 - mu / n)) ** (1 / 6))
            if self.name == "poisson":
                return 1.5 * (y ** (2 / 3) - mu ** (2 / 3)) / mu ** (1 / 6)
            if self.name == "nbinomial":
                if self.dispersion != "mean":
                    raise ValueError("Anscombe residuals need the mean-dispersion negative binomial")
                k = math.exp(anc)
                return (1.5 * (y ** (2 / 3) * h(-k * y) - mu ** (2 / 3) * h(-k * mu))
                        / (mu + k * mu * mu) ** (1 / 6))
            return y - mu
