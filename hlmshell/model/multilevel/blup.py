"""BLUPs of the random effects, their standard errors, and fitted values.

û = Λ ũ with M ũ = Λ'Z'(y − Xβ̂): the posterior mean (= mode) of u given y at the estimates, what
Stata's `predict, reffects` returns. ũ is found by back-substitution through the level-wise
factorisation of M (mixed_likelihood.core), outermost level first:
    ũ_h = L_h⁻ᵀ (C_xy,h w − C_anc,h ũ_anc(h)),   w = (−β̂, 1).

Standard errors (`predict, reses`). Stata's [ME] mixed postestimation, Methods and formulas
(paraphrased from memory; the manual text could not be retrieved here): the standard errors of
the BLUPs follow Bates and Pinheiro (1998, sec. 3.3); after REML they account for the uncertainty
in β̂, after ML they treat β as known. The lme4 oracle fixture (tests/fixtures/lme4_hsb_blups.json)
records the same rule, and the tests check both cases against it:
  ML:   Var(u | y) = σ² Λ M⁻¹ Λ'                          (conditional SD)
  REML: Var(û − u) = σ² Λ M⁻¹ Λ' + Λ W V(β̂) W' Λ',  W = M⁻¹Λ'Z'X   (comparative SE, Henderson's C22)
The needed diagonal blocks of M⁻¹ follow the same recursion: with K_h = L_h⁻ᵀ C_anc,h,
    Cov(ũ_h, ũ_h) = L_h⁻ᵀL_h⁻¹ + K_h Σ_anc K_h',   Cov(ũ_h, ũ_anc) = −K_h Σ_anc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .factor import forward_batched

if TYPE_CHECKING:
    from .lmm import LMMFit, REEquation


def _level_posteriors(fit: "LMMFit") -> list[tuple[np.ndarray, np.ndarray]]:
    """Per effect level: (û (n_groups, Q), Var(û − u) diagonal-block (n_groups, Q, Q))."""
    c, lay = fit.core, fit.layout
    p = lay.p
    w = np.concatenate([-fit.beta, [1.0]])
    reml = fit.method == "REML" and p > 0
    out = []
    chain_u = chain_cov = chain_W = None
    for j, el in enumerate(lay.elevels):
        L, CA, CXY = c.store[j]
        n, Q = L.shape[0], el.Q
        if j == 0:
            anc_u, anc_cov, anc_W = np.zeros((n, 0)), np.zeros((n, 0, 0)), np.zeros((n, 0, p))
        else:
            anc_u, anc_cov, anc_W = chain_u[el.parent], chain_cov[el.parent], chain_W[el.parent]
        Linv = forward_batched(L, np.broadcast_to(np.eye(Q), L.shape).copy())
        rhs = CXY @ w - np.einsum("gqa,ga->gq", CA, anc_u)
        u = np.einsum("gqk,gq->gk", Linv, rhs)  # L⁻ᵀ rhs
        K = np.einsum("gqk,gqa->gka", Linv, CA)
        KS = np.einsum("gka,gab->gkb", K, anc_cov)
        cov = np.einsum("gqk,gql->gkl", Linv, Linv) + np.einsum("gkb,glb->gkl", KS, K)
        W = np.einsum("gqk,gqc->gkc", Linv, CXY[:, :, :p] - np.einsum("gqa,gac->gqc", CA, anc_W))
        A = anc_u.shape[1]
        chain_u = np.concatenate([u, anc_u], axis=1)
        chain_W = np.concatenate([W, anc_W], axis=1)
        chain_cov = np.empty((n, Q + A, Q + A))
        chain_cov[:, :Q, :Q] = cov
        chain_cov[:, :Q, Q:] = -KS
        chain_cov[:, Q:, :Q] = -KS.transpose(0, 2, 1)
        chain_cov[:, Q:, Q:] = anc_cov
        lam = c.lams[j]
        u_eff = u @ lam.T
        var = fit.sigma2 * np.einsum("ik,gkl,jl->gij", lam, cov, lam)
        if reml:
            LW = np.einsum("ik,gkc->gic", lam, W)
            var = var + np.einsum("gic,cd,gjd->gij", LW, fit.V_beta, LW)
        out.append((u_eff, var))
    return out


def random_effects(fit: "LMMFit") -> list[tuple[np.ndarray, np.ndarray]]:
    """Per equation: (BLUPs, standard errors), each n_groups(level) x q, rows in group order."""
    post = _level_posteriors(fit)
    res: list = [None] * len(fit.equations)
    for (u, var), el in zip(post, fit.layout.elevels):
        sd = np.sqrt(np.maximum(np.diagonal(var, axis1=1, axis2=2), 0.0))
        for i, off in zip(el.eqs, el.offsets):
            q = len(fit.equations[i].names)
            res[i] = (u[:, off:off + q].copy(), sd[:, off:off + q].copy())
    return res


def group_of_rows(fit: "LMMFit", equation_index: int) -> np.ndarray:
    """Original row -> row of that equation's arrays in random_effects()."""
    return fit.levels[fit.equations[equation_index].level].row_group


def fitted_values(fit: "LMMFit", X: np.ndarray, equations: "list[REEquation]") -> np.ndarray:
    """xβ + Σ_e Z_e û_e for the estimation rows (same row order as in fit_mixed)."""
    yhat = np.asarray(X, dtype=np.float64) @ fit.beta if fit.p else np.zeros(fit.n)
    for k, (blup, _) in enumerate(random_effects(fit)):
        g = group_of_rows(fit, k)
        yhat = yhat + np.einsum("ij,ij->i", np.asarray(equations[k].Z, dtype=np.float64), blup[g])
    return yhat
