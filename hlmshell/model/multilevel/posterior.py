"""The conditional modes of the spherical random effects and their posterior covariance blocks.

With b = Λũ, the modes solve M ũ = Λ'Z'(y − Xβ̂) (M = Λ'Z'ZΛ + I) and the covariance of ũ given y is
σ²M⁻¹ when β is known (ML) or σ²[M_full⁻¹]_uu = σ²(M⁻¹ + WΦW'), W = M⁻¹Λ'Z'X, Φ = (X'V̄⁻¹X)⁻¹, when
β̂'s uncertainty is included (REML; Henderson's C22).  Their diagonal blocks, one per group of each
random-effects term, serve the BLUPs' standard errors (:mod:`.blup`) and the analytic gradient of
the profiled likelihood (:mod:`.gradient`), which needs only their sums over groups.

Nested factorisations (:mod:`.factor`) go down the levels, outermost first: with K_h = L_h⁻ᵀC_anc,h,
    ũ_h = L_h⁻ᵀ(C_xy,h w − C_anc,h ũ_anc),  Cov(ũ_h) = L_h⁻ᵀL_h⁻¹ + K_h Σ_anc K_h',
    Cov(ũ_h, ũ_anc) = −K_h Σ_anc,   w = (−β̂, 1).
Crossed factorisations (:mod:`.crossed`) have one block-diagonal term and a dense trailing block;
their posteriors are in that module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crossprod import Layout
from .factor import Core, forward_batched


@dataclass
class TermPosterior:
    """One random-effects term (a nested level, or a crossed term): per group the spherical modes
    ũ (G, Q), the diagonal covariance blocks (G, Q, Q) when asked for, and their sum over groups."""

    u: np.ndarray
    cov: np.ndarray | None
    cov_sum: np.ndarray


def nested_posterior(layout: Layout, c: Core, full: bool, blocks: bool = True
                     ) -> list[TermPosterior]:
    """Per effect level (outermost first); ``full``: M_full⁻¹ (β̂ uncertain) instead of M⁻¹;
    without ``blocks`` the innermost level's covariance blocks are only summed (the gradient)."""
    p = layout.p
    w = np.concatenate([-c.beta, [1.0]])
    Phi = np.linalg.inv(c.XtVX) if full and p else None
    out: list[TermPosterior] = []
    chain_u = chain_cov = chain_W = None
    J = len(layout.elevels)
    for j, el in enumerate(layout.elevels):
        L, CA, CXY = c.store[j]
        G, Q = L.shape[0], el.Q
        if j == 0:
            anc_u, anc_cov, anc_W = np.zeros((G, 0)), np.zeros((G, 0, 0)), np.zeros((G, 0, p))
        else:
            anc_u, anc_cov, anc_W = chain_u[el.parent], chain_cov[el.parent], chain_W[el.parent]
        Linv = forward_batched(L, np.broadcast_to(np.eye(Q), L.shape).copy())
        rhs = CXY @ w - np.einsum("gqa,ga->gq", CA, anc_u)
        u = np.einsum("gqk,gq->gk", Linv, rhs)  # L⁻ᵀ rhs
        K = np.einsum("gqk,gqa->gka", Linv, CA)
        KS = np.einsum("gka,gab->gkb", K, anc_cov)
        W = np.einsum("gqk,gqc->gkc", Linv, CXY[:, :, :p] - np.einsum("gqa,gac->gqc", CA, anc_W))
        if j == J - 1 and not blocks:       # nothing below needs the blocks: sum them directly
            total = _summed(Linv, Linv) + _summed(KS.transpose(0, 2, 1), K.transpose(0, 2, 1))
            if Phi is not None:
                total += _summed((W @ Phi).transpose(0, 2, 1), W.transpose(0, 2, 1))
            out.append(TermPosterior(u, None, total))
            break
        cov = np.einsum("gqk,gql->gkl", Linv, Linv) + np.einsum("gkb,glb->gkl", KS, K)
        A = anc_u.shape[1]
        chain_u = np.concatenate([u, anc_u], axis=1)
        chain_W = np.concatenate([W, anc_W], axis=1)
        chain_cov = np.empty((G, Q + A, Q + A))
        chain_cov[:, :Q, :Q] = cov
        chain_cov[:, :Q, Q:] = -KS
        chain_cov[:, Q:, :Q] = -KS.transpose(0, 2, 1)
        chain_cov[:, Q:, Q:] = anc_cov
        if Phi is not None:
            cov = cov + np.einsum("gkc,cd,gld->gkl", W, Phi, W)
        out.append(TermPosterior(u, cov, cov.sum(axis=0)))
    return out


def _summed(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Σ_g A_g'B_g for (G, m, k) stacks, as one 2-D BLAS product."""
    G, m, k = A.shape
    return A.reshape(G * m, k).T @ B.reshape(G * m, B.shape[2])


def nested_residual_products(layout: Layout, c: Core, posts: list[TermPosterior]
                             ) -> list[np.ndarray]:
    """Per effect level, Z'(y − Xβ̂ − Zb̂) by group (G, Q), from the innermost groups'
    cross-products (b̂ = Λũ; the chain columns are the innermost level's first)."""
    w = np.concatenate([-c.beta, [1.0]])
    J = len(layout.elevels)
    anc = [np.empty(0, dtype=np.int64)] * J
    anc[J - 1] = np.arange(layout.elevels[-1].n_groups)
    for j in range(J - 1, 0, -1):
        anc[j - 1] = layout.elevels[j].parent[anc[j]]
    b = [post.u @ lam.T for post, lam in zip(posts, c.lams)]
    chain = np.concatenate([b[j][anc[j]] for j in range(J - 1, -1, -1)], axis=1)
    r = layout.ZXY @ w - np.einsum("gab,gb->ga", layout.ZZ, chain)
    out: list[np.ndarray] = [np.empty(0)] * J
    pos = 0
    for j in range(J - 1, -1, -1):
        el = layout.elevels[j]
        out[j] = np.stack([np.bincount(anc[j], weights=r[:, pos + a], minlength=el.n_groups)
                           for a in range(el.Q)], axis=1)
        pos += el.Q
    return out
