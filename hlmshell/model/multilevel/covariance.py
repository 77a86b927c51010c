"""Covariance structures of one random-effects equation, in two metrics.

theta (optimiser metric): the relative Cholesky factor Λ_e with Σ_e = σ² Λ_e Λ_e', log-Cholesky
style so that every real vector is valid.

gamma (Stata's e(b) metric): lns_k = ln sd_k and atr_km = atanh(corr_km) (notes §1).
"""

from __future__ import annotations

import numpy as np

COV_TYPES = ("identity", "independent", "exchangeable", "unstructured")


def n_params(cov: str, q: int) -> int:
    """Parameters of a covariance structure of q effects (the same count in θ and in γ)."""
    if cov == "identity":
        return 1
    if cov == "independent":
        return q
    if cov == "exchangeable":
        return 2
    if cov == "unstructured":
        return q * (q + 1) // 2
    raise ValueError(f"unknown covariance structure {cov}")


def _exch_rho_from_z(z: float, q: int) -> float:
    """Map R onto the valid correlation range (-1/(q-1), 1); for q = 2 this is tanh(z)."""
    lo = -1.0 / (q - 1)
    return lo + (1.0 - lo) * 0.5 * (np.tanh(z) + 1.0)


def _exch_z_from_rho(rho: float, q: int) -> float:
    lo = -1.0 / (q - 1)
    return float(np.arctanh(2.0 * (rho - lo) / (1.0 - lo) - 1.0))


def _exch_corr(rho: float, q: int) -> np.ndarray:
    return (1.0 - rho) * np.eye(q) + rho * np.ones((q, q))


def lambda_from_theta(cov: str, q: int, t: np.ndarray) -> np.ndarray:
    """Relative factor Λ_e (q x q, lower triangular)."""
    if cov == "identity":
        return np.exp(t[0]) * np.eye(q)
    if cov == "independent":
        return np.diag(np.exp(t))
    if cov == "exchangeable":
        rho = _exch_rho_from_z(t[1], q)
        return np.exp(t[0]) * np.linalg.cholesky(_exch_corr(rho, q))
    L = np.zeros((q, q))
    L[np.tril_indices(q)] = t
    d = np.diag_indices(q)
    L[d] = np.exp(L[d])
    return L


def theta_start(cov: str, q: int) -> np.ndarray:
    """Λ_e = I (Σ_e = σ² I), as lme4 starts."""
    return np.zeros(n_params(cov, q))


def theta_from_relcov(cov: str, q: int, S: np.ndarray) -> np.ndarray:
    """Inverse of lambda_from_theta, from the relative covariance Σ_e/σ²."""
    sd = np.sqrt(np.diag(S))
    if cov == "identity":
        return np.array([np.log(sd[0])])
    if cov == "independent":
        return np.log(sd)
    if cov == "exchangeable":
        rho = S[0, 1] / (sd[0] * sd[1])
        return np.array([np.log(sd[0]), _exch_z_from_rho(rho, q)])
    L = np.linalg.cholesky(S)
    d = np.diag_indices(q)
    L[d] = np.log(L[d])
    return L[np.tril_indices(q)]


def gamma_names(cov: str, q: int, lev: int, eq: int) -> list[str]:
    """Stata's names with 1-based level L and equation E (notes §1)."""
    L, E = lev + 1, eq + 1
    if cov == "identity":
        return [f"lns{L}_{E}_1"]
    if cov == "independent":
        return [f"lns{L}_{E}_{k}" for k in range(1, q + 1)]
    if cov == "exchangeable":
        return [f"lns{L}_{E}_1", f"atr{L}_{E}_1_1"]
    names = [f"lns{L}_{E}_{k}" for k in range(1, q + 1)]
    names += [f"atr{L}_{E}_{k}_{j}" for k in range(1, q + 1) for j in range(k + 1, q + 1)]
    return names


def gamma_from_cov(cov: str, S: np.ndarray) -> np.ndarray:
    """Stata's ancillary parameters from Σ_e (variance scale)."""
    q = S.shape[0]
    sd = np.sqrt(np.diag(S))
    if cov == "identity":
        return np.array([np.log(sd[0])])
    if cov == "independent":
        return np.log(sd)
    if cov == "exchangeable":
        return np.array([np.log(sd[0]), np.arctanh(S[0, 1] / (sd[0] * sd[1]))])
    corr = S / np.outer(sd, sd)
    iu = np.triu_indices(q, 1)
    return np.concatenate([np.log(sd), np.arctanh(corr[iu])])


def cov_from_gamma(cov: str, q: int, g: np.ndarray) -> np.ndarray:
    """Σ_e (variance scale) from Stata's parameters."""
    if cov == "identity":
        return np.exp(2 * g[0]) * np.eye(q)
    if cov == "independent":
        return np.diag(np.exp(2 * g))
    if cov == "exchangeable":
        return np.exp(2 * g[0]) * _exch_corr(np.tanh(g[1]), q)
    sd = np.exp(g[:q])
    corr = np.eye(q)
    iu = np.triu_indices(q, 1)
    corr[iu] = np.tanh(g[q:])
    corr.T[iu] = corr[iu]
    return corr * np.outer(sd, sd)


def relfactor_from_relcov(cov: str, S: np.ndarray) -> np.ndarray:
    """Λ_e with Λ_e Λ_e' = S; raises LinAlgError when S is not positive definite."""
    if cov in ("identity", "independent"):
        return np.diag(np.sqrt(np.diag(S)))
    return np.linalg.cholesky(S)


def lambda_derivatives(cov: str, q: int, t: np.ndarray) -> np.ndarray:
    """dΛ_e/dθ_j for every θ_j of the equation: (k, q, q), exact.

    For exchangeable Λ = e^{t₀} chol(R(ρ)), the Cholesky factor's derivative is
    dL = L Φ(L⁻¹ dR L⁻ᵀ) with Φ the lower triangle, halved on the diagonal.
    """
    lam = lambda_from_theta(cov, q, t)
    if cov == "identity":
        return lam[None].copy()
    if cov == "independent":
        out = np.zeros((q, q, q))
        out[np.arange(q), np.arange(q), np.arange(q)] = np.diag(lam)
        return out
    if cov == "exchangeable":
        lo = -1.0 / (q - 1)
        drho = (1.0 - lo) * 0.5 / np.cosh(t[1]) ** 2
        chol = lam / np.exp(t[0])
        X = np.linalg.solve(chol, np.linalg.solve(chol, np.ones((q, q)) - np.eye(q)).T).T
        phi = np.tril(X, -1) + 0.5 * np.diag(np.diag(X))
        return np.stack([lam, np.exp(t[0]) * drho * chol @ phi])
    rows, cols = np.tril_indices(q)
    out = np.zeros((len(rows), q, q))
    for j, (a, b) in enumerate(zip(rows, cols)):
        out[j, a, b] = lam[a, b] if a == b else 1.0
    return out
