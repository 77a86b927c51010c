"""Degrees of freedom fixed by the design: ``dfmethod(residual|repeated|anova)``.

Stata's help describes the three; its Methods and formulas were not available, so ``repeated`` and
``anova`` follow the classical rules the help names (judgement calls, tests/fixtures/ddf_margins_xtreg.md):

- residual: n − rank(X) for every coefficient.
- repeated (two-level models): the residual df split into between and within groups, as the
  between–within method: a coefficient whose column is constant within every group gets
  n_groups − rank(X_between), the others n − n_groups − (rank(X) − rank(X_between)).
- anova: containment.  A random-effects term is an effect (a random intercept or slope) at a level;
  it contains a fixed effect when the fixed effect's variables are among the term's variable and the
  level variables of its level and the levels above.  A contained fixed effect gets the smallest rank
  that a containing term adds to [X Z], the terms taken outermost level first and intercepts before
  slopes; the others get n − rank([X Z]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

RANK_TOL = 1e-9          # eigenvalue of the normalised Gram matrix below which a direction is dependent


def residual_df(model) -> np.ndarray:
    X = model.design.X
    return np.full(X.shape[1], float(X.shape[0] - _rank(X)))


def repeated_df(model) -> np.ndarray:
    X = model.design.X
    groups = model.structure.groups[0]
    g = groups.row_group
    first = X[groups.first_row][g]
    between = np.all(np.isclose(X, first, rtol=0, atol=1e-12 * (1 + np.abs(X))), axis=0)
    n, G = X.shape[0], groups.n_groups
    rank_b = _rank(X[groups.first_row][:, between]) if between.any() else 0
    df_b = G - rank_b
    df_w = n - G - (_rank(X) - rank_b)
    return np.where(between, float(df_b), float(df_w))


def anova_df(model, data: pd.DataFrame) -> np.ndarray:
    """Containment df (module docstring); ``data`` is the estimation sample."""
    from scipy import sparse

    design, structure = model.design, model.structure
    X = design.matrix(data)          # rows as in ``data`` (not necessarily the fit's order)
    n = X.shape[0]
    terms: list[tuple[int, set[str], sparse.csr_matrix]] = []
    for eq in sorted(structure.equations, key=lambda e: e.level):
        Z = eq.z(data)
        codes = structure.row_groups(eq.level, data)
        n_groups = structure.groups[eq.level].n_groups
        level_vars = {v for v in structure.levels[: eq.level + 1] if v != "_all"}
        names = list(eq.names)
        rows = np.arange(n)
        if eq.spec.factor:          # R.x: one term, the factor's indicators within each group
            cols = [sparse.csr_matrix((Z[:, j], (rows, codes)), shape=(n, n_groups))
                    for j in range(len(names))]
            terms.append((eq.level, {eq.spec.factor} | level_vars, sparse.hstack(cols)))
            continue
        for j in sorted(range(len(names)), key=lambda j: names[j] != "_cons"):
            own = set() if names[j] == "_cons" else {names[j]}
            block = sparse.csr_matrix((Z[:, j], (rows, codes)), shape=(n, n_groups))
            terms.append((eq.level, own | level_vars, block))
    blocks = [sparse.csr_matrix(X)] + [t[2] for t in terms]
    ranks = [_rank_sparse(blocks[: k + 1]) for k in range(len(blocks))]
    added = np.diff(ranks)
    out = np.full(X.shape[1], float(n - ranks[-1]))
    for i, j in enumerate(design.estimable):
        needs = {v for v, _ in design.columns[j].parts}
        contained = [added[t] for t, (_, has, _) in enumerate(terms) if needs <= has]
        if contained:
            out[i] = float(min(contained))
    return out


def _rank(A: np.ndarray) -> int:
    return int(np.linalg.matrix_rank(A)) if A.size else 0


def _rank_sparse(blocks: list) -> int:
    """rank([A_1 … A_k]) from its normalised Gram matrix (never the dense n-row matrix)."""
    from scipy import sparse

    A = sparse.hstack(blocks).tocsc()
    G = (A.T @ A).toarray()
    d = np.sqrt(np.diag(G))
    keep = d > 0
    if not keep.any():
        return 0
    G = G[np.ix_(keep, keep)] / np.outer(d[keep], d[keep])
    w = np.linalg.eigvalsh(G)
    return int(np.sum(w > RANK_TOL * w.max()))
