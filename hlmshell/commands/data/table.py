"""table rowvar [colvar] [if] [in] [, statistic(stat [varlist]) ... nototals missing nformat(%fmt)]

Stata 17's table in its one- and two-way forms: the rows are the levels of ``rowvar`` (value
labels shown) and a Total; without ``colvar`` there is one column per statistic and variable
(frequency by default); with ``colvar`` the columns are its levels and a Total, for one statistic.
The statistics are those of :mod:`hlmshell.data.statistics` (frequency and percent count
observations); numbers are shown in %9.0g, frequencies in %9.0gc and percents in %9.2f, unless
``nformat()``.  The column headers are Stata 17's default labels of the statistics.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.data import statistics as stats
from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.syntax import parse_syntax
from hlmshell.results.tables import StatTable, SummaryTableColumn
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

LABELS = {"frequency": "Frequency", "percent": "Percent", "mean": "Mean",
          "sd": "Standard deviation", "median": "Median", "min": "Minimum value",
          "max": "Maximum value", "sum": "Sum", "count": "Number of nonmissing observations",
          "variance": "Variance", "iqr": "Interquartile range",
          "semean": "Standard error of the mean", "cv": "Coefficient of variation",
          "range": "Range", "first": "First value", "last": "Last value",
          "skewness": "Skewness", "kurtosis": "Kurtosis"}
_ORDINAL = {1: "st", 2: "nd", 3: "rd"}


def _label(stat: str) -> str:
    m = re.fullmatch(r"p(\d+)", stat)
    if m:
        p = int(m.group(1))
        return f"{p}{'th' if 10 <= p % 100 <= 20 else _ORDINAL.get(p % 10, 'th')} percentile"
    return LABELS[stat]


def _statistics(session: Session, rest: str) -> list[tuple[str, str | None]]:
    """The statistic() options, in order: (statistic, variable or None)."""
    out: list[tuple[str, str | None]] = []
    for word, arg in parse_syntax(", " + rest).options.items if rest.strip() else []:
        if not "statistic".startswith(word) or len(word) < 4 or arg is None:
            raise StataError(f"option {word}{'()' if arg is not None else ''} not allowed", 198)
        name, _, names = arg.strip().partition(" ")
        if name not in ("frequency", "percent") and (name not in LABELS
                                                     and stats.statistic(name) is None):
            raise StataError(f"statistic {name} not allowed", 198)
        if name in ("frequency", "percent"):
            if names.strip():
                raise StataError(f"statistic {name} does not take a varlist", 198)
            out.append((name, None))
            continue
        for var in varlist.expand(session.variables, names):
            if session.is_string(var):
                raise StataError(f"string variables not allowed in varlist;\n{var} is a string "
                                 "variable", 109)
            out.append((name, var))
    return out or [("frequency", None)]


def _format(stat: str, nformat: str | None) -> str:
    if nformat:
        return nformat
    return {"frequency": "%9.0gc", "percent": "%9.2f"}.get(stat, "%9.0g")


def _value(stat: str, x: np.ndarray | None, n: int, total: int) -> float:
    if stat == "frequency":
        return float(n)
    if stat == "percent":
        return 100.0 * n / total if total else np.nan
    fn = stats.statistic(stat)
    return fn(x) if x is not None else np.nan


@command("table", "varlist(max=2) [if] [in] [, NOTOTals Missing NFormat(string) *]")
def table(session: Session, args: Args) -> StatTable:
    """Tables of frequencies and summary statistics (Stata 17's one- and two-way tables)."""
    from hlmshell.lang.expr import column_values, row_mask
    from hlmshell.lang.numfmt import fmt_g, fmt_num

    requested = _statistics(session, args.rest_options)
    if args.nformat:
        try:
            fmt_num(1.0, args.nformat)
        except ValueError:
            raise StataError(f"invalid numeric format {args.nformat}", 198) from None
    use = row_mask(session, args.if_, args.in_)
    keys = []
    for name in args.varlist:
        v = column_values(session.data, name)
        if not args.missing:
            use &= (v != "") if v.dtype == object else ~np.isnan(v)
        keys.append(v)
    if not use.any():
        raise StataError("no observations", 2000)

    def levels(name: str, v: np.ndarray) -> list[tuple[str, np.ndarray]]:
        vals = sorted(set(v[use])) if v.dtype == object else sorted(
            {float(x) for x in v[use] if x == x}) + ([np.nan] if np.isnan(v[use]).any() else [])
        out = []
        for value in vals:
            hit = (v == value) if isinstance(value, str) or value == value else np.isnan(v)
            text = value if isinstance(value, str) else (session.value_label(name, value)
                                                          or fmt_g(value).strip())
            out.append((text, hit & use))
        return out

    rows = levels(args.varlist[0], keys[0])
    if not args.nototals:
        rows.append(("Total", use))
    total = int(use.sum())
    title = session.var_labels.get(args.varlist[0]) or args.varlist[0]

    def cell(stat: str, var: str | None, hit: np.ndarray) -> str:
        x = column_values(session.data, var).astype(float)[hit] if var else None
        value = _value(stat, x, int(hit.sum()), total)
        return fmt_num(value, _format(stat, args.nformat)).strip()

    if len(args.varlist) == 1:
        several = len({v for _, v in requested if v}) > 1
        columns = tuple(SummaryTableColumn(
            ((var, _label(stat)) if several and var else (_label(stat),)),
            tuple(cell(stat, var, hit) for _, hit in rows)) for stat, var in requested)
        return StatTable(title, tuple(t for t, _ in rows), columns)
    if len(requested) > 1:
        raise StataError("only one statistic() may be combined with a column variable", 198)
    stat, var = requested[0]
    cols = levels(args.varlist[1], keys[1])
    if not args.nototals:
        cols.append(("Total", use))
    columns = tuple(SummaryTableColumn((ctext,), tuple(cell(stat, var, rhit & chit)
                                                       for _, rhit in rows))
                    for ctext, chit in cols)
    span = session.var_labels.get(args.varlist[1]) or args.varlist[1]
    return StatTable(title, tuple(t for t, _ in rows), columns, span=span)
