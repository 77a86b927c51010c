"""Derivatives of nonlinear functions of the coefficients, for the delta method (``nlcom``,
``predictnl``): central differences, one coefficient at a time, with a step relative to the
coefficient's size."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STEP = 1e-6


def step(value: float) -> float:
    return STEP * max(abs(value), 1e-2)


def gradient(f: Callable[[np.ndarray], np.ndarray], b: np.ndarray,
             free: np.ndarray | None = None) -> np.ndarray:
    """d f / d b by central differences: one column per coefficient (zero where ``free`` is False:
    coefficients with no variance cannot move the estimate's distribution)."""
    b = np.asarray(b, dtype=float)
    base = np.atleast_1d(np.asarray(f(b), dtype=float))
    G = np.zeros((base.shape[0], len(b)))
    for j in range(len(b)):
        if free is not None and not free[j]:
            continue
        h = step(b[j])
        up, down = b.copy(), b.copy()
        up[j] += h
        down[j] -= h
        G[:, j] = (np.atleast_1d(f(up)) - np.atleast_1d(f(down))) / (2 * h)
    return G


def delta_variance(G: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Var of each row's function: diag(G V G')."""
    return np.einsum("ij,jk,ik->i", G, V, G)
