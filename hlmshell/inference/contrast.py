"""Contrasts and pairwise comparisons of marginal linear predictions ([R] contrast, [R] pwcompare).

The margins are those of the fixed-portion linear prediction, *asbalanced*: for each cell of a
term's factors, the average over every combination of the model's other factor variables (equal
weights) of the design row, continuous covariates at 0 (so that the contrast of a factor that
interacts with ``c.x`` is its main effect, as in Stata); for a term with ``c.x`` the cells are the
slopes in x.  The rows come from the model's Jacobian of ``xb`` on that grid, so everything is a
linear combination w'b of e(b).

Operators give the rows over a factor's levels; an interaction's contrasts are the Kronecker
products of its factors' rows.  Multiple comparisons: Bonferroni, Šidák and Scheffé adjust the p
values and the critical value of the intervals.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.inference.distributions import (
    chi2_isf,
    chi2_sf,
    f_isf,
    f_sf,
    normal_ppf,
    normal_sf,
    t_ppf,
    t_sf,
)

if TYPE_CHECKING:
    from hlmshell.model.protocol import FittedModel

METHODS = ("noadjust", "bonferroni", "sidak", "scheffe")
Comparison = tuple[int, int | None]        # (level, other level) over positions; None: the mean


def operator_rows(op: str, n: int, base: int) -> tuple[np.ndarray, list[Comparison]]:
    """Rows over ``n`` levels and what each compares: ``r``/none each level vs ``base``, ``a`` each
    vs the next, ``ar`` each vs the previous, ``g`` each vs the mean of all."""
    eye = np.eye(n)
    if op == "a":
        pairs: list[Comparison] = [(k, k + 1) for k in range(n - 1)]
    elif op == "ar":
        pairs = [(k + 1, k) for k in range(n - 1)]
    elif op == "g":
        pairs = [(k, None) for k in range(n)]
    else:
        pairs = [(k, base) for k in range(n) if k != base]
    rows = [eye[k] - (np.full(n, 1.0 / n) if other is None else eye[other]) for k, other in pairs]
    return np.array(rows).reshape(len(pairs), n), pairs


def pairwise_rows(n: int) -> tuple[np.ndarray, list[Comparison]]:
    """Every pair (k vs j), j < k, ordered by j then k (Stata's ``2 vs 1, 3 vs 1, 3 vs 2``)."""
    eye = np.eye(n)
    pairs: list[Comparison] = [(k, j) for j in range(n) for k in range(j + 1, n)]
    return np.array([eye[k] - eye[j] for k, j in pairs]).reshape(len(pairs), n), pairs


def kron_rows(blocks: list[np.ndarray]) -> np.ndarray:
    """The interaction's rows over the cells (first factor outermost)."""
    out = np.ones((1, 1))
    for block in blocks:
        out = np.kron(out, block)
    return out


def marginal_rows(model: FittedModel, levels: dict[str, list[float]], term: list[str],
                  continuous: str | None, variables: list[str]) -> np.ndarray:
    """One row over e(b) per cell of ``term`` (its factors' levels, first outermost): the
    asbalanced margin of ``xb`` (or its slope in ``continuous``)."""
    import pandas as pd

    others = [v for v in levels if v not in term]
    axes = [levels[v] for v in term] + [levels[v] for v in others]
    grid = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(axes))
    frame = pd.DataFrame({v: np.zeros(len(grid)) for v in variables})
    for j, v in enumerate(term + others):
        frame[v] = grid[:, j]
    n_cells = int(np.prod([len(levels[v]) for v in term]))
    per_cell = len(grid) // n_cells

    def rows(x: float) -> np.ndarray:
        if continuous is not None:
            frame[continuous] = x
        J = np.asarray(model.jacobian("xb", frame), dtype=float)
        return J.reshape(n_cells, per_cell, -1).mean(axis=1)

    if continuous is None:
        return rows(0.0)
    return (rows(1.0) - rows(-1.0)) / 2.0


def adjusted(stat: np.ndarray, p: np.ndarray, df: np.ndarray | None, level: float, method: str,
             m: int, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p values and critical values for ``m`` comparisons of rank ``q`` (z when df is
    None, else t with each comparison's df)."""
    alpha = 1 - level / 100.0
    if method == "bonferroni":
        p_adj = np.minimum(1.0, m * p)
        crit = _quantile(1 - alpha / (2 * m), df, len(p))
    elif method == "sidak":
        p_adj = -np.expm1(m * np.log1p(-p))
        a = -np.expm1(np.log1p(-alpha) / m)
        crit = _quantile(1 - a / 2, df, len(p))
    elif method == "scheffe":
        if df is None:
            p_adj = chi2_sf(stat ** 2, q)
            crit = np.full(len(p), np.sqrt(chi2_isf(alpha, q)))
        else:
            p_adj = f_sf(stat ** 2 / q, q, df)
            crit = np.sqrt(q * f_isf(alpha, q, df))
    else:
        p_adj, crit = p, _quantile(1 - alpha / 2, df, len(p))
    return np.asarray(p_adj, dtype=float), np.asarray(crit, dtype=float)


def _quantile(prob: float, df: np.ndarray | None, n: int) -> np.ndarray:
    if df is None:
        return np.full(n, float(normal_ppf(prob)))
    return np.asarray(t_ppf(prob, df), dtype=float)


def two_sided_p(stat: np.ndarray, df: np.ndarray | None) -> np.ndarray:
    a = np.abs(stat)
    return np.asarray(2 * (normal_sf(a) if df is None else t_sf(a, df)), dtype=float)
