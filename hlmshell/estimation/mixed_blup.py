"""BLUPs of the random effects, their standard errors, and fitted values.

û_g = Λ M_g⁻¹ Λ' Z_g'(y − Xβ̂): the posterior mean (= mode) of u given y at the estimates, what
Stata's `predict, reffects` returns.

Standard errors (`predict, reses`). Stata's [ME] mixed postestimation, Methods and formulas,
says (quoted from memory, the manual text could not be retrieved here): standard errors of the
BLUPs follow Bates and Pinheiro (1998, sec. 3.3); "if estimation is done by REML, these standard
errors account for uncertainty in the estimate of β, while for ML the standard errors treat β as
known". Hence
  ML:   Var(u | y) = σ² Λ M⁻¹ Λ'                       (posterior variance, β known)
  REML: Var(û − u) = σ² Λ M⁻¹ Λ' + A V(β̂) A',  A = Λ M⁻¹ Λ' Z'X   (Henderson's C22 block).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .mixed import MixedFit, REEquation


def _block_posterior(fit: "MixedFit") -> tuple[np.ndarray, np.ndarray]:
    """(û, sd) per top-level block, both (G, m)."""
    lay, c = fit.layout, fit.core
    p = lay.p
    w = np.concatenate([-fit.beta, [1.0]])
    Zr = lay.ZtXy @ w  # Z_g'(y − Xβ), (G, m)
    LamT = c.Lam.T
    W = np.linalg.solve(c.L, np.broadcast_to(LamT, c.L.shape))  # L⁻¹Λ', (G, m, m)
    # û = Λ M⁻¹ Λ' Z'r = (L⁻¹Λ')' (L⁻¹Λ') Z'r
    t = np.einsum("gij,gj->gi", W, Zr)
    u = np.einsum("gij,gi->gj", W, t)
    var = fit.sigma2 * np.einsum("gij,gij->gj", W, W)
    if fit.method == "REML" and p:
        ZtX = lay.ZtXy[:, :, :p]
        A = np.einsum("gij,gik->gjk", W, np.einsum("gij,gjk->gik", W, ZtX))  # (G, m, p)
        var = var + np.einsum("gjk,kl,gjl->gj", A, fit.V_beta, A)
    return u, np.sqrt(np.maximum(var, 0.0))


def random_effects(fit: "MixedFit") -> list[tuple[np.ndarray, np.ndarray]]:
    """Per equation: (BLUPs, standard errors), each n_groups(level) x q, rows in group order."""
    u, sd = _block_posterior(fit)
    out = []
    for s in fit.layout.slots:
        info = fit.layout.levels[s.level]
        cols = np.arange(s.q)
        if s.level == 0:
            idx = s.base + cols[None, :] + np.zeros((info.n_groups, 1), dtype=np.int64)
        else:
            idx = s.base + info.group_local[:, None] * s.stride + cols[None, :]
        rows = info.group_top[:, None]
        out.append((u[rows, idx], sd[rows, idx]))
    return out


def group_of_rows(fit: "MixedFit", equation_index: int) -> np.ndarray:
    """Original row -> row of that equation's arrays in random_effects()."""
    return fit.layout.levels[fit.eq_levels[equation_index]].row_group


def fitted_values(fit: "MixedFit", X: np.ndarray, equations: "list[REEquation]") -> np.ndarray:
    """xβ + Σ_e Z_e û_e for the estimation rows (same row order as in fit_mixed)."""
    yhat = np.asarray(X, dtype=np.float64) @ fit.beta if fit.p else np.zeros(fit.n)
    for k, (blup, _) in enumerate(random_effects(fit)):
        g = group_of_rows(fit, k)
        yhat = yhat + np.einsum("ij,ij->i", np.asarray(equations[k].Z, dtype=np.float64), blup[g])
    return yhat
