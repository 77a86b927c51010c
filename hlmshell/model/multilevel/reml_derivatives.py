"""Derivatives of the REML quantities with respect to the linear covariance parameters φ.

Small-sample inference (Satterthwaite, Kenward–Roger) works in the parameters in which V is linear,
V = Σ_k φ_k G_k: per random-effects equation the free elements of Σ_e in the variance scale
(identity: the variance; independent: the variances; exchangeable: the variance and the covariance;
unstructured: the lower triangle), then σ² (G = I).  Because ∂²V/∂φ∂φ = 0:

    P_k  = ∂(X'V⁻¹X)/∂φ_k          = −X'V⁻¹G_kV⁻¹X
    Q_ij + Q_ji = ∂²(X'V⁻¹X)/∂φ_i∂φ_j,  Q_ij = X'V⁻¹G_iV⁻¹G_jV⁻¹X
    EIM_ij = ½ tr(PG_iPG_j) = −½ ∂²(log|V| + log|X'V⁻¹X|)/∂φ_i∂φ_j
    OIM_ij = −∂²ℓ_R/∂φ_i∂φ_j

(P = V⁻¹ − V⁻¹XΦX'V⁻¹, Φ = (X'V⁻¹X)⁻¹).  Each right-hand side is a function of φ that the block
factorisation evaluates cheaply from the cross-products (``factor.core``: no pass over the rows and no
n x n matrix), so they are found by central differences with Richardson extrapolation (error O(h⁸));
one-sided differences at the boundary (a singular fit).
The fit's numbers are not changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from . import covariance as cv
from .factor import core

if TYPE_CHECKING:
    from .crossprod import Layout
    from .lmm import LMMFit

STEP = 4e-2            # relative step of the coarsest differences
RICHARDSON = 4         # steps h, h/2, h/4, h/8: truncation error O(h⁸)
SHRINK_TRIES = 3       # steps shrink tenfold up to this many times where f fails
BOUNDARY_SCALE = 1e-3  # the smallest step scale, relative to σ²


@dataclass(frozen=True)
class REMLDerivatives:
    """The quantities above at the REML estimates (β's estimable columns, in the design's order)."""

    phi: np.ndarray          # k linear covariance parameters, σ² last
    XtVX: np.ndarray         # X'V⁻¹X (p x p)
    P: np.ndarray            # (k, p, p)
    Q: np.ndarray            # (k, k, p, p): (Q_ij + Q_ji)/2, what Kenward–Roger's sum needs
    eim: np.ndarray          # (k, k)
    oim: np.ndarray          # (k, k)


def _phi_of(cov: str, S: np.ndarray) -> np.ndarray:
    if cov == "identity":
        return np.array([S[0, 0]])
    if cov == "independent":
        return np.diag(S).copy()
    if cov == "exchangeable":
        return np.array([S[0, 0], S[0, 1]])
    return S[np.tril_indices(S.shape[0])].copy()


def _cov_of(cov: str, q: int, phi: np.ndarray) -> np.ndarray:
    if cov == "identity":
        return phi[0] * np.eye(q)
    if cov == "independent":
        return np.diag(phi)
    if cov == "exchangeable":
        return (phi[0] - phi[1]) * np.eye(q) + phi[1] * np.ones((q, q))
    S = np.zeros((q, q))
    S[np.tril_indices(q)] = phi
    return S + np.tril(S, -1).T


def _scales(cov: str, S: np.ndarray) -> np.ndarray:
    """Each parameter's natural size (variances: themselves; covariances: √(var·var))."""
    sd = np.sqrt(np.abs(np.diag(S)))
    if cov in ("identity", "independent"):
        return sd[: 1 if cov == "identity" else len(sd)] ** 2
    if cov == "exchangeable":
        return np.array([sd[0] ** 2, sd[0] ** 2])
    i, j = np.tril_indices(S.shape[0])
    return sd[i] * sd[j]


def reml_derivatives(fit: LMMFit) -> REMLDerivatives | None:
    """None when the factorisation fails at every step size (a fit on the boundary)."""
    eqs = fit.equations
    q = [len(e.names) for e in eqs]
    parts = [_phi_of(e.cov, S) for e, S in zip(eqs, fit.Sigma)]
    sizes = [len(x) for x in parts]
    phi = np.concatenate(parts + [np.array([fit.sigma2])])
    scale = np.concatenate([_scales(e.cov, S) for e, S in zip(eqs, fit.Sigma)]
                           + [np.array([fit.sigma2])])
    # a variance at 0 gets steps on the scale of σ² (its own would be nothing)
    scale = np.maximum(scale, BOUNDARY_SCALE * fit.sigma2)
    n, p = fit.n, fit.p
    layout = _residualised(fit.layout, fit.beta)

    def evaluate(x: np.ndarray) -> np.ndarray | None:
        s2 = x[-1]
        if not s2 > 0:
            return None
        factors, pos = [], 0
        try:
            with np.errstate(invalid="ignore"):          # a negative variance: NaN, refused below
                for e, qe, k in zip(eqs, q, sizes):
                    rel = _cov_of(e.cov, qe, x[pos:pos + k]) / s2
                    factors.append(cv.relfactor_from_relcov(e.cov, rel))
                    pos += k
        except np.linalg.LinAlgError:
            return None
        if any(not np.all(np.isfinite(f)) for f in factors):
            return None
        c = core(layout, factors)
        if c is None:
            return None
        logdet_v = (n - p) * np.log(s2) + c.logdet_M + c.logdet_XtVX
        return np.concatenate([(c.XtVX / s2).ravel(), [logdet_v, c.r2 / s2]])

    for shrink in range(SHRINK_TRIES + 1):
        found = _derivatives(evaluate, phi, STEP * 10.0 ** -shrink * scale)
        if found is not None:
            break
    else:
        return None
    f0, grad, hess = found
    k = len(phi)
    XtVX = f0[: p * p].reshape(p, p)
    P = grad[:, : p * p].reshape(k, p, p)
    Q = 0.5 * hess[:, :, : p * p].reshape(k, k, p, p)
    logdet_h = hess[:, :, p * p]
    eim = -0.5 * logdet_h
    oim = 0.5 * (logdet_h + hess[:, :, p * p + 1])   # ℓ_R = −½(log|V| + log|X'V⁻¹X| + y'Py) + c
    sym = lambda A: 0.5 * (A + A.T)
    return REMLDerivatives(phi, sym(XtVX), P, Q, sym(eim), sym(oim))


def _residualised(layout: Layout, beta: np.ndarray) -> Layout:
    """The cross-products with y replaced by y − Xβ̂.  y'Py and the fit are unchanged (PX = 0),
    but the part of y'Py that varies with φ is then small, so its differences lose fewer digits."""
    p = layout.p
    w = np.concatenate([-beta, [1.0]])
    ZXY = layout.ZXY.copy()
    ZXY[:, :, p] = layout.ZXY @ w
    XytXy = layout.XytXy.copy()
    XytXy[:, p] = XytXy[p, :] = layout.XytXy @ w
    XytXy[p, p] = w @ layout.XytXy @ w
    return replace(layout, ZXY=ZXY, XytXy=XytXy)


# Finite-difference weights over offsets (in steps): first derivative and second derivative, central
# and one-sided (second order accurate; a one-sided side is mirrored by the sign of its offsets)
CENTRAL = {"first": ((-1, -0.5), (1, 0.5)), "second": ((-1, 1.0), (0, -2.0), (1, 1.0))}
ONE_SIDED = {"first": ((0, -1.5), (1, 2.0), (2, -0.5)),
             "second": ((0, 2.0), (1, -5.0), (2, 4.0), (3, -1.0))}


def _derivatives(f: Callable[[np.ndarray], np.ndarray | None], x: np.ndarray, h: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """f(x), its gradient (k, m) and Hessian (k, k, m) for an array-valued f, by differences at
    steps h, h/2, … combined by Richardson extrapolation; None if f fails.

    Central differences where f is defined on both sides of x; at the boundary of the parameter
    space (a variance at 0, a correlation at ±1) one-sided ones towards where it is defined.  Central
    errors have only even powers of h; one-sided ones all powers, so their extrapolation removes
    h², h³, … instead of h², h⁴, ….
    """
    f0 = f(x)
    if f0 is None:
        return None
    k = len(x)
    cache: dict[tuple, np.ndarray | None] = {(): f0}

    def at(steps: tuple[tuple[int, float], ...]) -> np.ndarray | None:
        key = tuple(sorted((i, s) for i, s in steps if s != 0))
        if key not in cache:
            y = x.copy()
            for i, s in key:
                y[i] += s
            cache[key] = f(y)
        return cache[key]

    sides = []
    for i in range(k):
        if at(((i, h[i]),)) is not None and at(((i, -h[i]),)) is not None:
            sides.append(0)
        elif all(at(((i, a * h[i]),)) is not None for a in (1, 2, 3)):
            sides.append(1)
        elif all(at(((i, -a * h[i]),)) is not None for a in (1, 2, 3)):
            sides.append(-1)
        else:
            return None

    def weights(i: int, kind: str) -> tuple[tuple[int, float], ...]:
        if sides[i] == 0:
            return CENTRAL[kind]
        sign = sides[i]
        return tuple((sign * a, (sign if kind == "first" else 1) * w) for a, w in ONE_SIDED[kind])

    def combine(terms) -> np.ndarray | None:
        total = np.zeros(f0.size)
        for steps, w in terms:
            v = at(steps)
            if v is None:
                return None
            total += w * v
        return total

    def once(hs: np.ndarray):
        g = np.empty((k, f0.size))
        H = np.empty((k, k, f0.size))
        for i in range(k):
            first = combine((((i, a * hs[i]),), w) for a, w in weights(i, "first"))
            second = combine((((i, a * hs[i]),), w) for a, w in weights(i, "second"))
            if first is None or second is None:
                return None
            g[i], H[i, i] = first / hs[i], second / hs[i] ** 2
            for j in range(i):
                mixed = combine((((i, a * hs[i]), (j, b * hs[j])), u * w)
                                for a, u in weights(i, "first") for b, w in weights(j, "first"))
                if mixed is None:
                    return None
                H[i, j] = H[j, i] = mixed / (hs[i] * hs[j])
        return g, H

    levels = [once(h / 2 ** j) for j in range(RICHARDSON)]
    if any(v is None for v in levels):
        return None
    powers = [2 * order for order in range(1, RICHARDSON)] if not any(sides) else \
        list(range(2, RICHARDSON + 1))
    table = [list(v) for v in levels]
    for power in powers:                 # each pass removes the next power of h
        factor = 2.0 ** power
        table = [[(factor * fine[i] - coarse[i]) / (factor - 1) for i in range(2)]
                 for coarse, fine in pairwise(table)]
    return f0, table[0][0], table[0][1]
