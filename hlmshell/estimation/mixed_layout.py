"""Group structure and per-group cross-products for the linear mixed model.

Every top-level group g gets one dense block of m random-effect "slots": first the level-0
effects, then, for each inner level k, one sub-block of Q_k slots per inner group of g (Q_k =
total number of level-k effects). Blocks are padded to the largest group; a padded slot has a
zero column in Z, which adds an identity row to M = I + Λ'Z'ZΛ and changes nothing.

The cross-products Z_g'Z_g, Z_g'[X y] are built once, with one pass over the rows per slot
pair (np.bincount), so that a likelihood evaluation never touches the n rows again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LevelInfo:
    """Grouping at one level (combination groups for nested levels)."""

    row_group: np.ndarray  # row -> group index at this level (0..n_groups-1)
    group_top: np.ndarray  # group -> top-level group
    group_local: np.ndarray  # group -> position among the level's groups inside its top group
    n_groups: int
    g_min: int
    g_avg: float
    g_max: int


@dataclass
class EquationSlots:
    """Where an equation's effects sit in a top-level block: slot = base + local*stride + col."""

    level: int
    q: int
    base: int
    stride: int
    reps: int  # sub-blocks per top-level block (1 at level 0)


@dataclass
class Layout:
    n: int
    p: int
    G: int
    m: int
    levels: list[LevelInfo]
    slots: list[EquationSlots]
    ZtZ: np.ndarray  # (G, m, m)
    ZtXy: np.ndarray  # (G, m, p+1): Z'X and Z'y side by side
    XytXy: np.ndarray  # (p+1, p+1): [X y]'[X y]


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes 0..k-1 for any hashable values (np.unique order)."""
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        _, inv = np.unique(values, return_inverse=True)
    else:
        _, inv = np.unique(values.astype(str) if values.dtype == object else values, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def build_levels(levels: list[np.ndarray], n: int) -> list[LevelInfo]:
    """Nested grouping: a level-k group is the combination of codes at levels 0..k."""
    infos: list[LevelInfo] = []
    prev: np.ndarray | None = None
    top: np.ndarray | None = None
    for raw in levels:
        codes = _codes(raw)
        if codes.shape[0] != n:
            raise ValueError("level codes and data have different lengths")
        if prev is None:
            key = codes
        else:
            key = prev * (int(codes.max()) + 1) + codes
            key = _codes(key)
        n_groups = int(key.max()) + 1 if n else 0
        if top is None:
            top = key
        # top group and local position of every group at this level
        first_row = np.full(n_groups, n, dtype=np.int64)
        np.minimum.at(first_row, key, np.arange(n))
        group_top = top[first_row]
        order = np.lexsort((np.arange(n_groups), group_top))
        sorted_top = group_top[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_top)) + 1]
        run_start = np.repeat(starts, np.diff(np.r_[starts, n_groups]))
        local = np.empty(n_groups, dtype=np.int64)
        local[order] = np.arange(n_groups) - run_start
        counts = np.bincount(key, minlength=n_groups)
        infos.append(LevelInfo(key, group_top, local, n_groups, int(counts.min()),
                               float(counts.mean()), int(counts.max())))
        prev = key
    return infos


def build_layout(y: np.ndarray, X: np.ndarray, levels: list[LevelInfo],
                 eq_levels: list[int], eq_Z: list[np.ndarray]) -> Layout:
    n, p = X.shape
    G = levels[0].n_groups
    # slot bases: level 0 first, then each inner level's repeated sub-blocks
    n_lev = len(levels)
    Q = [0] * n_lev
    offsets: list[int] = []
    for lev, Z in zip(eq_levels, eq_Z):
        offsets.append(Q[lev])
        Q[lev] += Z.shape[1]
    level_base = [0] * n_lev
    count = [1] + [int(np.bincount(li.group_top, minlength=G).max()) for li in levels[1:]]
    pos = 0
    for k in range(n_lev):
        level_base[k] = pos
        pos += Q[k] * count[k]
    m = pos
    slots = [EquationSlots(lev, Z.shape[1], level_base[lev] + off, Q[lev], count[lev])
             for lev, Z, off in zip(eq_levels, eq_Z, offsets)]

    # per-row nonzero slots (increasing within a row: level, then equation, then column)
    top = levels[0].row_group
    row_slot: list[np.ndarray | int] = []
    row_val: list[np.ndarray] = []
    for s, Z in zip(slots, eq_Z):
        local = 0 if s.level == 0 else levels[s.level].group_local[levels[s.level].row_group]
        for c in range(s.q):
            row_slot.append(s.base + c + local * s.stride if s.level else s.base + c)
            row_val.append(np.ascontiguousarray(Z[:, c], dtype=np.float64))

    Xy = np.empty((n, p + 1))
    Xy[:, :p] = X
    Xy[:, p] = y
    nz = len(row_val)
    ZtZ = np.zeros(G * m * m)
    base_mm = top * (m * m)
    for a in range(nz):
        ia = base_mm + np.asarray(row_slot[a]) * m
        for b in range(a, nz):
            ZtZ += np.bincount(ia + row_slot[b], weights=row_val[a] * row_val[b], minlength=G * m * m)
    ZtZ = ZtZ.reshape(G, m, m)
    ZtZ = ZtZ + ZtZ.transpose(0, 2, 1) - ZtZ * np.eye(m)
    ZtXy = np.zeros((p + 1, G * m))
    base_m = top * m
    for a in range(nz):
        idx = base_m + row_slot[a]
        for j in range(p + 1):
            ZtXy[j] += np.bincount(idx, weights=row_val[a] * Xy[:, j], minlength=G * m)
    ZtXy = np.ascontiguousarray(ZtXy.reshape(p + 1, G, m).transpose(1, 2, 0))
    XytXy = Xy.T @ Xy
    return Layout(n, p, G, m, levels, slots, ZtZ, ZtXy, XytXy)
