"""Crossed and partially crossed random effects: a blocked Cholesky of M = Λ'Z'ZΛ + I.

After MixedModels.jl (``createAL``/``updateL!``): the random effects form *terms*, one per grouping
(an ``R.varname`` factor's levels; a Stata level's groups with all of its equations' effects), and
the terms are ordered by their number of effects, largest first.  The first term's diagonal block
of Λ'Z'ZΛ + I is block diagonal (one Q×Q block per group) and is factored group by group with the
batched kernels of :mod:`.factor`; its coupling to the other terms, Z₁'Z_t, is sparse (a scipy CSR
matrix, never an n × levels array); the other terms and [X y] then form one dense Schur complement

    T = Λ_t'Z_t'Z_tΛ_t + I − C_c'C_c,   C_c = L₁⁻¹Λ₁'Z₁'Z_tΛ_t,

factored by LAPACK (MixedModels.jl keeps later blocks block diagonal when a term is nested in all
earlier ones; here every later term is dense, so their total number of effects is bounded by
:data:`MAX_TRAILING`).  log|M| = log|L₁|² + log|T|, and the [X y] columns carried along give β̂ and
the penalised residual sum of squares as in :func:`.factor.core`.  Nested designs (no ``R.``
term) keep the fill-in-free level-wise factorisation of :mod:`.factor`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hlmshell.model.errors import ModelError

from .crossprod import EffectLevel, Layout, LevelInfo, build_layout, build_levels
from .factor import (
    cholesky_batched,
    forward_batched,
    generalised_least_squares,
    left_mult_T,
    sandwich,
)
from .posterior import TermPosterior
from .threads import multithreaded

MAX_TRAILING = 12_000   # effects of the terms after the first: a dense T of 12,000² is 1.15 GB
THREADED = 1_000        # from this size on the dense steps use BLAS's threads (:mod:`.threads`;
                        # InstEval's T, 1,142²: its fit 6.3–6.7 s → 4.9 s on an idle 2-core machine)
MAX_PAIRS = 10_000_000  # products kept by :class:`GramPattern` (~12 bytes each, ~0.2 GB at most)
MAX_DENSE = 50_000_000  # beyond the pattern, C_c (G₁Q₁ × R) is made dense for BLAS up to this size


class GramPattern:
    """Z₁'Z_t's weighted Gram matrices Σ_g (Z₁'Z_t)_g' W_g (Z₁'Z_t)_g on their fixed sparsity pattern.

    Every evaluation of the likelihood needs C_c'C_c = D'(Σ_g ZC_g'W_g ZC_g)D (W_g = λ₁M₁_g⁻¹λ₁') and
    its gradient the contraction of the same sums with Σ.  As sparse products (scipy's csr_matmat)
    they cost a symbolic and a numeric pass each time; here the products ZC[g·Q+a, j]·ZC[g·Q+b, k]
    of every group's pairs of stored entries with j ≥ k (the lower half: the sums are symmetric)
    are formed once, as a sparse matrix P from the (g, a, b) weights to the distinct (j, k) cells,
    so that the Gram matrix is ``P @ vec(W)`` and its contraction with a symmetric S is
    ``P.T @ S[j, k]`` — one sparse matrix-vector product each (MixedModels.jl's ``rankUpdate!``
    exploits the same fixed pattern).  InstEval-shaped data have 1.9e6 such products; a design
    with more than :data:`MAX_PAIRS` uses :func:`_gram`.
    """

    def __init__(self, ZC, zc_rows: np.ndarray, G: int, Q: int) -> None:
        from scipy import sparse

        R = ZC.shape[1]
        col = ZC.indices
        # each group's entries by column (then row): a pair of positions i ≥ i' then has j ≥ k
        order = np.lexsort((zc_rows, col, zc_rows // Q)).astype(np.int32)
        group = zc_rows[order] // Q
        first = np.searchsorted(group, np.arange(G)).astype(np.int32)
        rank = np.arange(order.size, dtype=np.int32) - first[group]      # position in its group
        # int32 indices (at most MAX_PAIRS products): the temporaries stay ~0.1 GB at InstEval's size
        left = np.repeat(np.arange(order.size, dtype=np.int32), rank + 1)
        right = np.arange(left.size, dtype=np.int32)
        right -= np.repeat((np.cumsum(rank + 1) - (rank + 1)).astype(np.int32), rank + 1)
        right += first[group[left]]
        left, right = order[left], order[right]                          # back to ZC's entries
        jl, jr = col[left], col[right]
        key = jl.astype(np.int64) * R + jr
        if R * R <= 30_000_000:                        # distinct cells by marking, without a sort
            mark = np.zeros(R * R, dtype=np.int32)
            mark[key] = 1
            cells = np.flatnonzero(mark)
            mark[cells] = np.arange(cells.size, dtype=np.int32)
            cell = mark[key]
        else:
            cells, cell = np.unique(key, return_inverse=True)
        del key
        value = ZC.data[left] * ZC.data[right]
        weight = zc_rows[left]              # the pairs are in group order: P's columns when Q = 1
        if Q > 1:       # (a, b) and (b, a) in one column j: one pair, counted for both
            value[(jl == jr) & (left != right)] *= 2.0
            weight = (weight % Q) * Q + zc_rows[right] % Q + (weight // Q).astype(np.int64) * Q * Q
            by = np.argsort(weight, kind="stable")
            value, cell, weight = value[by], cell[by], weight[by]
        starts = np.searchsorted(weight, np.arange(G * Q * Q + 1))
        self.P = sparse.csc_matrix((value, cell, starts), shape=(cells.size, G * Q * Q))
        self.cells = cells                  # flat lower-half indices j·R + k, ascending
        self.rows, self.cols = cells // R, cells % R
        self._twice = np.where(self.rows == self.cols, 1.0, 2.0)   # a (j, k) cell stands for (k, j)
        self.R, self.G, self.Q = R, G, Q

    @staticmethod
    def size(ZC, zc_rows: np.ndarray, Q: int) -> int:
        """The number of products the pattern would hold."""
        per_group = np.bincount(zc_rows // Q)
        return int(per_group @ (per_group + 1)) // 2

    def gram(self, W: np.ndarray) -> np.ndarray:
        """Σ_g ZC_g'W_g ZC_g (R × R, dense, both halves) for the (G, Q, Q) symmetric weights W."""
        out = np.zeros((self.R, self.R))
        v = self.P @ W.reshape(-1)
        out[self.rows, self.cols] = v
        out[self.cols, self.rows] = v
        return out

    def subtract_lower(self, T: np.ndarray, W: np.ndarray) -> None:
        """T −= Σ_g ZC_g'W_g ZC_g in T's lower half (C-ordered R × R), all that dpotrf reads."""
        T.reshape(-1)[self.cells] -= self.P @ W.reshape(-1)

    def contract(self, cells: np.ndarray) -> np.ndarray:
        """H_g = ZC_g S ZC_g' (G, Q, Q) for a symmetric S given at the pattern's cells
        (``S[rows, cols]``, the lower half)."""
        H = (self.P.T @ (cells * self._twice)).reshape(self.G, self.Q, self.Q)
        return 0.5 * (H + H.transpose(0, 2, 1)) if self.Q > 1 else H


class SplitGram:
    """Z₁'Z_t's weighted Gram matrices ZC'diag(ω)ZC for a first term of one effect per group (Q₁ = 1)
    with too many products for a :class:`GramPattern`: the densest columns (a MovieLens-shaped
    design's popular movies: 1,500 of 3,706 hold 90% of the ratings) as a dense block for BLAS's
    ``dsyrk``, the rest as sparse products with them and among themselves — a fraction of the
    work of a ``dsyrk`` on all R columns, the same sums.  The split minimises a cost model of the
    three parts, in dense multiply-adds (measured: a sparse-times-dense one costs ~100, a
    sparse-times-sparse product ~160; MovieLens-shaped data: 2,000 dense columns, 1.0 s of CPU for
    a Gram matrix instead of 2.1 s)."""

    def __init__(self, ZC, dense: int | None = None) -> None:
        """``dense``: how many columns go to the dense block (default: the cost model's choice)."""
        csc = ZC.tocsc()
        counts = np.diff(csc.indptr)
        order = np.argsort(-counts, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        entry_rank, entry_row = rank[ZC.indices], np.repeat(np.arange(ZC.shape[0]), np.diff(ZC.indptr))
        G, R = ZC.shape
        best_cost, k = np.inf, R
        for cut in (range(0, R + 1, max(R // 64, 1)) if dense is None else [dense]):
            sparse_rows = np.bincount(entry_row[entry_rank >= cut], minlength=G).astype(float)
            cost = G * cut * cut / 2 + 100 * (G + sparse_rows.sum()) * cut + 160 * sparse_rows @ sparse_rows
            if cost < best_cost:
                best_cost, k = cost, cut
        self.dense, self.sparse = np.sort(order[:k]), np.sort(order[k:])
        self.ZD = ZC[:, self.dense].toarray()           # (G, k)
        self.ZS = ZC[:, self.sparse].tocsr()
        self.ZSt = self.ZS.T.tocsr()
        self.R = R

    def gram(self, w: np.ndarray) -> np.ndarray:
        """ZC'diag(w)ZC (R × R, dense) for nonnegative row weights ``w``: its lower half only (the
        dense columns' block is zero above its diagonal), all that its users read."""
        from scipy import sparse
        from scipy.linalg import blas

        D, S = self.dense, self.sparse
        out = np.empty((self.R, self.R))
        with _dense(self.R):        # D is sorted: the block's lower half lands in out's lower half
            upper = blas.dsyrk(1.0, (self.ZD * np.sqrt(w)[:, None]).T, lower=0)
        out[np.ix_(D, D)] = upper.T     # Fortran-ordered upper half: its transpose reads in order
        SD = np.asarray(self.ZSt @ (self.ZD * w[:, None]))
        out[np.ix_(S, D)] = SD
        out[np.ix_(D, S)] = SD.T
        out[np.ix_(S, S)] = (self.ZSt @ sparse.diags(w) @ self.ZS).toarray()
        return out


@dataclass
class CrossedLayout:
    """The cross-products of a crossed design, by term (the first term, then the trailing ones)."""

    n: int
    p: int
    term_levels: list[LevelInfo]     # each term's grouping of the rows
    terms: list[EffectLevel]         # term k: its equations (indices into the fit's), offsets, Q
    first: Layout                    # the first term's per-group Z'Z and Z'[X y]
    starts: list[int]                # each trailing term's first column in the trailing block
    R: int                           # trailing effects
    ZC: object                       # scipy CSR (G₁Q₁, R): Z₁'Z_t, row g·Q₁ + a
    zc_rows: np.ndarray              # the row of each of ZC's stored values
    Ztt: np.ndarray                  # (R, R): Z_t'Z_t
    ZtXY: np.ndarray                 # (R, p + 1): Z_t'[X y]
    XytXy: np.ndarray
    pattern: GramPattern | None      # None: more products than MAX_PAIRS (then :func:`_gram`)
    split: SplitGram | None = None   # beyond the pattern with Q₁ = 1 and scalar trailing terms


@dataclass
class CrossedCore:
    """The factorisation at one Λ (the fields a :class:`.factor.Core` has, and the blocks)."""

    logdet_M: float
    XtVX: np.ndarray
    beta: np.ndarray
    r2: float
    logdet_XtVX: float
    lams: list[np.ndarray]           # per term: its block-diagonal Λ
    L1: np.ndarray                   # (G₁, Q₁, Q₁)
    CXY1: np.ndarray                 # (G₁, Q₁, p + 1): L₁⁻¹Λ₁'Z₁'[X y]
    Cc: object                       # CSR (G₁Q₁, R)
    D: object                        # CSR (R, R): Λ of the trailing terms
    LT: np.ndarray                   # (R, R): Cholesky factor of T
    Txy: np.ndarray                  # (R, p + 1): the [X y] columns of the Schur complement
    CT: np.ndarray                   # LT⁻¹ Txy


def crossed_terms(levels: list[LevelInfo], eq_levels: list[int],
                  eq_codes: list[np.ndarray | None], eq_q: list[int]
                  ) -> list[tuple[LevelInfo, list[int]]]:
    """The terms, largest first: each ``R.`` factor alone, each level's other equations together."""
    n = len(levels[0].row_group)
    terms: list[tuple[LevelInfo, list[int]]] = []
    for lev, info in enumerate(levels):
        eqs = [i for i, (l, c) in enumerate(zip(eq_levels, eq_codes)) if l == lev and c is None]
        if eqs:
            terms.append((info, eqs))
    for i, codes in enumerate(eq_codes):
        if codes is not None:
            terms.append((build_levels([codes], n)[0], [i]))
    size = [info.n_groups * sum(eq_q[i] for i in eqs) for info, eqs in terms]
    order = sorted(range(len(terms)), key=lambda k: -size[k])
    return [terms[k] for k in order]


def _columns(info: LevelInfo, Z: np.ndarray):
    """A term's sparse n × (groups·Q) columns: row i holds Z_i in its group's Q columns."""
    from scipy import sparse

    n, Q = Z.shape
    rows = np.repeat(np.arange(n), Q)
    cols = (info.row_group[:, None].astype(np.int64) * Q + np.arange(Q)[None, :]).reshape(-1)
    return sparse.csr_matrix((Z.reshape(-1), (rows, cols)), shape=(n, info.n_groups * Q))


def build_crossed(y: np.ndarray, X: np.ndarray, levels: list[LevelInfo], eq_levels: list[int],
                  eq_Z: list[np.ndarray], eq_codes: list[np.ndarray | None],
                  names: list[str]) -> CrossedLayout:
    """Cross-products of every term, one pass over the rows each (``names``: the equations' labels,
    for the message when the trailing block would be too large)."""
    n, p = X.shape
    eq_q = [Z.shape[1] for Z in eq_Z]
    groups = crossed_terms(levels, eq_levels, eq_codes, eq_q)
    terms = []
    for k, (info, eqs) in enumerate(groups):
        offs = np.cumsum([0] + [eq_q[i] for i in eqs])
        terms.append(EffectLevel(k, eqs, [int(o) for o in offs[:-1]], int(offs[-1]), info.n_groups,
                                 None, None, None))
    first_info, first_eqs = groups[0]
    first = build_layout(y, X, [first_info], [0] * len(first_eqs), [eq_Z[i] for i in first_eqs])
    starts, R = [], 0
    for t in terms[1:]:
        starts.append(R)
        R += t.n_groups * t.Q
    if R > MAX_TRAILING:
        big = max(terms[1:], key=lambda t: t.n_groups * t.Q)
        raise ModelError("too_many_levels", var=names[big.eqs[0]], levels=big.n_groups)
    from scipy import sparse

    Zt = sparse.hstack([_columns(groups[k][0], np.column_stack([eq_Z[i] for i in t.eqs]))
                        for k, t in enumerate(terms) if k] or [sparse.csr_matrix((n, 0))],
                       format="csr")
    Z1 = _columns(first_info, np.column_stack([eq_Z[i] for i in first_eqs]))
    XY = np.column_stack([X, y])
    ZtT = Zt.T.tocsr()
    ZC = (Z1.T @ Zt).tocsr()
    zc_rows = np.repeat(np.arange(ZC.shape[0]), np.diff(ZC.indptr))
    G1, Q1 = terms[0].n_groups, terms[0].Q
    pattern = GramPattern(ZC, zc_rows, G1, Q1) if R and \
        GramPattern.size(ZC, zc_rows, Q1) <= MAX_PAIRS else None
    split = SplitGram(ZC) if R and pattern is None and Q1 == 1 and \
        all(t.Q == 1 for t in terms[1:]) and G1 * R <= MAX_DENSE else None
    return CrossedLayout(n, p, [g[0] for g in groups], terms, first, starts, R, ZC, zc_rows,
                         (ZtT @ Zt).toarray(), np.asarray(ZtT @ XY), first.XytXy, pattern, split)


def _term_lambda(term: EffectLevel, factors: list[np.ndarray]) -> np.ndarray:
    lam = np.zeros((term.Q, term.Q))
    for i, off in zip(term.eqs, term.offsets):
        q = factors[i].shape[0]
        lam[off:off + q, off:off + q] = factors[i]
    return lam


def _block_diagonal(blocks: np.ndarray):
    """A sparse matrix with the (G, a, b) blocks down its diagonal."""
    from scipy import sparse

    G, a, b = blocks.shape
    if a == b == 1:
        return sparse.diags(blocks[:, 0, 0], format="csr")
    return sparse.bsr_matrix((blocks, np.arange(G), np.arange(G + 1)), shape=(G * a, G * b))


def crossed_core(cl: CrossedLayout, factors: list[np.ndarray]) -> CrossedCore | None:
    """The blocked factorisation at the relative factors; None when M or X'V⁻¹X is not positive
    definite."""
    from scipy import linalg, sparse

    p = cl.p
    lams = [_term_lambda(t, factors) for t in cl.terms]
    lam1 = lams[0]
    scalar = all(t.Q == 1 for t in cl.terms[1:])      # Λ_t diagonal: scale instead of multiply
    d = np.concatenate([np.full(t.n_groups, lam[0, 0]) for t, lam in zip(cl.terms[1:], lams[1:])]
                       ) if scalar and cl.R else np.zeros(cl.R)
    D = sparse.diags(d, format="csr") if scalar else sparse.block_diag(
        [sparse.kron(sparse.identity(t.n_groups), lam) for t, lam in zip(cl.terms[1:], lams[1:])],
        format="csr")
    M1 = sandwich(lam1, cl.first.ZZ)
    M1 += np.eye(lam1.shape[0])
    try:
        L1 = cholesky_batched(M1)
    except np.linalg.LinAlgError:
        return None
    G, Q = L1.shape[:2]
    CXY1 = forward_batched(L1, left_mult_T(lam1, cl.first.ZXY))
    Linv1 = forward_batched(L1, np.broadcast_to(np.eye(Q), L1.shape).copy())
    B = Linv1 @ lam1.T                               # C_c,g = B_g ZC_g D
    if scalar and Q == 1:
        Cc = cl.ZC.copy()
        Cc.data *= B[:, 0, 0][cl.zc_rows] * d[cl.ZC.indices]
    else:
        Cc = (_block_diagonal(B) @ cl.ZC @ D).tocsr()
    flat = CXY1.reshape(G * Q, p + 1)
    if scalar:      # D(Z_t'Z_t − the pattern's Σ_g ZC_g'B_g'B_g ZC_g)D, in place, in the lower half
        T = cl.Ztt.copy()
        if cl.pattern is not None:
            cl.pattern.subtract_lower(T, np.einsum("gab,gac->gbc", B, B))
        T *= d[:, None]
        T *= d[None, :]
        Txy = d[:, None] * cl.ZtXY - np.asarray(Cc.T @ flat)
    else:
        T = np.asarray(D.T @ np.asarray(D.T @ cl.Ztt).T).T
        if cl.pattern is not None:
            gram = cl.pattern.gram(np.einsum("gab,gac->gbc", B, B))
            T -= np.asarray(D.T @ np.asarray(D.T @ gram).T).T
        Txy = np.asarray(D.T @ cl.ZtXY) - np.asarray(Cc.T @ flat)
    T[np.diag_indices(cl.R)] += 1.0
    if cl.split is not None:          # C_c'C_c = D ZC'diag(ω)ZC D, ω_g = (λ₁/L₁_g)²
        gram = cl.split.gram((Linv1[:, 0, 0] * lam1[0, 0]) ** 2)   # its lower half: dpotrf's
        gram *= d[:, None]
        gram *= d[None, :]
        T -= gram
    elif cl.pattern is None and Cc.shape[0] * Cc.shape[1] <= MAX_DENSE and cl.R:
        from scipy.linalg import blas

        with _dense(cl.R):      # only T's lower half −= C_c'C_c (T.T's upper half), in place
            T = blas.dsyrk(-1.0, Cc.toarray().T, beta=1.0, c=T.T, lower=0, overwrite_c=1).T
    elif cl.pattern is None:
        T -= _gram(Cc)
    LT = T
    if cl.R:
        with _dense(cl.R):      # T = U'U from T.T's upper half, i.e. T's lower half
            U, info = linalg.lapack.dpotrf(T.T, lower=0, clean=1, overwrite_a=1)
        if info != 0:
            return None
        LT = U.T
    CT = linalg.solve_triangular(LT, Txy, lower=True, check_finite=False)
    S = cl.XytXy - flat.T @ flat - CT.T @ CT
    logdet_M = 2.0 * float(np.sum(np.log(np.diagonal(L1, axis1=1, axis2=2)))
                           + np.sum(np.log(np.diag(LT))))
    fixed = generalised_least_squares(S, p)
    if fixed is None or not np.isfinite(logdet_M):
        return None
    return CrossedCore(logdet_M, *fixed, lams, L1, CXY1, Cc, D, LT, Txy, CT)


def _dense(R: int) -> AbstractContextManager:
    return multithreaded() if R >= THREADED else nullcontext()


def _gram(K, L=None) -> np.ndarray:
    """K'L (K'K without L) as a dense array, for sparse K and L with too many products for a
    :class:`GramPattern`.  Such a product has about as many multiplications as BLAS's on dense
    copies (MovieLens-shaped data: 4.5e8 against 6040 · 3706² / 2 for syrk), which run some hundred
    times faster per multiplication; so the copies are made where they fit in :data:`MAX_DENSE`."""
    if K.shape[0] * K.shape[1] > MAX_DENSE:
        return (K.T @ (K if L is None else L)).toarray()
    from scipy.linalg import blas

    Kd = K.toarray()
    with _dense(K.shape[1]):
        if L is not None:
            return Kd.T @ L.toarray()
        upper = blas.dsyrk(1.0, Kd.T)        # Kd'Kd: Kd.T is Fortran-ordered, no copy
    return np.triu(upper) + np.triu(upper, 1).T


class _TrailingCovariance:
    """Σ, the trailing rows and columns of M⁻¹ (ML) or of M_full⁻¹ (REML, where X joins the trailing
    block: Σ = T⁻¹ + AΦA', A = T⁻¹T_x, Φ = (X'V̄⁻¹X)⁻¹), read where it is needed."""

    def __init__(self, c: CrossedCore, R: int, p: int, full: bool) -> None:
        from scipy import linalg

        self.LT, self.R = c.LT, R
        self.A = self.Phi = None
        if full and p:
            self.Phi = np.linalg.inv(c.XtVX)
            self.A = linalg.cho_solve((c.LT, True), c.Txy[:, :p], check_finite=False) if R else \
                np.zeros((0, p))

    @cached_property
    def inv(self) -> np.ndarray:
        """T⁻¹ in its lower half, zeros above: the transpose of ``dpotri``'s upper half from
        U = L_Tᵀ, whose lower half is zero (U is Fortran-ordered, so LAPACK copies nothing, and the
        result is C-ordered like the Gram matrices that :meth:`inner` pairs it with)."""
        from scipy import linalg

        with _dense(self.R):
            return linalg.lapack.dpotri(self.LT.T, lower=0)[0].T if self.R else np.zeros((0, 0))

    def block_sum(self, idx: np.ndarray) -> np.ndarray:
        """Σ_g Σ[idx_g, idx_g] (Q × Q) for the (G, Q) indices of a term's effects, without T⁻¹:
        with U = L_Tᵀ, T⁻¹ = U⁻¹U⁻ᵀ, so its entries are products of rows of U⁻¹ (``dtrtri``, a
        third of ``dpotri``'s work)."""
        from scipy import linalg

        if "inv" in self.__dict__ or not self.R:
            return self.at(idx[:, :, None], idx[:, None, :]).sum(axis=0)
        with _dense(self.R):
            Ui = linalg.lapack.dtrtri(self.LT.T, lower=0)[0]      # LT.T: Fortran order, no copy
        rows = Ui[idx]                                            # (G, Q, R)
        out = np.einsum("gar,gbr->ab", rows, rows)
        if self.A is not None:
            Ag = self.A[idx]
            out += np.einsum("gap,pr,gbr->ab", Ag, self.Phi, Ag)
        return out

    def contraction(self, K: np.ndarray, Q: int) -> np.ndarray:
        """Σ_g K_g Σ K_g' (Q × Q) for K = [K_1; …; K_G] dense, row g·Q + a, without T⁻¹: with
        Y = L_T⁻¹K' (one ``dtrsm``, as much work as the ``dsyrk`` of K'K and a third of ``dpotri``
        less), K_g T⁻¹ K_g' = Y_g'Y_g.  ``K`` is overwritten."""
        from scipy.linalg import blas

        if not self.R:
            return np.zeros((Q, Q))
        G = K.shape[0] // Q
        KA = K @ self.A if self.A is not None else None
        with _dense(self.R):      # LT.T and K.T are Fortran-ordered: dtrsm works in place on K
            Y = blas.dtrsm(1.0, self.LT.T, K.T, lower=0, trans_a=1, overwrite_b=1).T
        rows = Y.reshape(G, Q, self.R)
        out = np.einsum("gar,gbr->ab", rows, rows)
        if KA is not None:
            KA = KA.reshape(G, Q, -1)
            out += np.einsum("gap,pr,gbr->ab", KA, self.Phi, KA)
        return out

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        out = self.inv[np.maximum(rows, cols), np.minimum(rows, cols)]   # dpotri fills the lower half
        return self._with_fixed(out, rows, cols)

    def at_cells(self, pattern: GramPattern) -> np.ndarray:
        """Σ at a :class:`GramPattern`'s cells: T⁻¹'s lower half read in memory order."""
        return self._with_fixed(np.take(self.inv.reshape(-1), pattern.cells), pattern.rows,
                                pattern.cols)

    def _with_fixed(self, inv: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """T⁻¹'s entries plus REML's AΦA' at the same (rows, cols)."""
        if self.A is None:
            return inv
        return inv + np.einsum("...a,ab,...b->...", self.A[rows], self.Phi, self.A[cols])

    def inner(self, B: np.ndarray) -> float:
        """<Σ, B> for a symmetric B given by its lower half, from T⁻¹'s lower half (no symmetrised
        copies; :attr:`inv` is zero above its diagonal, as L_T from dpotrf's ``clean`` is)."""
        lower = self.inv
        out = 2.0 * float(np.vdot(lower, B)) - float(np.diagonal(lower) @ np.diagonal(B))
        if self.A is not None:
            B = np.tril(B) + np.tril(B, -1).T
            out += float(np.sum((B @ self.A) * (self.A @ self.Phi)))
        return out

    def dense(self) -> np.ndarray:
        S = np.tril(self.inv) + np.tril(self.inv, -1).T
        return S if self.A is None else S + self.A @ self.Phi @ self.A.T


def crossed_posterior(cl: CrossedLayout, c: CrossedCore, full: bool,
                      blocks: bool) -> list[TermPosterior]:
    """Modes and posterior covariance blocks per term (``blocks``: per group; else only their sums,
    which need Σ only where a sparse Gram matrix has its nonzeros)."""
    from scipy import linalg

    p = cl.p
    w = np.concatenate([-c.beta, [1.0]])
    G, Q = c.L1.shape[:2]
    u_t = linalg.solve_triangular(c.LT, c.CT @ w, lower=True, trans="T", check_finite=False)
    Linv1 = forward_batched(c.L1, np.broadcast_to(np.eye(Q), c.L1.shape).copy())
    rhs = c.CXY1 @ w - np.asarray(c.Cc @ u_t).reshape(G, Q)
    u1 = np.einsum("gqk,gq->gk", Linv1, rhs)
    S = _TrailingCovariance(c, cl.R, p, full)
    if Q == 1:                                                          # rows: L_g⁻ᵀ C_c,g
        Kc = c.Cc.copy()
        Kc.data *= Linv1[:, 0, 0][np.repeat(np.arange(G), np.diff(c.Cc.indptr))]
    else:
        Kc = (_block_diagonal(Linv1.transpose(0, 2, 1)) @ c.Cc).tocsr()
    base = np.einsum("gqk,gql->gkl", Linv1, Linv1)
    extra = np.zeros((G, Q, Q))
    if S.A is not None:
        Kx = np.einsum("gqk,gqc->gkc", Linv1, c.CXY1[:, :, :p])
        F = -np.asarray(Kc @ (S.A @ S.Phi)).reshape(G, Q, p)          # K_c Σ_cx
        cross = np.einsum("gap,gbp->gab", F, Kx)
        extra += cross + cross.transpose(0, 2, 1) + np.einsum("gap,pr,gbr->gab", Kx, S.Phi, Kx)
    rows = [np.arange(G) * Q + a for a in range(Q)]
    if blocks:
        E = np.asarray(Kc @ S.dense())
        for a in range(Q):
            for b in range(Q):
                extra[:, a, b] += np.asarray(Kc[rows[b]].multiply(E[rows[a]]).sum(axis=1)).ravel()
        cov1 = base + extra
        out = [TermPosterior(u1, cov1, cov1.sum(axis=0))]
    elif cl.pattern is not None:                 # Σ_g K_c,g Σ K_c,g' with K_c,g = V_g ZC_g D
        total = base.sum(axis=0) + extra.sum(axis=0)
        V = np.einsum("gqk,gqa,ba->gkb", Linv1, Linv1, c.lams[0])      # M₁_g⁻¹λ₁'
        rows, cols = cl.pattern.rows, cl.pattern.cols
        if all(t.Q == 1 for t in cl.terms[1:]):     # D Σ D' at the cells, D diagonal
            d = c.D.diagonal()
            cells = S.at_cells(cl.pattern) * d[rows] * d[cols]
        else:
            cells = np.asarray(c.D @ np.asarray(c.D @ S.dense()).T)[rows, cols]
        H = cl.pattern.contract(cells)
        total += np.einsum("gac,gce,gbe->ab", V, H, V)
        out = [TermPosterior(u1, None, total)]
    elif cl.split is not None:          # K_c = diag(λ₁/L₁_g²) ZC D: Σ_g K_c,g Σ K_c,g' = <Σ, K_c'K_c>
        d = c.D.diagonal()
        gram = cl.split.gram((Linv1[:, 0, 0] ** 2 * c.lams[0][0, 0]) ** 2)
        gram *= d[:, None]
        gram *= d[None, :]
        total = base.sum(axis=0) + extra.sum(axis=0) + S.inner(gram)
        out = [TermPosterior(u1, None, total)]
    elif Kc.shape[0] * Kc.shape[1] <= MAX_DENSE:
        total = base.sum(axis=0) + extra.sum(axis=0) + S.contraction(Kc.toarray(), Q)
        out = [TermPosterior(u1, None, total)]
    else:
        total = base.sum(axis=0) + extra.sum(axis=0)
        Sd = S.dense()
        for a in range(Q):
            for b in range(a, Q):
                v = float(np.vdot(_gram(Kc[rows[a]], None if a == b else Kc[rows[b]]), Sd))
                total[a, b] += v
                if a != b:
                    total[b, a] += v
        out = [TermPosterior(u1, None, total)]
    for t, start in zip(cl.terms[1:], cl.starts):
        idx = start + np.arange(t.n_groups)[:, None] * t.Q + np.arange(t.Q)[None, :]
        u = u_t[start:start + t.n_groups * t.Q].reshape(t.n_groups, t.Q)
        if blocks:
            cov = S.at(idx[:, :, None], idx[:, None, :])
            out.append(TermPosterior(u, cov, cov.sum(axis=0)))
        else:
            out.append(TermPosterior(u, None, S.block_sum(idx)))
    return out


def crossed_residual_products(cl: CrossedLayout, c: CrossedCore, posts: list[TermPosterior]
                              ) -> list[np.ndarray]:
    """Per term, Z'(y − Xβ̂ − Zb̂) by group (G, Q), from the cross-products (b̂ = Λũ)."""
    w = np.concatenate([-c.beta, [1.0]])
    G, Q = c.L1.shape[:2]
    b1 = posts[0].u @ c.lams[0].T
    b_t = np.asarray(c.D @ np.concatenate([np.zeros(0)] + [post.u.reshape(-1) for post in posts[1:]]))
    r1 = (cl.first.ZXY @ w - np.einsum("gab,gb->ga", cl.first.ZZ, b1)
          - np.asarray(cl.ZC @ b_t).reshape(G, Q))
    r_t = cl.ZtXY @ w - cl.Ztt @ b_t - np.asarray(cl.ZC.T @ b1.reshape(-1))
    return [r1] + [r_t[s:s + t.n_groups * t.Q].reshape(t.n_groups, t.Q)
                   for t, s in zip(cl.terms[1:], cl.starts)]
