"""Profiled (ML) and restricted (REML) log likelihood from the per-group cross-products.

With V = σ²(I + ZΛΛ'Z') and M_g = I + Λ'Z_g'Z_gΛ = L_g L_g', Woodbury gives
    [X y]'V̄⁻¹[X y] = [X y]'[X y] − Σ_g C_g'C_g,  C_g = L_g⁻¹Λ'Z_g'[X y],   log|V̄| = Σ_g log|M_g|,
so one evaluation costs O(G m³) (batched Cholesky on a (G, m, m) array) and never sees the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .mixed_layout import Layout

LOG2PI = math.log(2.0 * math.pi)


@dataclass
class Core:
    """Everything a likelihood needs at one Λ (σ² not yet chosen)."""

    logdet_M: float
    XtVX: np.ndarray  # X'V̄⁻¹X
    beta: np.ndarray  # GLS
    r2: float  # penalised residual sum of squares (y−Xβ)'V̄⁻¹(y−Xβ)
    logdet_XtVX: float
    L: np.ndarray  # (G, m, m) Cholesky factors of M_g
    Lam: np.ndarray  # (m, m) block relative factor


def block_lambda(layout: Layout, factors: list[np.ndarray]) -> np.ndarray:
    """The m x m block-diagonal relative factor shared by all top-level groups."""
    Lam = np.zeros((layout.m, layout.m))
    for s, F in zip(layout.slots, factors):
        for j in range(s.reps):
            b = s.base + j * s.stride
            Lam[b:b + s.q, b:b + s.q] = F
    return Lam


SMALL_M = 12  # up to this block size the column loops below beat LAPACK's per-matrix overhead


def left_mult_T(Lam: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Λ' A_g for every g, as one 2-D BLAS product: A is (G, m, k)."""
    G, m, k = A.shape
    if m > SMALL_M:
        return np.matmul(Lam.T, A)
    return (A.transpose(0, 2, 1).reshape(G * k, m) @ Lam).reshape(G, k, m).transpose(0, 2, 1)


def sandwich(Lam: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Λ' A_g Λ for every g (A symmetric), with 2-D BLAS products."""
    G, m, _ = A.shape
    if m > SMALL_M:
        return np.matmul(np.matmul(Lam.T, A), Lam)
    right = (A.reshape(G * m, m) @ Lam).reshape(G, m, m)  # A_g Λ
    return left_mult_T(Lam, right)


def cholesky_batched(M: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of a (G, m, m) stack; LinAlgError if one is not positive definite."""
    G, m, _ = M.shape
    if m > SMALL_M:
        return np.linalg.cholesky(M)
    L = np.zeros_like(M)
    for j in range(m):
        d = M[:, j, j] - np.einsum("gk,gk->g", L[:, j, :j], L[:, j, :j])
        if not np.all(d > 0):
            raise np.linalg.LinAlgError("not positive definite")
        ljj = np.sqrt(d)
        L[:, j, j] = ljj
        if j + 1 < m:
            L[:, j + 1:, j] = (M[:, j + 1:, j] - np.einsum("gik,gk->gi", L[:, j + 1:, :j], L[:, j, :j])) / ljj[:, None]
    return L


def forward_batched(L: np.ndarray, R: np.ndarray) -> np.ndarray:
    """L_g⁻¹ R_g for a stack of lower-triangular L."""
    G, m, _ = L.shape
    if m > SMALL_M:
        return np.linalg.solve(L, R)
    C = np.empty_like(R)
    for j in range(m):
        C[:, j, :] = (R[:, j, :] - np.einsum("gk,gkc->gc", L[:, j, :j], C[:, :j, :])) / L[:, j, j][:, None]
    return C


def core(layout: Layout, factors: list[np.ndarray]) -> Core | None:
    """None when a matrix is not positive definite (the caller treats it as ll = -inf)."""
    p = layout.p
    Lam = block_lambda(layout, factors)
    M = sandwich(Lam, layout.ZtZ)
    M += np.eye(layout.m)
    try:
        L = cholesky_batched(M)
    except np.linalg.LinAlgError:
        return None
    R = left_mult_T(Lam, layout.ZtXy)
    C = forward_batched(L, R)
    Cf = C.reshape(-1, p + 1)
    S = layout.XytXy - Cf.T @ Cf
    logdet_M = 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
    XtVX = S[:p, :p]
    XtVy = S[:p, p]
    if p:
        try:
            RX = np.linalg.cholesky(XtVX)
        except np.linalg.LinAlgError:
            return None
        beta = np.linalg.solve(XtVX, XtVy)
        logdet_XtVX = 2.0 * float(np.sum(np.log(np.diag(RX))))
    else:
        beta = np.zeros(0)
        logdet_XtVX = 0.0
    r2 = float(S[p, p] - XtVy @ beta)
    if not (r2 > 0 and np.isfinite(logdet_M)):
        return None
    return Core(logdet_M, XtVX, beta, r2, logdet_XtVX, L, Lam)


def profiled_ll(c: Core, n: int, p: int, reml: bool) -> float:
    """Log likelihood with β and σ² profiled out (lme4's formulas; notes §3 for REML)."""
    if reml:
        d = n - p
        return -0.5 * (d * (1.0 + LOG2PI + math.log(c.r2 / d)) + c.logdet_M + c.logdet_XtVX)
    return -0.5 * (n * (1.0 + LOG2PI + math.log(c.r2 / n)) + c.logdet_M)


def sigma2_hat(c: Core, n: int, p: int, reml: bool) -> float:
    return c.r2 / (n - p if reml else n)


def ll_at_sigma(c: Core, n: int, p: int, reml: bool, sigma2: float) -> float:
    """Log likelihood with β profiled (GLS) but σ² given: the function Stata differentiates."""
    if reml:
        d = n - p
        return -0.5 * (d * (LOG2PI + math.log(sigma2)) + c.logdet_M + c.logdet_XtVX + c.r2 / sigma2)
    return -0.5 * (n * (LOG2PI + math.log(sigma2)) + c.logdet_M + c.r2 / sigma2)


def ols_ll(y: np.ndarray, X: np.ndarray, reml: bool) -> float:
    """Comparison linear model (notes §3): regress's ll, or the REML formula with V = σ²I."""
    n, p = X.shape
    if p:
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        rss = float(np.sum((y - X @ beta) ** 2))
    else:
        rss = float(y @ y)
    if not reml:
        return -0.5 * n * (LOG2PI + 1.0 + math.log(rss / n))
    d = n - p
    logdet = float(np.linalg.slogdet(X.T @ X)[1]) if p else 0.0
    return -0.5 * d * (LOG2PI + 1.0 + math.log(rss / d)) - 0.5 * logdet
