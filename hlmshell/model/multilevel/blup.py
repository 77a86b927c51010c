"""BLUPs of the random effects, their standard errors, and fitted values.

û = Λ ũ with M ũ = Λ'Z'(y − Xβ̂): the posterior mean (= mode) of u given y at the estimates, what
Stata's `predict, reffects` returns. ũ and the posterior covariance blocks come from
:mod:`.posterior` (back-substitution through the level-wise factorisation of M, or the blocked one
of a crossed design), one row per group of each term (per level of an ``R.varname`` factor).

Standard errors (`predict, reses`). Stata's [ME] mixed postestimation, Methods and formulas
(paraphrased from memory; the manual text could not be retrieved here): the standard errors of
the BLUPs follow Bates and Pinheiro (1998, sec. 3.3); after REML they account for the uncertainty
in β̂, after ML they treat β as known. The lme4 oracle fixture (tests/fixtures/lme4_hsb_blups.json)
records the same rule, and the tests check both cases against it:
  ML:   Var(u | y) = σ² Λ M⁻¹ Λ'                          (conditional SD)
  REML: Var(û − u) = σ² Λ M⁻¹ Λ' + Λ W V(β̂) W' Λ',  W = M⁻¹Λ'Z'X   (comparative SE, Henderson's C22)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .crossprod import EffectLevel, LevelInfo
from .posterior import TermPosterior, nested_posterior

if TYPE_CHECKING:
    from .lmm import LMMFit, REEquation


def posteriors(fit: LMMFit) -> list[TermPosterior]:
    """Per factorisation term: the spherical modes and posterior covariance blocks at the fit
    (M_full⁻¹ after REML, M⁻¹ after ML)."""
    full = fit.method == "REML"
    if fit.crossed is not None:
        from .crossed import crossed_posterior

        return crossed_posterior(fit.crossed, fit.core, full, blocks=True)
    return nested_posterior(fit.layout, fit.core, full)


def _level_posteriors(fit: LMMFit) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per term: (û (n_groups, Q), Var(û − u) diagonal blocks (n_groups, Q, Q)), effects scale."""
    out = []
    for post, lam in zip(posteriors(fit), fit.core.lams):
        out.append((post.u @ lam.T, fit.sigma2 * np.einsum("ik,gkl,jl->gij", lam, post.cov, lam)))
    return out


def _terms(fit: LMMFit) -> list[tuple[EffectLevel, LevelInfo]]:
    """The factorisation's terms with each one's grouping of the estimation rows."""
    if fit.crossed is not None:
        return [(t, fit.crossed.term_levels[t.level]) for t in fit.crossed.terms]
    return [(el, fit.layout.levels[el.level]) for el in fit.layout.elevels]


def random_effects(fit: LMMFit) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per equation: (BLUPs, standard errors), each n_groups x q, rows in group order (for an
    ``R.varname`` equation: one row per level of the factor, q = 1)."""
    res: list = [None] * len(fit.equations)
    for (u, var), (term, _) in zip(_level_posteriors(fit), _terms(fit)):
        sd = np.sqrt(np.maximum(np.diagonal(var, axis1=1, axis2=2), 0.0))
        ends = list(term.offsets[1:]) + [term.Q]
        for i, off, end in zip(term.eqs, term.offsets, ends):
            res[i] = (u[:, off:end].copy(), sd[:, off:end].copy())
    return res


def group_of_rows(fit: LMMFit, equation_index: int) -> np.ndarray:
    """Original row -> row of that equation's arrays in random_effects()."""
    return next(info.row_group for term, info in _terms(fit) if equation_index in term.eqs)


def fitted_values(fit: LMMFit, X: np.ndarray, equations: list[REEquation]) -> np.ndarray:
    """xβ + Σ_e Z_e û_e for the estimation rows (same row order as in fit_mixed)."""
    yhat = np.asarray(X, dtype=np.float64) @ fit.beta if fit.p else np.zeros(fit.n)
    for k, (blup, _) in enumerate(random_effects(fit)):
        g = group_of_rows(fit, k)
        yhat = yhat + np.einsum("ij,ij->i", np.asarray(equations[k].Z, dtype=np.float64), blup[g])
    return yhat
