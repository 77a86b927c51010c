"""The structure of a multilevel model: nested levels, their groups, and the random-effects equations.

Levels are given outermost first (``|| school: || class:``); a group at level k is a combination of
values of the level variables 0..k, so ``class`` groups are defined within schools, as in Stata.
``_all`` is one group holding every observation (the level of crossed ``R.varname`` terms).

An equation is one ``|| level: varlist [, noconstant covariance()]`` term: its random effects are the
variables (``_cons`` last) or, for ``R.varname``, the indicators of the factor's levels with an
identity covariance, held as each row's level (:meth:`Equation.codes`, never an n × levels array).
Everything here re-evaluates on any data: :meth:`Equation.z` gives the equation's columns, and
:meth:`Structure.row_groups` finds each row's fitted group (by the values of the level variables,
not by row position, so predictions survive sorting and dropping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlmshell.model.multilevel.crossprod import LevelInfo, build_levels

ALL = "_all"


@dataclass(frozen=True)
class EquationSpec:
    """One random-effects equation as the user asked for it."""

    level: str                        # the level variable, or "_all"
    variables: tuple[str, ...] = ()   # random slopes, in the order typed
    constant: bool = True             # a random intercept (``_cons``)
    cov: str | None = None            # identity | independent | exchangeable | unstructured; None: default
    factor: str | None = None         # ``R.varname``: the factor whose levels are the effects


@dataclass(frozen=True)
class Equation:
    """A materialised equation: its level index, effect names and covariance structure."""

    level: int                        # 0 = outermost
    names: tuple[str, ...]            # "ses", "_cons"; or the factor's levels "1.a", "2.a", ...
    cov: str
    spec: EquationSpec
    factor_levels: tuple[float, ...] = ()
    cells: tuple[int, ...] = ()       # R.varname below _all: its groups' (group · levels + level)

    @property
    def q(self) -> int:
        return len(self.names)

    def codes(self, data: pd.DataFrame, groups: np.ndarray | None = None) -> np.ndarray:
        """``R.varname``: each row's effect (-1: missing or not fitted): its level of the factor or,
        at a level other than ``_all``, its (group, level) cell among the fitted ``cells``
        (``groups``: each row's group at the equation's level)."""
        x = data[self.spec.factor].to_numpy(dtype=float, na_value=np.nan)
        levels = np.asarray(self.factor_levels)
        at = np.minimum(np.searchsorted(levels, x), len(levels) - 1)
        code = np.where(levels[at] == x, at, -1).astype(np.int64)
        if groups is None:
            return code
        cells = np.asarray(self.cells, dtype=np.int64)
        cell = np.where((code >= 0) & (groups >= 0), groups * len(levels) + code, -1)
        pos = np.minimum(np.searchsorted(cells, cell), len(cells) - 1)
        return np.where((cell >= 0) & (cells[pos] == cell), pos, -1).astype(np.int64)

    def z(self, data: pd.DataFrame) -> np.ndarray:
        """The equation's n x q columns on ``data`` (NaN where a variable is missing); for
        ``R.varname`` the dense indicators (small data only: the fit uses :meth:`codes`)."""
        n = len(data)
        if self.spec.factor is not None:
            x = data[self.spec.factor].to_numpy(dtype=float, na_value=np.nan)
            levels = np.asarray(self.factor_levels)
            out = (x[:, None] == levels[None, :]).astype(float)
            out[np.isnan(x)] = np.nan
            return out
        out = np.empty((n, self.q), order="F")   # columns contiguous: the cross-products read them
        for k, v in enumerate(self.spec.variables):
            out[:, k] = data[v].to_numpy(dtype=float, na_value=np.nan)
        if self.spec.constant:
            out[:, -1] = 1.0
        return out


@dataclass(frozen=True)
class Structure:
    """Levels (outermost first), their groups, and the equations in Stata's order (by level, then
    as typed)."""

    levels: tuple[str, ...]
    groups: tuple[LevelInfo, ...]     # per level: each sample row's group, group sizes
    keys: tuple[pd.MultiIndex, ...]   # per level: each group's values of the level variables 0..k
    equations: tuple[Equation, ...]

    def effect_codes(self, eq: Equation, data: pd.DataFrame) -> np.ndarray:
        """An ``R.varname`` equation's effect for each row of ``data`` (-1 where none was fitted)."""
        return eq.codes(data, None if self.levels[eq.level] == ALL else self.row_groups(eq.level, data))

    @property
    def variables(self) -> list[str]:
        """Every variable the random part uses (level variables, slopes, factors)."""
        out: list[str] = [v for v in self.levels if v != ALL]
        for eq in self.equations:
            out += list(eq.spec.variables) + ([eq.spec.factor] if eq.spec.factor else [])
        return list(dict.fromkeys(out))

    def row_groups(self, k: int, data: pd.DataFrame) -> np.ndarray:
        """Each row's group at level ``k`` among the fitted ones; -1 where it has none."""
        frame = level_frame(data, self.levels[:k + 1])
        return self.keys[k].get_indexer(pd.MultiIndex.from_frame(frame))


def level_frame(data: pd.DataFrame, levels: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({f"l{j}": (np.zeros(len(data), dtype=np.int64) if name == ALL
                                   else data[name].to_numpy())
                         for j, name in enumerate(levels)})


def _default_cov(spec: EquationSpec, q: int) -> str:
    if spec.factor is not None:
        return "identity"
    cov = spec.cov or ("identity" if q == 1 else "independent")
    if cov == "exchangeable" and q < 2:
        return "identity"
    return cov


def _level_codes(values: pd.Series) -> np.ndarray:
    """A level variable's values as sorted codes: integers as they are (``build_levels`` codes them
    through a count table, in the same order, without pandas' hashing copies), others factorised."""
    if values.dtype.kind in "iu":
        return values.to_numpy()
    return pd.factorize(values, sort=True)[0].astype(np.int64, copy=False)


def build_structure(data: pd.DataFrame, levels: list[str], specs: list[EquationSpec]) -> Structure:
    """Groups and equations on the estimation sample ``data`` (rows already selected)."""
    n = len(data)
    codes = [np.zeros(n, dtype=np.int64) if name == ALL else _level_codes(data[name]) for name in levels]
    groups = build_levels(codes, n)
    keys = tuple(pd.MultiIndex.from_frame(level_frame(data.iloc[g.first_row], tuple(levels[:k + 1])))
                 for k, g in enumerate(groups))
    ordered = sorted(range(len(specs)), key=lambda i: (levels.index(specs[i].level), i))
    equations = []
    for i in ordered:
        spec = specs[i]
        level = levels.index(spec.level)
        if spec.factor is not None:
            x = data[spec.factor].to_numpy(dtype=float)
            values = np.unique(x)
            names = tuple(f"{v:g}.{spec.factor}" for v in values)
            cells = () if spec.level == ALL else tuple(np.unique(
                groups[level].row_group.astype(np.int64) * len(values)
                + np.searchsorted(values, x)).tolist())
            equations.append(Equation(level, names, "identity", spec, tuple(values.tolist()), cells))
            continue
        names = tuple(spec.variables) + (("_cons",) if spec.constant else ())
        equations.append(Equation(level, names, _default_cov(spec, len(names)), spec))
    return Structure(tuple(levels), tuple(groups), keys, tuple(equations))
