"""The marginal covariance of a cluster's observations under a linear mixed model ([ME] mixed
postestimation, ``estat wcorrelation``): V = Σ_e (Z_e G_e Z_e') ∘ [same group at e's level] + σ²I."""

from __future__ import annotations

import numpy as np


def marginal_covariance(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                        residual_variance: float) -> np.ndarray:
    """``blocks``: per random-effects equation its Z (rows × q), G (q × q) and each row's group
    code at the equation's level."""
    n = blocks[0][0].shape[0] if blocks else 0
    V = residual_variance * np.eye(n)
    for Z, G, groups in blocks:
        same = groups[:, None] == groups[None, :]
        V += (Z @ G @ Z.T) * same
    return V


def correlation(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard deviations and the correlation matrix of a covariance matrix."""
    sd = np.sqrt(np.diag(V))
    return sd, V / np.outer(sd, sd)
