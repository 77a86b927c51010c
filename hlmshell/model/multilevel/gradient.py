"""Analytic derivatives of the log-determinant and the penalised residual sum of squares in Λ.

With M = Λ'Z'ZΛ + I and any parameter t of one equation's relative factor λ_e (Λ = I ⊗ λ_e on its
term's groups),

    ∂ log|M| / ∂t = 2 tr((G I − T_e) λ_e⁻¹ ∂λ_e/∂t),   T_e = Σ_g [M⁻¹]_gg (the e block),
    ∂ r² / ∂t     = −2 tr(∂λ_e/∂t P_e),               P_e = Σ_g ũ_g (Z'r)_g',

the first because Λ'Z'Z ∂Λ = (M − I) Λ⁻¹∂Λ, the second by the envelope theorem (r² is a minimum over
ũ and β), with r = y − Xβ̂ − ZΛũ.  For REML the same first formula differentiates
log|M| + log|X'V̄⁻¹X| = log|M_full| when T_e sums the blocks of M_full⁻¹ instead (:mod:`.posterior`).
So one pass of the factorisation's posterior recursion gives the whole gradient — what lme4's and
MixedModels.jl's derivative code compute from the same blocks.
"""

from __future__ import annotations

import numpy as np

from .crossprod import EffectLevel
from .posterior import TermPosterior


def derivatives(terms: list[EffectLevel], posts: list[TermPosterior], residuals: list[np.ndarray],
                factors: list[np.ndarray], dfactors: list[np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray]:
    """(∂log|M|/∂θ, ∂r²/∂θ) for θ laid out equation by equation (``dfactors[i]``: (k_i, q, q))."""
    dlogdet: list[np.ndarray] = [np.empty(0)] * len(factors)
    dr2: list[np.ndarray] = [np.empty(0)] * len(factors)
    for term, post, zr in zip(terms, posts, residuals):
        P = post.u.T @ zr
        for i, off in zip(term.eqs, term.offsets):
            q = factors[i].shape[0]
            block = slice(off, off + q)
            A = term.n_groups * np.eye(q) - post.cov_sum[block, block]
            inv_lam = np.linalg.inv(factors[i])
            d = dfactors[i]
            dlogdet[i] = 2.0 * np.einsum("ab,bc,kca->k", A, inv_lam, d)
            dr2[i] = -2.0 * np.einsum("kab,ba->k", d, P[block, block])
    return np.concatenate(dlogdet), np.concatenate(dr2)
