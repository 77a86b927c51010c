"""Fit a nested linear mixed model from data streamed in chunks (a Parquet file's row groups).

The likelihood needs the rows only through the cross-products of :mod:`.crossprod`: per innermost
group Z_c'Z_c and Z_c'[X y], [X y]'[X y] overall, and the groups' counts and nesting.  Those are sums,
so they are accumulated chunk by chunk in one pass and never need the rows together: memory is one
chunk plus G × F × (F + p + 1) numbers.  Groups are found by their values of the level variables,
wherever their rows are; at the end they are put in sorted order, as :func:`.structure.build_structure`
orders them, so the layout (and hence every number) is the in-memory fit's, up to the order of
floating-point additions.  The same sums per partition and a tree reduction would spread the pass
over a cluster (docs/out_of_core.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hlmshell.model.design import Design
from hlmshell.model.errors import ModelError

from .crossprod import Layout, LevelInfo, chain_crossproducts, effect_levels
from .lmm import REEquation, fit_layout
from .mixed_model import MixedModel
from .structure import Equation, Structure, level_frame


@dataclass
class _Groups:
    """The groups seen so far at one level: their keys (values of the level variables 0..k) in
    order of first appearance, and their row counts."""

    keys: pd.MultiIndex | None = None
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        index = pd.MultiIndex.from_frame(frame)
        if self.keys is None:
            self.keys = index.unique()
        else:
            new = index.unique().difference(self.keys, sort=False)
            if len(new):
                self.keys = self.keys.append(new)
        codes = self.keys.get_indexer(index)
        grown = np.zeros(len(self.keys), dtype=np.int64)
        grown[:len(self.counts)] = self.counts
        self.counts = grown + np.bincount(codes, minlength=len(self.keys))
        return codes


def _grow(A: np.ndarray, G: int) -> np.ndarray:
    if A.shape[0] >= G:
        return A
    out = np.zeros((G,) + A.shape[1:])
    out[:A.shape[0]] = A
    return out


def fit_streamed(chunks: Iterable[pd.DataFrame], depvar: str, design: Design,
                 levels: list[str], equations: list[Equation], *, reml: bool = False,
                 maxiter: int = 300, tolerance: float = 1e-8, ltolerance: float = 1e-10,
                 nrtolerance: float = 1e-12) -> MixedModel:
    """One pass over ``chunks`` (each: the model's variables, rows with a missing one dropped by
    the caller), then the fit from the accumulated cross-products.  Nested designs only (no
    ``R.varname``): ``design`` and ``equations`` come from the caller and are evaluated on every
    chunk (:meth:`Design.matrix`, :meth:`Equation.z`)."""
    if any(eq.spec.factor is not None for eq in equations):
        raise ValueError("a streamed fit needs nested levels (no R.varname)")
    groups = [_Groups() for _ in levels]
    elevels = sorted({eq.level for eq in equations})
    widths = [eq.q for eq in equations]
    inner = elevels[-1] if elevels else None
    F = sum(widths)
    p = len(design.estimable)
    XytXy = np.zeros((p + 1, p + 1))
    ZZ, ZXY = np.zeros((0, F, F)), np.zeros((0, F, p + 1))
    chain_order = [i for lev in reversed(elevels) for i in range(len(equations))
                   if equations[i].level == lev]
    n = 0
    for chunk in chunks:
        if not len(chunk):
            continue
        n += len(chunk)
        codes = [g.codes(level_frame(chunk, tuple(levels[:k + 1]))) for k, g in enumerate(groups)]
        X = design.matrix(chunk)
        y = chunk[depvar].to_numpy(dtype=np.float64)
        if inner is None:
            xy, _, _ = chain_crossproducts(y, X, np.zeros(len(chunk), dtype=np.int64), 0, [])
            XytXy += xy
            continue
        eq_Z = {i: equations[i].z(chunk) for i in chain_order}
        cols = [np.ascontiguousarray(eq_Z[i][:, c]) for i in chain_order for c in range(widths[i])]
        G = len(groups[inner].keys)
        xy, zz, zxy = chain_crossproducts(y, X, codes[inner], G, cols)
        XytXy += xy
        ZZ, ZXY = _grow(ZZ, G), _grow(ZXY, G)
        ZZ[:G] += zz
        ZXY[:G] += zxy
    if n == 0:
        raise ModelError("no_within_variation")
    # sorted group order, as in memory; each group's parent at every outer level
    orders = [np.argsort(g.keys.sortlevel()[1]) for g in groups]   # old code -> sorted position
    keys = [g.keys.sortlevel()[0] for g in groups]
    infos = []
    for g, order in zip(groups, orders):
        counts = np.empty_like(g.counts)
        counts[order] = g.counts
        infos.append(LevelInfo(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                               len(counts), int(counts.min()), float(counts.mean()),
                               int(counts.max())))

    def parent_of(outer: int, lev: int) -> np.ndarray:
        prefix = keys[lev].droplevel(list(range(outer + 1, lev + 1)))
        if not isinstance(prefix, pd.MultiIndex):
            prefix = pd.MultiIndex.from_arrays([prefix])
        return keys[outer].get_indexer(prefix)

    effects = effect_levels([eq.level for eq in equations], widths,
                            [li.n_groups for li in infos], parent_of)
    if inner is not None:
        G = len(keys[inner])
        back = np.empty(G, dtype=np.int64)
        back[orders[inner]] = np.arange(G)            # sorted position -> old code
        ZZ, ZXY = ZZ[back], ZXY[back]
    layout = Layout(n, p, infos, effects, ZZ, ZXY, XytXy)
    shapes = [REEquation(eq.level, list(eq.names), np.zeros((0, eq.q)), eq.cov) for eq in equations]
    fit = fit_layout(layout, infos, shapes, reml=reml, maxiter=maxiter, tolerance=tolerance,
                     ltolerance=ltolerance, nrtolerance=nrtolerance)
    structure = Structure(tuple(levels), tuple(infos), tuple(keys), tuple(equations))
    return MixedModel(depvar, design, structure, fit)

