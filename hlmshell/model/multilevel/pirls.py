"""Conditional modes of the random effects by penalised IRLS, on the blocks the LMM uses.

In lme4's spherical metric, b = Λu with u ~ N(0, I), the GLMM integrand is
    h(u) = Σ_i ln f(y_i | η_i) − u'u/2,   η = offset + Xβ + ZΛu,
and its mode û solves Λ'Z's(η) = u (s = ∂ln f/∂η).  Each Newton step is a weighted penalised least
squares problem: with row weights W = −∂²ln f/∂η² and working response z = ZΛu + s/W,
    u_new = M⁻¹Λ'Z'Wz,   M = Λ'Z'WZΛ + I,
which is the linear mixed model's system with weights, solved by the same block elimination
(``crossprod.build_layout`` with row weights, ``factor.eliminate``) and a back-substitution through
the levels, outermost first.  Steps are halved until h does not decrease.  At the mode the
elimination is redone with the observed curvature: it is the Laplace approximation's M and the
centring of the mode-curvature quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.model.errors import ModelError

from .crossprod import Layout, LevelInfo, build_layout
from .factor import Elimination, cholesky_batched, eliminate
from .response import Generalized

PRODUCT_ROWS = 512      # rows per product in :meth:`RandomEffects.log_products` (2^512 < 1e155)


class RandomEffects:
    """The random part of a GLMM as arrays: each row's group per effect level and the equations'
    columns, and the layout skeleton (effect levels, their parents) the elimination follows.

    Rows must be sorted by the innermost level's groups (``glmm`` sorts them), so that sums over a
    group's rows are contiguous ``reduceat`` sums.
    """

    def __init__(self, levels: list[LevelInfo], eq_levels: list[int], eq_Z: list[np.ndarray]) -> None:
        self.levels = levels
        self.eq_levels = eq_levels
        self.eq_Z = eq_Z
        n = levels[0].row_group.shape[0]
        self.n = n
        self.empty = np.zeros((n, 0))
        self.skeleton: Layout = build_layout(np.zeros(n), self.empty, levels, eq_levels, eq_Z)
        self.elevels = self.skeleton.elevels
        self.row_groups = [levels[el.level].row_group for el in self.elevels]
        if any(np.any(np.diff(g) < 0) for g in self.row_groups):
            raise ValueError("rows must be sorted by the innermost groups")
        self.level_starts = [np.r_[0, np.flatnonzero(np.diff(g)) + 1] for g in self.row_groups]
        self.row_starts = self.level_starts[-1]
        counts = np.diff(np.r_[self.row_starts, n])
        # the innermost groups' codes run 0, 1, … over the sorted rows: a repeat is their gather
        self._counts = counts if np.array_equal(np.repeat(np.arange(counts.size), counts),
                                                self.row_groups[-1]) else None
        # segments of at most PRODUCT_ROWS rows within the innermost groups, and each group's first
        seg = [np.arange(a, a + c, PRODUCT_ROWS) for a, c in zip(self.row_starts, counts)]
        self._segment_starts = np.concatenate(seg) if seg else np.zeros(0, dtype=np.int64)
        self._segment_groups = np.r_[0, np.cumsum([len(x) for x in seg])[:-1]].astype(np.int64)
        self.level_Z = [np.column_stack([eq_Z[i] for i in el.eqs]) for el in self.elevels]
        self._chain_columns: dict[bytes, np.ndarray] = {}

    @property
    def chain_dims(self) -> list[int]:
        """Per effect level (outermost first): its own effects plus its ancestors' (nearest first)."""
        out, total = [], 0
        for el in self.elevels:
            total += el.Q
            out.append(total)
        return out

    def chain_columns(self, lams: list[np.ndarray]) -> np.ndarray:
        """ZΛ on the chain of the innermost level: its own effects first, then the ancestors'
        (the last few kept, read only: the mean-variance fixed point integrates at the same Λ
        many times, and the score takes it at each dΛ/dθ_k)."""
        key = b"".join(lam.tobytes() + bytes(str(lam.shape), "ascii") for lam in lams)
        cols = self._chain_columns.get(key)
        if cols is None:
            if len(self._chain_columns) >= 8:
                self._chain_columns.clear()
            cols = self._chain_columns[key] = np.column_stack(
                [Z @ lam for Z, lam in zip(reversed(self.level_Z), reversed(lams))])
        return cols

    def level_columns(self, lams: list[np.ndarray]) -> list[np.ndarray]:
        """ZΛ per effect level (outermost first)."""
        return [Z @ lam for Z, lam in zip(self.level_Z, lams)]

    def linear_part(self, zlam: list[np.ndarray], u: list[np.ndarray]) -> np.ndarray:
        """ZΛu row by row."""
        out = np.zeros(self.n)
        for Zl, ul, g in zip(zlam, u, self.row_groups):
            out += np.einsum("iq,iq->i", Zl, ul[g])
        return out

    def group_sums(self, rows: np.ndarray, level: int = -1, axis: int = 0) -> np.ndarray:
        """Sums over each group's rows at an effect level (the innermost by default; the rows on
        ``axis``, any other shape): the rows are sorted, so every level's groups are contiguous."""
        return np.add.reduceat(rows, self.level_starts[level], axis=axis)

    def expand(self, values: np.ndarray, axis: int = 0) -> np.ndarray:
        """Each row's copy of its innermost group's values (the groups on ``axis``)."""
        if self._counts is None:
            return np.take(values, self.row_groups[-1], axis=axis)
        return np.repeat(values, self._counts, axis=axis)

    def log_products(self, rows: np.ndarray, axis: int = 0) -> np.ndarray:
        """ln Π over each innermost group's rows (on ``axis``) of factors in [1, 2]: one log per
        group instead of one per row, the products taken over at most ``PRODUCT_ROWS`` rows so
        that they cannot overflow."""
        logs = np.log(np.multiply.reduceat(rows, self._segment_starts, axis=axis))
        if logs.shape[axis] == self.row_starts.shape[0]:
            return logs
        return np.add.reduceat(logs, self._segment_groups, axis=axis)

    def weighted_layout(self, z: np.ndarray, w: np.ndarray) -> Layout:
        return build_layout(z, self.empty, self.levels, self.eq_levels, self.eq_Z, weights=w)


def back_substitute(el: Elimination, layout: Layout) -> list[np.ndarray]:
    """u = M⁻¹Λ'Z'Wz per effect level (groups x Q): the elimination already carries Λ'Z'Wz."""
    return [x[:, :, 0] for x in _back(el, layout, [C[:, :, :1] for _, _, C in el.store])]


def solve(el: Elimination, layout: Layout, rhs: list[np.ndarray]) -> list[np.ndarray]:
    """M⁻¹r for right-hand sides given per effect level (groups x Q x m): the forward elimination
    of r through the levels (innermost first, as M was eliminated), then the back-substitution."""
    D = len(layout.elevels)
    forward: list[np.ndarray] = [None] * D
    carry = None
    for j in range(D - 1, -1, -1):
        lev = layout.elevels[j]
        L, CA, _ = el.store[j]
        own = rhs[j] if carry is None else rhs[j] + carry[:, :lev.Q, :]
        c = np.linalg.solve(L, own)
        forward[j] = c
        if j:
            rest = -np.einsum("gqa,gqm->gam", CA, c)
            if carry is not None:
                rest = rest + carry[:, lev.Q:, :]
            carry = np.add.reduceat(rest[lev.order], lev.starts, axis=0)
    return _back(el, layout, forward)


def _back(el: Elimination, layout: Layout, forward: list[np.ndarray]) -> list[np.ndarray]:
    """x_j = L_j⁻ᵀ(c_j − C_anc,j x_anc), outermost level first."""
    out: list[np.ndarray] = []
    chain = None
    for j, lev in enumerate(layout.elevels):
        L, CA, _ = el.store[j]
        rhs = forward[j]
        if j:
            rhs = rhs - np.einsum("gqa,gam->gqm", CA, chain[lev.parent])
        x = np.linalg.solve(np.transpose(L, (0, 2, 1)), rhs)
        out.append(x)
        chain = x if chain is None else np.concatenate([x, chain[lev.parent]], axis=1)
    return out


@dataclass
class Modes:
    """The conditional modes at given (β, Λ) and the elimination of M with the observed curvature."""

    u: list[np.ndarray]                  # spherical modes per effect level (groups x Q)
    elimination: Elimination
    h: float                             # Σ ln f(y | η̂) − û'û/2, less the η-free constants
    eta: np.ndarray                      # the linear predictor at the mode
    iterations: int


def _objective(resp: Generalized, eta: np.ndarray, u: list[np.ndarray], anc: float) -> float:
    """h(u) less the η-free constants (which do not move the mode)."""
    return float(np.sum(resp.kernel(eta, anc)) - 0.5 * sum(float(np.sum(x * x)) for x in u))


def conditional_modes(resp: Generalized, re: RandomEffects, eta0: np.ndarray,
                      lams: list[np.ndarray], factors: list[np.ndarray], anc: float = 0.0,
                      start: list[np.ndarray] | None = None, tol: float = 1e-10,
                      maxiter: int = 200) -> Modes:
    """Newton (penalised IRLS) with step halving from ``start`` (zeros by default).

    Raises ModelError("modes_not_found") when the iterations do not converge."""
    if len(re.elevels) == 1:
        return _one_level_modes(resp, re, eta0, lams, anc, start, tol, maxiter)
    return _nested_modes(resp, re, eta0, lams, factors, anc, start, tol, maxiter)


def _nested_modes(resp: Generalized, re: RandomEffects, eta0: np.ndarray,
                  lams: list[np.ndarray], factors: list[np.ndarray], anc: float,
                  start: list[np.ndarray] | None, tol: float, maxiter: int) -> Modes:
    """:func:`conditional_modes` through the block elimination of the levels."""
    u = [x.copy() for x in start] if start is not None else \
        [np.zeros((el.n_groups, el.Q)) for el in re.elevels]
    zlam = re.level_columns(lams)
    eta = eta0 + re.linear_part(zlam, u)
    h = _objective(resp, eta, u, anc)
    for it in range(1, maxiter + 1):
        _, d1, d2 = resp.derivatives(eta, anc)
        w = resp.irls_weights(eta, d2, anc)
        el = eliminate(re.weighted_layout(eta - eta0 + d1 / w, w), factors)
        if el is None:
            raise ModelError("modes_not_found")
        target = back_substitute(el, re.skeleton)
        step = [t - x for t, x in zip(target, u)]
        size = max(float(np.max(np.abs(s))) if s.size else 0.0 for s in step)
        t = 1.0
        while True:
            trial = [x + t * s for x, s in zip(u, step)]
            eta_t = eta0 + re.linear_part(zlam, trial)
            h_t = _objective(resp, eta_t, trial, anc)
            if h_t >= h - 1e-13 * (1.0 + abs(h)) or t < 1e-8:
                break
            t *= 0.5
        if not np.isfinite(h_t):
            raise ModelError("modes_not_found")
        u, eta, h = trial, eta_t, h_t
        if size * t < tol:
            return Modes(u, _curvature(resp, re, eta, factors, anc), h, eta, it)
    raise ModelError("modes_not_found")


def _one_level_modes(resp: Generalized, re: RandomEffects, eta0: np.ndarray,
                     lams: list[np.ndarray], anc: float,
                     start: list[np.ndarray] | None, tol: float, maxiter: int) -> Modes:
    """:func:`conditional_modes` for one level of random effects: M is block diagonal, so each
    group's Newton step is its own Q x Q solve on group sums of the rows (no layout, no
    elimination), and the derivatives at an accepted trial point serve the next step.  A step
    below ``tol`` is the last one, taken without the halving's evaluation (the general path
    evaluates it, then stops), and M with the observed curvature is that of its derivatives."""
    el0 = re.elevels[0]
    Q = el0.Q
    zl = re.level_columns(lams)[0]
    pairs = [(a, b) for a in range(Q) for b in range(a, Q)]
    # rows' z̃_a z̃_b and z̃_a as rows of contiguous arrays: the group sums run along them
    products = np.stack([zl[:, a] * zl[:, b] for a, b in pairs])
    zl_t = np.ascontiguousarray(zl.T)
    eye = np.eye(Q)

    def at(u: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """η, h and ln f's derivatives at u."""
        if Q == 1:
            eta = eta0 + zl[:, 0] * re.expand(u[:, 0])
        else:
            eta = eta0 + np.einsum("iq,iq->i", zl, re.expand(u))
        ll, d1, d2 = resp.derivative_sums(eta, anc, re.group_sums, re.log_products)
        return eta, ll - 0.5 * float(np.sum(u * u)), d1, d2

    def blocks(w: np.ndarray, d1: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray | None]:
        """M's blocks Λ'Z'WZΛ + I and, given d1, Λ'Z's: one group sum over the rows."""
        k = len(pairs)
        rows = np.empty((k + (Q if d1 is not None else 0), re.n))
        np.multiply(products, w, out=rows[:k])
        if d1 is not None:
            np.multiply(zl_t, d1, out=rows[k:])
        sums = np.add.reduceat(rows, re.row_starts, axis=1).T
        M = np.empty((sums.shape[0], Q, Q))
        for j, (a, b) in enumerate(pairs):
            M[:, a, b] = M[:, b, a] = sums[:, j]
        return M + eye, (sums[:, k:] if d1 is not None else None)

    u = start[0].copy() if start is not None else np.zeros((el0.n_groups, Q))
    eta, h, d1, d2 = at(u)
    if not np.isfinite(h):
        raise ModelError("modes_not_found")
    for it in range(1, maxiter + 1):
        M, score = blocks(resp.irls_weights(eta, d2, anc), d1)
        grad = score - u
        step = grad / M[:, :, 0] if Q == 1 else np.linalg.solve(M, grad[:, :, None])[:, :, 0]
        size = float(np.max(np.abs(step))) if step.size else 0.0
        if size < tol:         # the step taken without a check: u to rounding, as the general path
            u = u + step
            eta, h, d1, d2 = at(u)
            return Modes([u], _one_level_curvature(resp, eta, d2, blocks, lams, anc),
                         h, eta, it)
        t = 1.0
        while True:
            trial = u + t * step
            eta_t, h_t, d1_t, d2_t = at(trial)
            if h_t >= h - 1e-13 * (1.0 + abs(h)) or t < 1e-8:
                break
            t *= 0.5
        if not np.isfinite(h_t):
            raise ModelError("modes_not_found")
        u, eta, h, d1, d2 = trial, eta_t, h_t, d1_t, d2_t
        if size * t < tol:
            return Modes([u], _one_level_curvature(resp, eta, d2, blocks, lams, anc),
                         h, eta, it)
    raise ModelError("modes_not_found")


def _one_level_curvature(resp: Generalized, eta: np.ndarray, d2: np.ndarray, blocks,
                         lams: list[np.ndarray], anc: float) -> Elimination:
    """:func:`_curvature` for one level: the elimination is each group's Cholesky factor."""
    for w in (-d2, resp.irls_weights(eta, d2, anc)):
        try:
            L = cholesky_batched(blocks(w)[0])
        except np.linalg.LinAlgError:
            continue
        G, Q = L.shape[0], L.shape[1]
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
        return Elimination(logdet, np.zeros((1, 1)), lams, [(L, np.zeros((G, Q, 0)), np.zeros((G, Q, 1)))])
    raise ModelError("modes_not_found")


def _curvature(resp: Generalized, re: RandomEffects, eta: np.ndarray, factors: list[np.ndarray],
               anc: float) -> Elimination:
    """M at the mode with the observed curvature (the expected one where that is not positive
    definite, which a mode of a log-concave integrand never needs)."""
    _, _, d2 = resp.derivatives(eta, anc)
    el = eliminate(re.weighted_layout(np.zeros(re.n), -d2), factors)
    if el is None:
        el = eliminate(re.weighted_layout(np.zeros(re.n), resp.irls_weights(eta, d2, anc)), factors)
    if el is None:
        raise ModelError("modes_not_found")
    return el
