"""Group codes and per-group cross-products for the multilevel models.

Random effects are eliminated level by level, innermost first (a block Cholesky of
M = I + Λ'Z'ZΛ that follows the nesting, so it never fills in). A group at effect level j owns
Q_j effects and sees the effects of its ancestors (its chain). For every innermost group the raw
cross-products of its chain columns, ZZ = Z_c'Z_c and ZXY = Z_c'[X y], are built once with one
pass over the rows per column pair (np.bincount); a likelihood evaluation then costs
O(total groups · small matrices) and never touches the n rows again. For a two-level model
this is exactly the per-group (Z'Z, Z'X, Z'y) of the classic Woodbury formulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


CHUNK = 1 << 20   # rows per bincount: products never n long; data up to this size sum as in one pass


@dataclass
class LevelInfo:
    """Grouping at one level (combination groups for nested levels)."""

    row_group: np.ndarray  # row -> group index at this level (0..n_groups-1)
    first_row: np.ndarray  # group -> one of its rows
    n_groups: int
    g_min: int
    g_avg: float
    g_max: int


@dataclass
class EffectLevel:
    """A level that has random effects, with its equations' columns inside the level block."""

    level: int
    eqs: list[int]  # equation indices at this level, in the order given
    offsets: list[int]  # column offset of each equation within the level block
    Q: int  # effects per group at this level
    n_groups: int
    parent: np.ndarray | None  # group -> group at the next outer effect level (None at the top)
    starts: np.ndarray | None  # reduceat starts after sorting groups by parent
    order: np.ndarray | None  # sort of this level's groups by parent


@dataclass
class Layout:
    n: int
    p: int
    levels: list[LevelInfo]
    elevels: list[EffectLevel]  # outermost first
    ZZ: np.ndarray  # (n_inner, F, F): chain cross-products of the innermost effect level
    ZXY: np.ndarray  # (n_inner, F, p+1)
    XytXy: np.ndarray  # (p+1, p+1)


def _code_type(n: int) -> type:
    """The group codes' integer type: int32 while the rows (and so the groups) fit in it, half the
    memory of int64 at 1e7 rows; np.bincount, np.add.at and indexing take either."""
    return np.int32 if n < 2**31 else np.int64


def _bincount(codes: np.ndarray, minlength: int) -> np.ndarray:
    """np.bincount a block of rows at a time: it copies int32 codes to int64 first, an n-long
    temporary (76 MiB at 1e7 rows) otherwise."""
    out = np.zeros(max(minlength, int(codes.max()) + 1 if codes.size else 0), dtype=np.int64)
    for at in range(0, codes.shape[0], CHUNK):
        out += np.bincount(codes[at:at + CHUNK], minlength=out.size)
    return out


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 for any hashable values (np.unique order), and each code's first row.

    Integers are not sorted again: codes below a few times the row count (group codes already
    factorised) are relabelled through a count table, others (nested combinations) by hashing."""
    values = np.asarray(values)
    n = values.shape[0]
    ctype = _code_type(n)
    if values.dtype.kind in "iu" and n:
        if values.min() >= 0 and values.max() < 4 * n + 1024:
            present = _bincount(values, 0) > 0
            k = int(present.sum())
            codes = (values.astype(ctype) if k == len(present)   # already 0..k-1
                     else (np.cumsum(present) - 1).astype(ctype)[values])
        else:
            import pandas as pd

            codes, uniques = pd.factorize(values, sort=True)
            codes, k = codes.astype(ctype), len(uniques)
        first = np.full(k, n, dtype=np.int64)
        step = 1 << 20                      # row numbers a block at a time, not n of them at once
        for at in range(0, n, step):
            np.minimum.at(first, codes[at:at + step], np.arange(at, min(at + step, n), dtype=np.int64))
        return codes, first
    if values.dtype == object:
        values = values.astype(str)
    _, first, inv = np.unique(values, return_index=True, return_inverse=True)
    return inv.reshape(-1).astype(ctype), first.astype(np.int64)


def build_levels(levels: list[np.ndarray], n: int) -> list[LevelInfo]:
    """Nested grouping: a level-k group is the combination of codes at levels 0..k."""
    infos: list[LevelInfo] = []
    prev: np.ndarray | None = None
    for raw in levels:
        codes, first_row = _codes(raw)
        if codes.shape[0] != n:
            raise ValueError("level codes and data have different lengths")
        if prev is not None:
            codes, first_row = _codes(prev.astype(np.int64) * (int(codes.max()) + 1) + codes)
        key = codes
        n_groups = len(first_row)
        counts = _bincount(key, n_groups)
        infos.append(LevelInfo(key, first_row, n_groups, int(counts.min()), float(counts.mean()),
                               int(counts.max())))
        prev = key
    return infos


def build_layout(y: np.ndarray, X: np.ndarray, levels: list[LevelInfo],
                 eq_levels: list[int], eq_Z: list[np.ndarray],
                 weights: np.ndarray | None = None) -> Layout:
    """The cross-products of the chain columns and [X y]; with ``weights`` (one per row) every
    cross-product is weighted, Z'WZ, Z'W[X y], [X y]'W[X y] (penalised IRLS of the GLMMs)."""
    n, p = X.shape
    elevels = effect_levels(eq_levels, [Z.shape[1] for Z in eq_Z], [li.n_groups for li in levels],
                            lambda outer, inner: levels[outer].row_group[levels[inner].first_row])
    if not elevels:
        XytXy, _, _ = chain_crossproducts(y, X, np.zeros(n, dtype=np.int64), 0, [], weights)
        return Layout(n, p, levels, elevels, np.zeros((0, 0, 0)), np.zeros((0, 0, p + 1)), XytXy)
    inner = levels[elevels[-1].level]
    XytXy, ZZ, ZXY = chain_crossproducts(y, X, inner.row_group, inner.n_groups,
                                         chain_columns(elevels, eq_Z), weights)
    return Layout(n, p, levels, elevels, ZZ, ZXY, XytXy)


def effect_levels(eq_levels: list[int], eq_q: list[int], n_groups: list[int],
                  parent_of) -> list[EffectLevel]:
    """The levels that have equations, outermost first, each with its groups' parents at the next
    outer such level (``parent_of(outer, inner)``: an inner group's group at the outer level)."""
    elevels: list[EffectLevel] = []
    for lev in sorted(set(eq_levels)):
        eqs = [i for i, l in enumerate(eq_levels) if l == lev]
        offs = list(np.cumsum([0] + [eq_q[i] for i in eqs])[:-1])
        Q = int(sum(eq_q[i] for i in eqs))
        parent = order = starts = None
        if elevels:
            parent = parent_of(elevels[-1].level, lev)
            order = np.argsort(parent, kind="stable")
            starts = np.r_[0, np.flatnonzero(np.diff(parent[order])) + 1]
        elevels.append(EffectLevel(lev, eqs, [int(o) for o in offs], Q, n_groups[lev], parent,
                                   starts, order))
    return elevels


def chain_columns(elevels: list[EffectLevel], eq_Z: list[np.ndarray]) -> list[np.ndarray]:
    """The innermost effect level's chain columns: its own effects first, then the ancestors'."""
    cols: list[np.ndarray] = []
    for el in reversed(elevels):
        for i in el.eqs:
            cols += [np.ascontiguousarray(eq_Z[i][:, c], dtype=np.float64) for c in range(eq_Z[i].shape[1])]
    return cols


def chain_crossproducts(y: np.ndarray, X: np.ndarray, g: np.ndarray, G: int,
                        cols: list[np.ndarray], weights: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[X y]'[X y] and, by group g (0..G-1), Z_c'Z_c (G, F, F) and Z_c'[X y] (G, F, p+1) of the
    chain columns: one pass over the rows per column pair."""
    p = X.shape[1]
    Xw = X if weights is None else X * weights[:, None]
    yw = y if weights is None else y * weights
    XytXy = np.empty((p + 1, p + 1))
    XytXy[:p, :p] = Xw.T @ X
    XytXy[:p, p] = XytXy[p, :p] = Xw.T @ y
    XytXy[p, p] = yw @ y
    F = len(cols)
    ZZ = np.empty((G, F, F))
    wcols = cols if weights is None else [c * weights for c in cols]
    sums = _group_summer(g, G, weights is not None)
    for a in range(F):
        for b in range(a, F):
            ZZ[:, a, b] = ZZ[:, b, a] = sums(wcols[a], cols[b])
    ZXY = np.empty((G, F, p + 1))
    for j in range(p + 1):
        v = np.ascontiguousarray(X[:, j]) if j < p else y
        for a in range(F):
            ZXY[:, a, j] = sums(wcols[a], v)
    return XytXy, ZZ, ZXY


def _group_summer(g: np.ndarray, G: int, weighted: bool):
    """Per-group sums of the products of two columns: contiguous ``reduceat`` sums for the weighted
    layouts of the GLMMs, whose rows come sorted by group (and rebuilt at every IRLS step);
    ``bincount`` otherwise, CHUNK rows at a time into one reused buffer (at 1e7 rows an n-long
    product and bincount's int64 copy of int32 codes would add 114 MiB to the fit's peak)."""
    if weighted and G and np.all(g[1:] >= g[:-1]):
        starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
        return lambda a, b: np.add.reduceat(a * b, starts)
    n = g.shape[0]
    buffer = np.empty(min(n, CHUNK))

    def sums(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.zeros(G)
        for at in range(0, n, CHUNK):
            rows = slice(at, min(at + CHUNK, n))
            product = np.multiply(a[rows], b[rows], out=buffer[:rows.stop - at])
            out += np.bincount(g[rows], weights=product, minlength=G)
        return out
    return sums
