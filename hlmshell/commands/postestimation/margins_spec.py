"""What ``margins`` is asked for, turned into the margins to compute (no numerics beyond the at()
statistics): the model's covariates, the marginlist's cells, the ``at()`` rows, the ``over()``
groups, the derivative variables, and each margin's label and identifying values.

Order and names follow Stata's r(b): one block per marginlist term; within it the ``_at`` rows
outermost, then the ``over()`` groups, then the term's cells (``1._at#0.sector``,
``1._at#1.sector``, ``2._at#0.sector``...); with ``dydx()`` one such block per variable (per level for
a factor variable), named by it (``ses:1._at``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.inference.margins import Effect, Margin, Setting
from hlmshell.lang import varlist
from hlmshell.lang.atspec import AtItem
from hlmshell.lang.fvnotation import parse_terms
from hlmshell.results.margins import AtEntry, AtRow

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.model.design import Design


def level_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def not_covariate(name: str, factor: bool = False) -> StataError:
    return StataError(f"{'factor ' if factor else ''}'{name}' not found in list of covariates", 322)


@dataclass
class Covariates:
    """The model's covariates in e(b) order: factor variables with their levels and base level, and
    continuous variables."""

    names: list[str] = field(default_factory=list)
    levels: dict[str, list[float]] = field(default_factory=dict)
    bases: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, design: Design) -> Covariates:
        out = cls()
        for col in design.columns:
            for var, level in col.parts:
                if var not in out.names:
                    out.names.append(var)
                if level is not None:
                    levels = out.levels.setdefault(var, [])
                    if level not in levels:
                        levels.append(level)
                    if col.base and len(col.parts) == 1:
                        out.bases[var] = level
        for var, levels in out.levels.items():
            levels.sort()
            out.bases.setdefault(var, levels[0])
        return out

    def is_factor(self, var: str) -> bool:
        return var in self.levels

    @property
    def continuous(self) -> list[str]:
        return [v for v in self.names if v not in self.levels]

    @property
    def factors(self) -> list[str]:
        return [v for v in self.names if v in self.levels]

    def expand(self, spec: str, variables: list[str]) -> list[str]:
        """A varlist of covariates (``_all``, ``*``, ``_continuous``, ``_factor``, ``i.x``)."""
        out: list[str] = []
        for word in spec.split():
            if word in ("_all", "*"):
                names = list(self.names)
            elif word == "_continuous":
                names = self.continuous
            elif word == "_factor":
                names = self.factors
            else:
                bare = word.split(".", 1)[1] if "." in word else word
                try:
                    names = varlist.expand(variables, bare)
                except StataError:
                    raise not_covariate(word) from None
                for name in names:
                    if name not in self.names:
                        raise not_covariate(word)
            out += [n for n in names if n not in out]
        return out


@dataclass(frozen=True)
class Term:
    """A marginlist term: factor variables and the levels to use of each."""

    variables: tuple[str, ...]
    levels: tuple[tuple[float, ...], ...]

    @property
    def name(self) -> str:
        return "#".join(self.variables)

    def cells(self) -> list[tuple[float, ...]]:
        return list(itertools.product(*self.levels))


def marginlist(text: str, covariates: Covariates, variables: list[str]) -> list[Term]:
    """The terms of the marginlist; every variable in them must be a factor of the model."""
    if not text.strip():
        return []
    terms = []
    for term in parse_terms(text, variables):
        names, levels = [], []
        for comp in term.comps:
            if not covariates.is_factor(comp.var):
                raise not_covariate(comp.var, factor=True)
            names.append(comp.var)
            model_levels = covariates.levels[comp.var]
            wanted = [v for v in (comp.only or model_levels) if v in model_levels]
            if not wanted:
                raise StataError(f"level {level_text(comp.only[0])} of factor {comp.var} not "
                                 "found", 111)
            levels.append(tuple(wanted))
        terms.append(Term(tuple(names), tuple(levels)))
    return terms


@dataclass(frozen=True)
class AtSpec:
    """One ``_at`` row: the setting and its legend."""

    setting: Setting
    legend: AtRow


def _statistic(x: np.ndarray, stat: str) -> float:
    """An at() statistic of a covariate over the rows used (summarize's percentiles)."""
    from hlmshell.data import statistics

    if stat == "zero":
        return 0.0
    named = {"mean": statistics.mean, "min": statistics.minimum, "max": statistics.maximum}
    if stat in named:
        return named[stat](x)
    return statistics.pctile(50.0 if stat == "median" else float(stat[1:]))(x)


def _stat_setting(var: str, stat: str, covariates: Covariates, data: pd.DataFrame
                  ) -> tuple[str, object]:
    """("value", v) or ("shares", {level: share}) or ("observed", None) for ``(stat) var``."""
    if stat == "asobserved":
        return "observed", None
    x = data[var].to_numpy(dtype=float)
    if covariates.is_factor(var):
        if stat == "base":
            return "value", covariates.bases[var]
        if stat == "mean":
            levels = covariates.levels[var]
            ok = x[~np.isnan(x)]
            return "shares", {lv: float(np.mean(ok == lv)) if len(ok) else float("nan")
                              for lv in levels}
        raise StataError(f"invalid at() option;\nstatistic {stat} not allowed with factor "
                         f"variable {var}", 198)
    if stat in ("base", "asbalanced"):
        raise StataError(f"invalid at() option;\nstatistic {stat} not allowed with continuous "
                         f"variable {var}", 198)
    return "value", _statistic(x, stat)


def at_rows(options: list[list[AtItem]], atmeans: bool, covariates: Covariates,
            data: pd.DataFrame, variables: list[str], fixed_elsewhere: set[str]) -> list[AtSpec]:
    """The ``_at`` rows of the at() options (their items read by :func:`parse_at`, all options in
    order), with atmeans applied to what nothing else sets.  No at() and no atmeans: one row
    setting nothing."""
    groups: list[list[AtItem]] = options or [[]]
    rows: list[AtSpec] = []
    for items in groups:
        per_var: dict[str, tuple[str, object, str]] = {}
        varying: list[tuple[list[str], tuple[float, ...]]] = []
        for item in items:
            names = covariates.expand(item.varlist, variables)
            if item.stat is not None:
                for name in names:
                    kind, value = _stat_setting(name, item.stat, covariates, data)
                    per_var[name] = (kind, value, item.stat)
            else:
                for name in names:
                    per_var.pop(name, None)
                varying.append((names, item.values))
        if atmeans:
            for name in covariates.names:
                if name in fixed_elsewhere or name in per_var or any(name in n for n, _ in varying):
                    continue
                kind, value = _stat_setting(name, "mean", covariates, data)
                per_var[name] = (kind, value, "mean")
        for combo in itertools.product(*[values for _, values in varying]):
            chosen = dict(per_var)
            for (names, _), value in zip(varying, combo):
                for name in names:
                    if covariates.is_factor(name) and value not in covariates.levels[name]:
                        raise StataError(f"invalid at() option;\nlevel {level_text(value)} of "
                                         f"factor {name} not found", 198)
                    chosen[name] = ("value", value, "")
            rows.append(_at_spec(chosen, covariates, bool(items) or atmeans))
    return rows


def _at_spec(chosen: dict[str, tuple[str, object, str]], covariates: Covariates,
             shown: bool) -> AtSpec:
    values, shares, entries = [], [], []
    for name in covariates.names:            # the legend in e(b)'s order of covariates
        if name not in chosen:
            continue
        kind, value, stat = chosen[name]
        if kind == "value":
            values.append((name, float(value)))               # type: ignore[arg-type]
            entries.append(AtEntry(name, float(value), "" if stat in ("", "base") else stat))
        elif kind == "shares":
            table = dict(value)                                  # type: ignore[call-overload]
            shares.append((name, tuple(sorted(table.items()))))
            entries += [AtEntry(f"{level_text(lv)}.{name}", s, stat) for lv, s in sorted(table.items())]
    observed = bool(chosen) and not entries
    legend = AtRow(tuple(entries), asobserved=observed) if shown else AtRow(())
    return AtSpec(Setting(tuple(values), tuple(shares)), legend)


@dataclass(frozen=True)
class OverGroup:
    """One ``over()`` group: the values of the over variables and its rows."""

    values: tuple[float, ...]
    rows: np.ndarray


def over_groups(names: list[str], data: pd.DataFrame) -> list[OverGroup]:
    """The groups of the over() variables present in the rows, in ascending order."""
    if not names:
        return [OverGroup((), np.ones(len(data), dtype=bool))]
    columns = []
    for name in names:
        x = data[name].to_numpy(dtype=float)
        ok = x[~np.isnan(x)]
        if np.any(ok < 0) or np.any(ok != np.floor(ok)):
            raise StataError(f"{name}:  factor variables may not contain "
                             f"{'negative' if np.any(ok < 0) else 'noninteger'} values", 452)
        columns.append(x)
    stacked = np.column_stack(columns)
    present = stacked[~np.isnan(stacked).any(axis=1)]
    groups = []
    for values in sorted({tuple(row) for row in present.tolist()}):
        groups.append(OverGroup(tuple(values), np.all(stacked == np.array(values), axis=1)))
    return groups


@dataclass(frozen=True)
class XVar:
    """A derivative variable (continuous) or one level of a factor against its base."""

    var: str
    level: float | None = None
    base: float | None = None

    @property
    def name(self) -> str:
        return self.var if self.level is None else f"{level_text(self.level)}.{self.var}"


def xvars(spec: str, covariates: Covariates, variables: list[str]) -> list[XVar]:
    out: list[XVar] = []
    for var in covariates.expand(spec, variables):
        if covariates.is_factor(var):
            base = covariates.bases[var]
            out += [XVar(var, lv, base) for lv in covariates.levels[var] if lv != base]
        else:
            out.append(XVar(var))
    return out


@dataclass(frozen=True)
class Labelled:
    """A margin with what names it: its r(b) column, its table equation, term and row label, and
    the values that identify it (for marginsplot)."""

    margin: Margin
    colname: str
    equation: str
    term: str
    label: str
    dims: tuple[tuple[str, float], ...]
    level_label: str = ""          # a factor derivative's level as the table shows it


def build(terms: list[Term], ats: list[AtSpec], overs: list[OverGroup], over_names: list[str],
          derivs: list[XVar], kind: str | None,
          label: Callable[[str, float], str] | None = None) -> list[Labelled]:
    """Every margin in Stata's order, with its names; ``label(var, level)`` is a level's text in
    the table (its value label)."""
    label = label or (lambda var, value: level_text(value))
    out: list[Labelled] = []
    several_at = len(ats) > 1
    blocks: list[Term | None] = list(terms) or [None]
    for xv in derivs or [None]:
        effect = None if xv is None else Effect(xv.var, kind or "dydx", xv.level, xv.base)
        for term in blocks:
            cells = term.cells() if term is not None else [()]
            for a, at in enumerate(ats, start=1):
                for group in overs:
                    for cell in cells:
                        setting = at.setting
                        for var, value in zip(term.variables if term else (), cell):
                            setting = setting.with_value(var, value)
                        dims = ((("_at", float(a)),) if several_at else ()) + tuple(
                            zip(over_names, group.values)) + tuple(
                            zip(term.variables if term else (), cell))
                        names = [n for n, _ in dims]
                        parts = [f"{level_text(v)}.{n}" for n, v in dims]
                        colname = "#".join(parts) or "_cons"
                        equation = ""
                        if xv is not None:
                            equation = xv.name
                            colname = f"{xv.name}:{colname}" if dims else xv.name
                        out.append(Labelled(
                            Margin(group.rows, setting, effect), colname, equation,
                            "#".join(names), "#".join(level_text(v) if n == "_at" else
                                                      label(n, v) for n, v in dims), dims,
                            "" if xv is None or xv.level is None else label(xv.var, xv.level)))
    return out
