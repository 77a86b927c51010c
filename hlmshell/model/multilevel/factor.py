"""The block factorisation behind every multilevel likelihood, from per-group cross-products.

With V = σ²V̄, V̄ = I + ZΛΛ'Z' and M = I + Λ'Z'ZΛ, Woodbury gives
    [X y]'V̄⁻¹[X y] = [X y]'[X y] − C'C,  C = L⁻¹Λ'Z'[X y],   log|V̄| = log|M| = 2 Σ log diag L,
with LL' = M. For a two-level model M is block diagonal over groups. For nested models, M is
factored by eliminating the innermost groups first: each group's block is Cholesky-factored and its
Schur complement is added to its parent's block, as in lme4's sparse factorisation, so that no fill-in
occurs. Every step is a batched operation on stacked (groups, q, q) arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crossprod import Layout


@dataclass
class Core:
    """Everything a likelihood needs at one Λ (σ² not yet chosen), plus the factors BLUPs reuse."""

    logdet_M: float
    XtVX: np.ndarray  # X'V̄⁻¹X
    beta: np.ndarray  # GLS
    r2: float  # penalised residual sum of squares (y−Xβ)'V̄⁻¹(y−Xβ)
    logdet_XtVX: float
    lams: list[np.ndarray]  # per effect level: block-diagonal Λ of its equations
    store: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per effect level: (L, C_anc, C_xy)


def level_lambdas(layout: Layout, factors: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for el in layout.elevels:
        lam = np.zeros((el.Q, el.Q))
        for i, off in zip(el.eqs, el.offsets):
            q = factors[i].shape[0]
            lam[off:off + q, off:off + q] = factors[i]
        out.append(lam)
    return out


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


@dataclass
class Elimination:
    """The block Cholesky of M = Λ'Z'ZΛ + I, innermost level first, with the [X y] columns carried
    along: per effect level (L, C_anc, C_xy) with L L' its groups' blocks after the Schur complements
    of the levels below, C_anc = L⁻¹(coupling to the ancestors), C_xy = L⁻¹Λ'Z'[X y] (reduced)."""

    logdet_M: float
    corr: np.ndarray  # Σ C_xy'C_xy = [X y]'ZΛ M⁻¹ Λ'Z'[X y]
    lams: list[np.ndarray]
    store: list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def eliminate(layout: Layout, factors: list[np.ndarray]) -> Elimination | None:
    """None when a block is not positive definite."""
    p = layout.p
    lams = level_lambdas(layout, factors)
    corr = np.zeros((p + 1, p + 1))
    logdet_M = 0.0
    store: list = [None] * len(lams)
    if lams:
        F = layout.ZZ.shape[1]
        lam_ext = np.zeros((F, F))
        pos = 0
        for lam in reversed(lams):
            lam_ext[pos:pos + lam.shape[0], pos:pos + lam.shape[0]] = lam
            pos += lam.shape[0]
        ZZ = sandwich(lam_ext, layout.ZZ)
        ZXY = left_mult_T(lam_ext, layout.ZXY)
        for j in range(len(lams) - 1, -1, -1):
            el = layout.elevels[j]
            Q = el.Q
            D = ZZ[:, :Q, :Q] + np.eye(Q)
            try:
                L = cholesky_batched(D)
            except np.linalg.LinAlgError:
                return None
            C = forward_batched(L, np.concatenate([ZZ[:, :Q, Q:], ZXY[:, :Q, :]], axis=2))
            A = ZZ.shape[1] - Q
            CA, CXY = C[:, :, :A], C[:, :, A:]
            flat = CXY.reshape(-1, p + 1)
            corr += flat.T @ flat
            logdet_M += 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
            store[j] = (L, CA, CXY)
            if j:
                S_ZZ = ZZ[:, Q:, Q:] - np.einsum("gqa,gqb->gab", CA, CA)
                S_ZXY = ZXY[:, Q:, :] - np.einsum("gqa,gqc->gac", CA, CXY)
                ZZ = np.add.reduceat(S_ZZ[el.order], el.starts, axis=0)
                ZXY = np.add.reduceat(S_ZXY[el.order], el.starts, axis=0)
    return Elimination(logdet_M, corr, lams, store)


def generalised_least_squares(S: np.ndarray, p: int
                              ) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """From S = [X y]'V̄⁻¹[X y]: X'V̄⁻¹X, β̂, the penalised residual sum of squares r² and
    log|X'V̄⁻¹X|; None when X'V̄⁻¹X is not positive definite or r² is not positive."""
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
    return (XtVX, beta, r2, logdet_XtVX) if r2 > 0 else None


def core(layout: Layout, factors: list[np.ndarray]) -> Core | None:
    """None when a matrix is not positive definite (the caller treats it as ll = -inf)."""
    el = eliminate(layout, factors)
    if el is None or not np.isfinite(el.logdet_M):
        return None
    fixed = generalised_least_squares(layout.XytXy - el.corr, layout.p)
    if fixed is None:
        return None
    return Core(el.logdet_M, *fixed, el.lams, el.store)
