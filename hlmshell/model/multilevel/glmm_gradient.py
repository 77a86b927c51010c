"""Analytic gradients of the GLMM log likelihood in the optimiser's parameters (β, anc, θ).

* :func:`rule_score` — the Fisher identity at fixed centring: with the quadrature nodes held where
  the rules put them (in the spherical metric u), the gradient of the quadrature approximation is the
  posterior (node-weighted) expectation of the complete-data score,
      ∂/∂ψ = Σ_i Σ_c w_c ∂ln f(y_i | η_ic)/∂η · ∂η_ic/∂ψ,   η_ic = offset + x_iβ + z_iΛ(θ)u_c.
  It is the exact gradient of non-adaptive quadrature, and of the adaptive rules up to the
  (quadrature-error sized) dependence of the centring on ψ, which the fit removes in a final polish.
* :func:`laplace_gradient` — the exact gradient of the joint Laplace approximation
  A = h(û) − ½ln|M|, M = Λ'Z'WZΛ + I (W = −∂²ln f/∂η² at the mode):
      dA/dψ = ∂h/∂ψ − ½[tr(M⁻¹∂M/∂ψ|η) + Σ_i W'_i v_i dη_i/dψ],
  with v_i = z̃_i'M⁻¹z̃_i (z̃_i the row of ZΛ), W' = dW/dη, and dη/dψ = ∂η/∂ψ + ZΛ dû/dψ where
  dû/dψ = M⁻¹(Λ'Z'(−W ∂η/∂ψ + ∂s/∂ψ) + ∂Λ'/∂ψ Z's) by the block solve (``pirls.solve``).
  tr(M⁻¹∂M/∂θ|η) = 2Σ_i W_i z̃_i'M⁻¹(Z∂Λ/∂θ)_i.  The rows' M⁻¹ blocks are the chain covariances of
  the innermost groups (``quadrature.chain_covariances`` of the mode rules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import covariance as cv
from .factor import level_lambdas
from .pirls import Modes, RandomEffects, solve
from .quadrature import Integral, chain_covariances, mode_rules

if TYPE_CHECKING:
    from .lmm import REEquation
    from .response import Generalized

STEP = 1e-6


def lambda_derivatives(re: RandomEffects, equations: "list[REEquation]", slices: list[slice],
                       theta: np.ndarray) -> list[list[np.ndarray]]:
    """dΛ/dθ_k per effect level for every θ_k (central differences of the q x q factor)."""
    out = []
    for e, sl in zip(equations, slices):
        q = e.Z.shape[1]
        for k in range(sl.start, sl.stop):
            up, dn = theta[sl].copy(), theta[sl].copy()
            up[k - sl.start] += STEP
            dn[k - sl.start] -= STEP
            dF = (cv.lambda_from_theta(e.cov, q, up) - cv.lambda_from_theta(e.cov, q, dn)) / (2 * STEP)
            factors = [dF if f is e else np.zeros((f.Z.shape[1], f.Z.shape[1])) for f in equations]
            out.append(level_lambdas(re.skeleton, factors))
    return out


def rule_score(res: Integral, resp: "Generalized", re: RandomEffects, X: np.ndarray,
               dlams: list[list[np.ndarray]], anc: float | None) -> np.ndarray:
    """The node-weighted complete-data score (β, then anc if any, then θ)."""
    w = re.expand(res.weights[-1].T, axis=1)            # nodes x rows, as the Integral's
    wd = w * res.row_d1
    S = wd.sum(axis=0)
    chain = res.chains[-1]
    U = np.column_stack([np.einsum("ci,ci->i", wd, re.expand(chain[:, :, f].T, axis=1))
                         for f in range(chain.shape[2])])
    parts = [X.T @ S]
    if anc is not None:
        da = resp.family.d_ancillary(res.eta, resp.y, anc)
        parts.append([float(np.sum(w * da))])
    parts.append([float(np.sum(re.chain_columns(d) * U)) for d in dlams])
    return np.concatenate([np.asarray(p, dtype=float) for p in parts])


def _level_sums(re: RandomEffects, rows: np.ndarray) -> list[np.ndarray]:
    """Z_ℓ'r per effect level's groups (groups x Q x m) for row vectors r (n x m)."""
    return [re.group_sums(Z[:, :, None] * rows[:, None, :], j) for j, Z in enumerate(re.level_Z)]


def laplace_gradient(modes: Modes, resp: "Generalized", re: RandomEffects, X: np.ndarray,
                     lams: list[np.ndarray], dlams: list[list[np.ndarray]],
                     anc: float | None) -> np.ndarray:
    """The exact gradient of the joint Laplace approximation (β, anc if any, θ)."""
    a0 = 0.0 if anc is None else anc
    eta = modes.eta
    fam, y, ntr = resp.family, resp.y, resp.trials
    _, s, d2 = fam.derivatives(eta, y, ntr, a0, constant=False)
    W = -d2
    h = 1e-5 * np.maximum(1.0, np.abs(eta))
    Wp = -(fam.derivatives(eta + h, y, ntr, a0, constant=False)[2]
           - fam.derivatives(eta - h, y, ntr, a0, constant=False)[2]) / (2 * h)
    g = re.row_groups[-1]
    C = chain_covariances(re, mode_rules(re, modes.u, modes.elimination))[-1]
    zt = re.chain_columns(lams)
    Czt = np.einsum("iab,ib->ia", C[g], zt)
    v = np.einsum("ia,ia->i", zt, Czt)
    u_chain = _chain_of_rows(re, modes.u)
    # ∂η/∂ψ at fixed u, the right-hand sides for dû/dψ, and the parts of ∂M/∂ψ at fixed η
    cols, extra, trace = [], [], []
    p = X.shape[1]
    for k in range(p):
        cols.append(X[:, k])
        extra.append(None)
        trace.append(0.0)
    if anc is not None:
        hs = 1e-6
        up = fam.derivatives(eta, y, ntr, a0 + hs, constant=False)
        dn = fam.derivatives(eta, y, ntr, a0 - hs, constant=False)
        ds = (up[1] - dn[1]) / (2 * hs)
        dW = -(up[2] - dn[2]) / (2 * hs)
        cols.append(np.zeros(re.n))
        extra.append(("rows", ds))
        trace.append(float(np.sum(dW * v)))
    for d in dlams:
        dzt = re.chain_columns(d)
        cols.append(np.einsum("if,if->i", dzt, u_chain))
        extra.append(("lambda", d))
        trace.append(2.0 * float(np.sum(W * np.einsum("ia,ia->i", Czt, dzt))))
    A = np.column_stack(cols)
    sums = _level_sums(re, -W[:, None] * A)
    rhs = [np.einsum("qr,gqm->grm", lam, S) for lam, S in zip(lams, sums)]
    for k, item in enumerate(extra):
        if item is None:
            continue
        kind, value = item
        if kind == "rows":
            add = _level_sums(re, value[:, None])
            for j, lam in enumerate(lams):
                rhs[j][:, :, k] += np.einsum("qr,gq->gr", lam, add[j][:, :, 0])
        else:
            s_sums = _level_sums(re, s[:, None])
            for j, dlam in enumerate(value):
                rhs[j][:, :, k] += np.einsum("qr,gq->gr", dlam, s_sums[j][:, :, 0])
    du = solve(modes.elimination, re.skeleton, rhs)
    zlam = re.level_columns(lams)
    deta = A.copy()
    for Zl, x, gl in zip(zlam, du, re.row_groups):
        deta += np.einsum("iq,iqm->im", Zl, x[gl])
    T = np.asarray(trace) + (Wp * v) @ deta
    dh = A.T @ s
    if anc is not None:
        dh[p] = float(np.sum(fam.d_ancillary(eta, y, a0)))
    return dh - 0.5 * T


def _chain_of_rows(re: RandomEffects, u: list[np.ndarray]) -> np.ndarray:
    """Each row's chain of modes (innermost level's own, then its ancestors'), n x F."""
    return np.column_stack([u[j][re.row_groups[j]] for j in range(len(u) - 1, -1, -1)])
