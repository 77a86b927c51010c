"""Stata's factor-variable notation turned into a design matrix with Stata's column names and order.

Supported ([U] 11.4.3): plain varlists (abbreviations, ``a-b`` ranges, wildcards), ``i.x`` (base =
lowest level), ``ib#.x`` / ``b#.x``, ``ib(first|last|freq|#k).x``, ``ibn.x`` (no base), ``i(1 3).x``
(only those levels, no base), ``#.x`` (one level's indicator), ``c.x``, interactions ``a#b`` and full
factorials ``a##b`` of factor and continuous variables, and parenthesised groups (``i.(a b)``,
``a##c.(x y)``).  Unprefixed variables are continuous, except inside an interaction.

Column order and names follow Stata's ``e(b)``: the terms in the order typed (``a##b`` expands to
``a b a#b``), factor levels ascending, factors written before continuous variables inside an
interaction (``c.ses#i.sector`` is ``sector#c.ses``), ``_cons`` last.  A factor's base level is kept as
a column flagged ``base`` (``0b.sector``, ``0b.sector#co.ses``); in an interaction, a cell is a base
when some of its factors sit at their base levels and the term without those factors is itself in
the model (the empty term always counts).  That is why ``i.sector#c.ses`` alone estimates a slope
for every sector, while ``c.ses##i.sector`` makes ``0b.sector#co.ses`` the base.

Collinearity follows ``_rmcoll``: working through the columns in order (``_cons`` first, and the other
columns centred when there is a constant), a column that is a linear combination of the ones kept
before it is flagged ``omitted`` and gets the note ``note: x omitted because of collinearity.``.
Factor cells without observations (interaction cells, ``1.x`` when level 1 is absent) are flagged
``empty`` (and omitted), with the note ``note: 1.a#2.b identifies no observations in the sample.``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hlmshell.model.errors import ModelError
from hlmshell.lang.fvnotation import Comp, Term, variables_of

# Relative squared norm below which a column counts as a combination of the columns before it.
COLLINEAR_TOL = 1e-13
# ``data.attrs`` key of factor variables given as level proportions rather than values:
# ``{var: {level: share}}`` (``margins, atmeans`` evaluates the model at such an average row).
FACTOR_INDICATORS = "factor_indicators"


@dataclass
class Column:
    name: str        # Stata's e(b) column name: "ses", "0b.sector", "1.sector", "1.sector#c.ses", "_cons"
    term: str        # display term: "ses", "sector", "sector#c.ses", "_cons"
    level: str       # level label for factor rows ("1", "1#2"), "" otherwise
    kind: str        # "continuous" | "factor" | "interaction" | "constant"
    base: bool       # a base level (not estimated, shown only with baselevels)
    omitted: bool    # dropped for collinearity (shown as "(omitted)")
    empty: bool = False  # a factor cell with no observations (also omitted; shown as "(empty)")
    parts: tuple[tuple[str, float | None], ...] = ()  # (variable, level) per factor, (variable, None)
                                                       # per continuous variable; () for _cons

    @property
    def estimable(self) -> bool:
        return not (self.base or self.omitted)

    @property
    def label(self) -> str:
        """The name without base/omitted marks, as Stata writes rows and notes (``1.sector``, ``ses2``)."""
        parts = []
        for part in self.name.split("#"):
            head, _, var = part.rpartition(".")
            if head in ("", "o"):
                parts.append(var)
            elif head in ("c", "co"):
                parts.append(f"c.{var}")
            else:
                parts.append(f"{head.rstrip('bo')}.{var}")
        return "#".join(parts)


@dataclass
class Design:
    X: np.ndarray            # n x k float64: ONLY the estimable columns (not base, not omitted)
    columns: list[Column]    # all columns in Stata's order, including base and omitted ones
    estimable: list[int]     # indices into columns of the k columns of X, in order
    variables: list[str]     # source variables the spec uses (for e(sample)/missing-value dropping)
    notes: list[str]         # e.g. "note: ses omitted because of collinearity."
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # sample mask used

    @property
    def names(self) -> list[str]:
        """e(b) column names of all columns."""
        return [c.name for c in self.columns]

    def expand(self, values: np.ndarray) -> np.ndarray:
        """Spread a vector over the estimable columns to all columns (zeros for base/omitted)."""
        full = np.zeros(len(self.columns))
        full[self.estimable] = values
        return full

    def expand_matrix(self, values: np.ndarray) -> np.ndarray:
        """Spread a k x k matrix (e.g. V) to all columns, zero rows/columns for base/omitted."""
        m = len(self.columns)
        full = np.zeros((m, m))
        idx = np.asarray(self.estimable, dtype=int)
        full[np.ix_(idx, idx)] = values
        return full

    def matrix(self, data: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
        """The estimable columns evaluated on other rows (e.g. for ``predict``), same columns as X.

        Rows where a variable is missing give NaN; levels unseen at estimation give all-zero cells.
        A factor variable listed in ``data.attrs[FACTOR_INDICATORS]`` takes its level indicators
        from there (the same share on every row) instead of from its values.
        """
        mask = np.ones(len(data), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        n = int(mask.sum())
        shares = data.attrs.get(FACTOR_INDICATORS, {})
        values = {var: data[var].to_numpy(dtype=float, na_value=np.nan)[mask]
                  for var in self.variables}
        out = np.empty((n, len(self.estimable)))
        for k, j in enumerate(self.estimable):
            col = np.ones(n)
            for var, level in self.columns[j].parts:
                if level is not None and var in shares:
                    col = col * shares[var].get(level, 0.0)
                    continue
                x = values[var]
                col = col * (np.where(np.isnan(x), np.nan, x == level) if level is not None else x)
            out[:, k] = col
        return out


# -- columns ------------------------------------------------------------------------------------
def _level_text(v: float) -> str:
    return str(int(v))


def _numeric(data: pd.DataFrame, var: str, factor: bool) -> np.ndarray:
    series = data[var]
    if not (pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)):
        if factor:
            raise ModelError("string_factor", var=var)
        raise ModelError("string_variable", var=var)
    return series.to_numpy(dtype=float, na_value=np.nan)


def _levels(comp: Comp, x: np.ndarray) -> tuple[list[float], float | None]:
    """Levels of a factor in the sample and its base level (None: no base)."""
    x = x[~np.isnan(x)]
    if np.any(x < 0):
        raise ModelError("negative_factor", var=comp.var)
    if np.any(x != np.floor(x)):
        raise ModelError("noninteger_factor", var=comp.var)
    levels = sorted(set(x.tolist()))
    if comp.only is not None:
        levels = [v for v in comp.only if v in set(levels)] if len(comp.only) > 1 else list(comp.only)
    kind = comp.base[0]
    if kind == "none" or not levels:
        return levels, None
    if kind == "first":
        return levels, levels[0]
    if kind == "last":
        return levels, levels[-1]
    if kind == "freq":
        counts = {v: int(np.sum(x == v)) for v in levels}
        return levels, max(levels, key=lambda v: (counts[v], -v))
    if kind == "nth":
        k = comp.base[1]
        if not 1 <= k <= len(levels):
            raise ModelError("level_not_found", var=comp.var, k=k)
        return levels, levels[k - 1]
    value = comp.base[1]
    return levels, value if value in levels else None


@dataclass
class _Cell:
    column: Column
    values: np.ndarray | None     # None for base cells


def _term_cells(term: Term, data: pd.DataFrame, rows: np.ndarray, model_keys: set[tuple]) -> list[_Cell]:
    comps = term.comps
    factors = [c for c in comps if c.factor]
    conts = [c for c in comps if not c.factor]
    fvals = [_numeric(data, c.var, True)[rows] for c in factors]
    cvals = [_numeric(data, c.var, False)[rows] for c in conts]
    info = [_levels(c, x) for c, x in zip(factors, fvals)]
    interaction = len(comps) > 1
    kind = "interaction" if interaction else ("factor" if factors else "continuous")
    if factors:
        display = "#".join([c.var for c in factors] + [f"c.{c.var}" for c in conts])
    else:
        display = "#".join(f"c.{c.var}" for c in conts) if interaction else conts[0].var
    cont_product = cvals[0] if cvals else np.ones(int(rows.sum()))   # 1 * x is x: no copy
    for x in cvals[1:]:
        cont_product = cont_product * x

    cells: list[_Cell] = []
    for cell in itertools.product(*[levels for levels, _ in info]):
        at_base = [j for j, v in enumerate(cell) if info[j][1] is not None and v == info[j][1]]
        base = False
        for r in range(1, len(at_base) + 1):
            for sub in itertools.combinations(at_base, r):
                rest = [c for j, c in enumerate(factors) if j not in sub] + conts
                if not rest or tuple(sorted((c.var, c.factor) for c in rest)) in model_keys:
                    base = True
                    break
            if base:
                break
        indicator = np.ones(int(rows.sum()), dtype=bool)
        for x, v in zip(fvals, cell):
            indicator &= x == v
        empty = not base and bool(factors) and not indicator.any()
        names = []
        for j, (c, v) in enumerate(zip(factors, cell)):
            mark = ("b" if j in at_base else "o") if base else ""
            names.append(f"{_level_text(v)}{mark}.{c.var}")
        cmark = "co" if base else "c"
        if factors or interaction:
            names += [f"{cmark}.{c.var}" for c in conts]
        else:
            names = [conts[0].var]
        column = Column(name="#".join(names), term=display,
                        level="#".join(_level_text(v) for v in cell), kind=kind,
                        base=base, omitted=empty, empty=empty,
                        parts=tuple((c.var, v) for c, v in zip(factors, cell))
                        + tuple((c.var, None) for c in conts))
        values = None if base else (cont_product if not factors  # the indicator is all ones
                                    else indicator.astype(float) * cont_product)
        cells.append(_Cell(column, values))
    return cells


def _omit_name(column: Column) -> str:
    """The e(b) name of a column dropped for collinearity: every part marked ``o``."""
    parts = []
    for part in column.name.split("#"):
        head, _, var = part.rpartition(".")
        if not head:
            parts.append(f"o.{var}")
        elif head == "c":
            parts.append(f"co.{var}")
        else:
            parts.append(f"{head.rstrip('o')}o.{var}")
    return "#".join(parts)


def _collinear(columns: list[np.ndarray], constant: bool) -> list[bool]:
    """For each column in order, whether it is a combination of the constant and the columns kept."""
    n = len(columns[0]) if columns else 0
    basis = np.empty((n, len(columns)), order="F")
    kept = 0
    dropped = []
    for x in columns:
        scale = float(x @ x)
        v = x - x.mean() if constant else x.copy()
        Q = basis[:, :kept]
        for _ in range(2 if kept else 0):   # Gram-Schmidt twice for numerical orthogonality
            v -= Q @ (Q.T @ v)
        norm2 = float(v @ v)
        if scale == 0.0 or norm2 <= COLLINEAR_TOL * scale:
            dropped.append(True)
            continue
        dropped.append(False)
        if len(dropped) < len(columns):     # the last column is tested against the basis only
            basis[:, kept] = v / np.sqrt(norm2)
        kept += 1
    return dropped


def build_design(data: pd.DataFrame, terms: list[Term], *, constant: bool = True,
                 rows: np.ndarray | None = None, order: str = "C") -> Design:
    """The design matrix of the factor-variable ``terms`` (:func:`hlmshell.lang.fvnotation.parse_terms`)
    over the rows in ``rows`` (default: rows with no missing value), in ``order`` ("F": each column
    contiguous, so that column slices of X are views).

    Levels are those present in the sample.  Raises ModelError for string variables and for negative
    or noninteger factor values.
    """
    used = variables_of(terms)
    if rows is None:
        rows = np.ones(len(data), dtype=bool)
        for var in used:
            rows &= data[var].notna().to_numpy()
    rows = np.asarray(rows, dtype=bool)
    if rows.all():      # every row (as in a sample already selected): a view, not n booleans kept
        rows = np.broadcast_to(np.True_, rows.shape)
    keys = {t.key for t in terms}

    cells: list[_Cell] = []
    for term in terms:
        cells.extend(_term_cells(term, data, rows, keys))
    n = int(rows.sum())
    check = [i for i, c in enumerate(cells) if c.column.estimable]
    dropped = _collinear([cells[i].values for i in check], constant)
    for i, drop in zip(check, dropped):
        if drop:
            cells[i].column.omitted = True
    if constant:
        cells.append(_Cell(Column("_cons", "_cons", "", "constant", False, False),
                           np.broadcast_to(1.0, n)))    # no memory until copied into X

    notes: list[str] = []
    for cell in cells:
        col = cell.column
        if col.empty:
            notes.append(f"note: {col.name} identifies no observations in the sample.")
            col.name = _omit_name(col)
        elif col.omitted:
            notes.append(f"note: {col.name} omitted because of collinearity.")
            col.name = _omit_name(col)

    estimable = [i for i, c in enumerate(cells) if c.column.estimable]
    X = np.empty((n, len(estimable)), order=order)
    for k, i in enumerate(estimable):
        X[:, k] = cells[i].values
        cells[i].values = None                  # each cell freed once copied
    return Design(X=X, columns=[c.column for c in cells],
                  estimable=estimable, variables=used, notes=notes, rows=rows)
