"""tabulate var [if] [in] [, generate(stub) missing]; tabulate var1 var2 [, missing].

Stata's r(): r(N) and r(r) (number of rows), plus r(c) for a two-way table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.render import Text
from hlmshell.results.data import OneWayTable, TwoWayTable
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def _levels(values: np.ndarray, keep_missing: bool) -> tuple[list, np.ndarray]:
    """(sorted distinct values, code of each value kept); missing values are kept if asked.

    Missing numbers sort last; the empty string (string missing) sorts first, as in Stata.
    """
    if values.dtype == object:
        present = values != ""
        keep = np.ones(len(values), bool) if keep_missing else present
        distinct = sorted(set(values[keep]))
    else:
        present = ~np.isnan(values)
        keep = np.ones(len(values), bool) if keep_missing else present
        finite = np.unique(values[keep & present])
        distinct = [float(v) for v in finite] + ([float("nan")] if (keep & ~present).any() else [])
    lookup = {("." if isinstance(v, float) and np.isnan(v) else v): k for k, v in enumerate(distinct)}
    kept = values[keep]
    codes = np.array([lookup["." if isinstance(v, float) and np.isnan(v) else v] for v in kept],
                     dtype=int)
    return distinct, codes


def _title(session: Session, name: str) -> str:
    return session.var_labels.get(name) or name


@command("TAbulate", "varlist(max=2) [if] [in] [, Missing GENerate(name)]",
         byable="recall")
def tabulate(session: Session, args: Args) -> OneWayTable | TwoWayTable | Text:
    """One- and two-way tables of frequencies."""
    from hlmshell.lang.expr import column_values, row_mask

    by_group = session.by_rows is not None
    stub = args.generate
    if stub is not None and by_group:
        raise StataError("option generate() may not be combined with by", 190)
    names = args.varlist
    if len(names) == 2 and stub is not None:
        raise StataError("option generate() not allowed with two variables", 198)
    rows = row_mask(session, args.if_, args.in_)
    table = _two_way if len(names) == 2 else _one_way
    try:
        shown = table(session, names, rows, args.missing)
    except StataError as err:
        if err.rc != 2000 or not by_group:
            raise
        return Text("no observations")      # an empty by-group: the others are still tabulated
    if stub is not None:
        _generate(session, stub, names[0], column_values(session.data, names[0]), shown.values,
                  args.missing)
    return shown


def _one_way(session: Session, names: list[str], rows: np.ndarray, missing: bool) -> OneWayTable:
    from hlmshell.lang.expr import column_values

    name = names[0]
    distinct, codes = _levels(column_values(session.data, name)[rows], missing)
    if not len(codes):
        raise StataError("no observations", 2000)
    freqs = np.bincount(codes, minlength=len(distinct))
    session.r = Results(scalars={"N": float(len(codes)), "r": float(len(distinct))})
    return OneWayTable(_title(session, name), distinct, [int(f) for f in freqs])


def _two_way(session: Session, names: list[str], rows: np.ndarray, missing: bool) -> TwoWayTable:
    from hlmshell.lang.expr import column_values

    a = column_values(session.data, names[0])[rows]
    b = column_values(session.data, names[1])[rows]
    a_ok = np.ones(len(a), bool) if missing else (a != "" if a.dtype == object else ~np.isnan(a))
    b_ok = np.ones(len(b), bool) if missing else (b != "" if b.dtype == object else ~np.isnan(b))
    both = a_ok & b_ok
    row_values, row_codes = _levels(a[both], True)
    col_values, col_codes = _levels(b[both], True)
    if not len(row_codes):
        raise StataError("no observations", 2000)
    counts = np.zeros((len(row_values), len(col_values)), dtype=np.int64)
    np.add.at(counts, (row_codes, col_codes), 1)
    session.r = Results(scalars={"N": float(both.sum()), "r": float(len(row_values)),
                                 "c": float(len(col_values))})
    return TwoWayTable(_title(session, names[0]), _title(session, names[1]), row_values, col_values,
                       counts)


def _generate(session: Session, stub: str, name: str, values: np.ndarray, distinct: list,
              missing: bool) -> None:
    """``gen(stub)``: indicators stub1..stubK of each tabulated value, labelled ``name==value``.

    Observations outside if/in still get 0/1; those where ``name`` is missing get missing unless the
    missing values were tabulated.
    """
    import pandas as pd

    from hlmshell.lang.varlist import new_name
    from hlmshell.render.data import value_text

    new = [new_name(session.variables, f"{stub}{k + 1}") for k in range(len(distinct))]
    data = session.data.copy()
    labels = dict(session.var_labels)
    is_missing = (values == "") if values.dtype == object else np.isnan(values)
    for var, value in zip(new, distinct):
        if isinstance(value, float) and np.isnan(value):
            hit = is_missing
        else:
            hit = values == value
        col = pd.Series(hit.astype(np.float64))
        if not missing:
            col[is_missing] = np.nan
            col = col if col.isna().any() else col.astype(np.int8)
        else:
            col = col.astype(np.int8)
        data[var] = col.to_numpy()
        labels[var] = f"{name}=={value_text(value)}"
    session.set_data(data)
    session.var_labels = {k: v for k, v in labels.items() if k in data.columns}
