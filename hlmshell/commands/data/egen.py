"""egen: group statistics and other extended generate functions, with ``by()`` or a ``by`` prefix.

Each function follows Stata's egen ado-file: observations outside ``if``/``in`` get missing (``tag``
gets 0), statistics ignore missing values, ``total`` of nothing is 0, ``group`` numbers the groups in
the sort order of its variables, ``rank`` gives tied values their average rank.  The variable label is
the function call as typed (``tag(id)``), as Stata sets it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

import numpy as np

from hlmshell.commands.data import egen_cut
from hlmshell.commands.data.egen_rows import ROW_FUNCTIONS, row_function
from hlmshell.commands.data.generate import by_ids, full_values, insert_column, plural
from hlmshell.data import statistics as stats
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.declaration import parse_declaration
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$", re.S)


def _numeric(session: Session, exp: str) -> np.ndarray:
    from hlmshell.lang.expr import is_string_value

    values = full_values(session, exp, None)
    if is_string_value(values):
        raise StataError("type mismatch", 109)
    return values.astype(float)


def _group_index(session: Session, by: list[str], use: np.ndarray) -> np.ndarray:
    """Dense group numbers 0..k-1 over the rows in ``use`` by the values of ``by`` (-1 elsewhere)."""
    from hlmshell.data.sorting import group_ids, sort_order

    n = session.nobs
    out = np.full(n, -1, dtype=np.int64)
    if not use.any():
        return out
    if not by:
        out[use] = 0
        return out
    sub = session.data.loc[use, by].reset_index(drop=True)
    order = sort_order(sub, by)
    ids_sorted = group_ids(sub.iloc[order].reset_index(drop=True), by) - 1
    ids = np.empty(len(sub), dtype=np.int64)
    ids[order] = ids_sorted
    out[use] = ids
    return out


def _reduce(values: np.ndarray, gidx: np.ndarray, use: np.ndarray,
            stat: Callable[[np.ndarray], float]) -> np.ndarray:
    """``stat`` of the values in each group, spread back to the group's rows in ``use`` (``stat``
    may also return one value per row, as ranks do)."""
    out = np.full(len(values), np.nan)
    rows = np.flatnonzero(use)
    if rows.size == 0:
        return out
    order = rows[np.argsort(gidx[rows], kind="stable")]
    bounds = np.flatnonzero(np.diff(gidx[order])) + 1
    for chunk in np.split(order, bounds):
        out[chunk] = stat(values[chunk])
    return out


def _mad(x: np.ndarray) -> float:
    """Median absolute deviation from the median."""
    x = stats.present(x)
    return stats.pctile(50)(np.abs(x - stats.pctile(50)(x))) if x.size else np.nan


def _mdev(x: np.ndarray) -> float:
    """Mean absolute deviation from the mean."""
    x = stats.present(x)
    return float(np.mean(np.abs(x - x.mean()))) if x.size else np.nan


_STATS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": stats.mean, "sd": stats.sd, "total": stats.total, "sum": stats.total,
    "count": stats.count, "min": stats.minimum, "max": stats.maximum,
    "median": stats.pctile(50), "iqr": stats.iqr, "mad": _mad, "mdev": _mdev,
    "skew": lambda x: stats.moments(x)[0], "kurt": lambda x: stats.moments(x)[1],
}


def _rank(values: np.ndarray, gidx: np.ndarray, use: np.ndarray, how: str) -> np.ndarray:
    import pandas as pd

    def ranks(x: np.ndarray) -> np.ndarray:
        s = pd.Series(x)
        if how == "field":
            return s.rank(method="min", ascending=False).to_numpy()
        if how == "track":
            return s.rank(method="min").to_numpy()
        if how == "unique":
            return s.rank(method="first").to_numpy()
        return s.rank(method="average").to_numpy()

    return _reduce(values, gidx, use & ~np.isnan(values), ranks)


def _markout(session: Session, use: np.ndarray, names: list[str]) -> np.ndarray:
    """``use`` without observations where any of ``names`` is missing (Stata's markout, strok)."""
    from hlmshell.lang.expr import column_values

    use = use.copy()
    for name in names:
        col = column_values(session.data, name)
        use &= (col != "") if col.dtype == object else ~np.isnan(col)
    return use


def compute(session: Session, fcn: str, args: str, use: np.ndarray, by: list[str],
            opts: Args) -> tuple[np.ndarray, str]:
    """The egen function's values over all observations and the default storage type.

    ``opts`` are the function's options, parsed with its declaration (:func:`function_options`).
    """
    if fcn in ("tag", "group"):
        names = varlist.expand(session.variables, args)
        keep = use if opts.missing else _markout(session, use, names)
        if fcn == "tag":
            keys = by + [v for v in names if v not in by]
            gidx = _group_index(session, keys, keep)
            out = np.zeros(session.nobs)
            rows = np.flatnonzero(keep)
            _, first = np.unique(gidx[rows], return_index=True)
            out[rows[first]] = 1.0
            return out, "byte"
        if by:
            raise StataError("egen ... group() may not be combined with by", 190)
        gidx = _group_index(session, names, keep)
        return np.where(gidx >= 0, gidx + 1.0, np.nan), "float"
    if fcn in ROW_FUNCTIONS:
        return row_function(session, fcn, args, use, opts), "float"
    if not args.strip():
        raise syntax_error()
    values = _numeric(session, args)
    gidx = _group_index(session, by, use)
    if fcn == "rank":
        chosen = [h for h in ("field", "track", "unique") if opts.options[h]]
        if len(chosen) > 1:
            raise StataError("may not combine options field, track, and unique", 198)
        return _rank(values, gidx, use, chosen[0] if chosen else "average"), "float"
    if fcn == "pctile":
        p = opts.p
        if not 0 < p < 100:
            raise StataError("p() must be between 0 and 100", 198)
        return _reduce(values, gidx, use, stats.pctile(p)), "float"
    if fcn == "std":
        mean = _reduce(values, gidx, use, stats.mean)
        sd = _reduce(values, gidx, use, stats.sd)
        with np.errstate(all="ignore"):
            return (values - mean) / sd * opts.std + opts.mean, "float"
    if fcn == "pc":
        total = _reduce(values, gidx, use, stats.total)
        with np.errstate(all="ignore"):
            return values / total * (1 if opts.prop else 100), "float"
    if fcn == "total" and opts.missing:
        counts = _reduce(values, gidx, use, stats.count)
        return np.where(counts > 0, _reduce(values, gidx, use, stats.total), np.nan), "float"
    if fcn in _STATS:
        return _reduce(values, gidx, use, _STATS[fcn]), "float"
    raise StataError(f"unknown egen function {fcn}()", 133)


# The options of each egen function (Stata's egen passes them on to the function's own syntax).
_FUNCTION_OPTIONS = {
    "tag": parse_declaration("[, Missing]"),
    "group": parse_declaration("[, Missing]"),
    "rank": parse_declaration("[, field track unique]"),
    "pctile": parse_declaration("[, p(real 50)]"),
    "std": parse_declaration("[, Mean(real 0) Std(real 1)]"),
    "pc": parse_declaration("[, prop]"),
    "total": parse_declaration("[, Missing]"),
    "rowtotal": parse_declaration("[, Missing]"),
    "cut": parse_declaration("[, at(numlist) Group(integer 0) ICodes LABel]"),
    "mode": parse_declaration("[, MINmode MAXmode NUMmode(integer 0) Missing]"),
}
_NO_OPTIONS = parse_declaration("")


def function_options(fcn: str, text: str) -> Args:
    """The options typed after egen's own (``by()``), as function ``fcn`` declares them."""
    return _FUNCTION_OPTIONS.get(fcn, _NO_OPTIONS).parse(f", {text}" if text else "")


@command("egen", "newvarname =exp [if] [in] [, by(varlist) *]", byable="onecall")
def egen(session: Session, args: Args) -> Text | None:
    """Extended generate: group statistics, tags, group numbers, ranks, row statistics, cut, mode."""
    from hlmshell.data import storage
    from hlmshell.lang.expr import row_mask

    type_name = args.storage_type
    if type_name is not None and storage.is_string_type(type_name):
        raise StataError("type mismatch", 109)
    name = args.newvars[0]
    m = _CALL.match(args.exp)
    if not m:
        raise syntax_error()
    fcn, fargs = m.group(1), m.group(2).strip()
    by = list(args.options["by"] or [])
    if args.by is not None:
        if by:
            raise StataError("option by() not allowed with by prefix", 190)
        by = list(args.by.variables)
    opts = function_options(fcn, args.rest_options)
    use = row_mask(session, args.if_, args.in_, groups=by_ids(args))
    labels = None
    if fcn == "cut":
        result = egen_cut.cut(session, fargs, use, by, opts)
        values, default_type, labels = result.values, "float", result.labels
    elif fcn == "mode":
        values = egen_cut.mode(session, fargs, use, _group_index(session, by, use), opts)
        default_type = "str" if values.dtype == object else "float"
    else:
        values, default_type = compute(session, fcn, fargs, use, by, opts)
    if default_type == "str":
        column = storage.string_series(values)
        missing = int((column == "").sum())
    else:
        column = storage.numeric_series(values, type_name or default_type)
        missing = int(column.isna().sum())
    session.set_data(insert_column(session.data, name, column))
    session.var_labels = {**session.var_labels, name: f"{fcn}({fargs})"}
    if labels is not None:
        label = egen_cut.free_label_name(name, session.label_sets)
        session.label_sets = {**session.label_sets, label: labels}
        session.label_names = {**session.label_names, name: label}
    if missing:
        return Text(f"({plural(missing, 'missing value')} generated)")
    return None
