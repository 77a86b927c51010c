"""tabulate var [if] [in] [, generate(stub) missing nolabel]; tabulate var1 var2 [, row column cell
nofreq nokey chi2 lrchi2 exact V missing nolabel].

Values show their value labels unless ``nolabel``.  Stata's r(): r(N) and r(r) (number of rows),
plus r(c) and the statistics asked for (r(chi2) r(p) r(chi2_lr) r(p_lr) r(CramersV) r(p_exact)
r(p1_exact)) for a two-way table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results
from hlmshell.results.tables import OneWayTable, TableTests, TwoWayTable
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

TWO_WAY_ONLY = ("row", "column", "cell", "nofreq", "nokey", "chi2", "lrchi2", "exact", "v")
# [R] limits (Stata/MP and SE): a one-way table's rows, a two-way table's rows and columns
TAB1_ROWS, TAB2_ROWS, TAB2_COLUMNS = 12_000, 1_200, 80


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


def _texts(session: Session, name: str, values: list, nolabel: bool) -> tuple[str, ...]:
    """What each tabulated value is shown as: its value label, else the number (%9.0g)."""
    from hlmshell.lang.numfmt import fmt_g

    out = []
    for v in values:
        label = None if nolabel else session.value_label(name, v)
        out.append(label if label is not None else v if isinstance(v, str) else fmt_g(v).strip())
    return tuple(out)


@command("TAbulate", "varlist(max=2) [if] [in] [, Missing GENerate(name) NOLabel Row COlumn CEll "
         "NOFreq NOKey CHi2 LRchi2 Exact V]", byable="recall")
def tabulate(session: Session, args: Args) -> OneWayTable | TwoWayTable | Text:
    """One- and two-way tables of frequencies (two-way: percentages and tests of independence)."""
    from hlmshell.lang.expr import column_values, row_mask

    by_group = session.by_rows is not None
    stub = args.generate
    if stub is not None and by_group:
        raise StataError("option generate() may not be combined with by", 190)
    names = args.varlist
    if len(names) == 2 and stub is not None:
        raise StataError("option generate() not allowed with two variables", 198)
    if len(names) == 1:
        for option in TWO_WAY_ONLY:
            if args.options[option]:
                raise StataError(f"option {option} not allowed", 198)
    rows = row_mask(session, args.if_, args.in_)
    try:
        if len(names) == 2:
            shown = _two_way(session, names, rows, args)
        else:
            shown = _one_way(session, names, rows, args.missing, args.nolabel)
    except StataError as err:
        if err.rc != 2000 or not by_group:
            raise
        return Text("no observations")      # an empty by-group: the others are still tabulated
    if stub is not None:
        _generate(session, stub, names[0], column_values(session.data, names[0]), shown.values,
                  args.missing)
    return shown


def _one_way(session: Session, names: list[str], rows: np.ndarray, missing: bool,
             nolabel: bool) -> OneWayTable:
    from hlmshell.lang.expr import column_values

    name = names[0]
    distinct, codes = _levels(column_values(session.data, name)[rows], missing)
    if not len(codes):
        raise StataError("no observations", 2000)
    if len(distinct) > TAB1_ROWS:
        raise StataError("too many values", 134)
    freqs = np.bincount(codes, minlength=len(distinct))
    session.r = Results(scalars={"N": float(len(codes)), "r": float(len(distinct))})
    labels = {} if nolabel else session.label_sets.get(session.label_names.get(name, ""), {})
    return OneWayTable(_title(session, name), tuple(distinct),
                       _texts(session, name, distinct, nolabel), tuple(int(f) for f in freqs),
                       label_width=max(map(len, labels.values()), default=0))


def _two_way(session: Session, names: list[str], rows: np.ndarray, args: Args) -> TwoWayTable:
    from hlmshell.lang.expr import column_values

    a = column_values(session.data, names[0])[rows]
    b = column_values(session.data, names[1])[rows]
    missing = args.missing
    a_ok = np.ones(len(a), bool) if missing else (a != "" if a.dtype == object else ~np.isnan(a))
    b_ok = np.ones(len(b), bool) if missing else (b != "" if b.dtype == object else ~np.isnan(b))
    both = a_ok & b_ok
    row_values, row_codes = _levels(a[both], True)
    col_values, col_codes = _levels(b[both], True)
    if not len(row_codes):
        raise StataError("no observations", 2000)
    if len(row_values) > TAB2_ROWS or len(col_values) > TAB2_COLUMNS:
        raise StataError("too many values", 134)
    counts = np.zeros((len(row_values), len(col_values)), dtype=np.int64)
    np.add.at(counts, (row_codes, col_codes), 1)
    cells = tuple(c for c, on in (("freq", not args.nofreq), ("row", args.row),
                                  ("col", args.column), ("cell", args.cell)) if on)
    tests, scalars = _tests(counts, args)
    session.r = Results(scalars={"N": float(both.sum()), "r": float(len(row_values)),
                                 "c": float(len(col_values)), **scalars})
    return TwoWayTable(_title(session, names[0]), _title(session, names[1]),
                       _texts(session, names[0], row_values, args.nolabel),
                       _texts(session, names[1], col_values, args.nolabel), counts, cells,
                       key=bool(cells) and cells != ("freq",) and not args.nokey, tests=tests)


def _tests(counts: np.ndarray, args: Args) -> tuple[TableTests | None, dict[str, float]]:
    """The statistics asked for and their r() scalars (Stata's names)."""
    from hlmshell.inference import tables

    if not (args.chi2 or args.lrchi2 or args.exact or args.v) or min(counts.shape) < 2:
        return None, {}       # a single row or column: no test to report
    scalars: dict[str, float] = {}
    pearson = lr = None
    if args.chi2:
        res = tables.pearson(counts)
        pearson = (res.statistic, res.df, res.p)
        scalars.update(chi2=res.statistic, p=res.p)
    if args.lrchi2:
        res = tables.likelihood_ratio(counts)
        lr = (res.statistic, res.df, res.p)
        scalars.update(chi2_lr=res.statistic, p_lr=res.p)
    v = tables.cramers_v(counts) if args.v else None
    if v is not None:
        scalars["CramersV"] = v
    fisher = one_sided = None
    if args.exact:
        fisher = tables.fisher_exact(counts)
        scalars["p_exact"] = fisher
        if counts.shape == (2, 2):
            one_sided = tables.fisher_one_sided(counts)
            scalars["p1_exact"] = one_sided
    return TableTests(pearson, lr, v, fisher, one_sided), scalars


def _generate(session: Session, stub: str, name: str, values: np.ndarray, distinct: tuple,
              missing: bool) -> None:
    """``gen(stub)``: indicators stub1..stubK of each tabulated value, labelled ``name==value``.

    Observations outside if/in still get 0/1; those where ``name`` is missing get missing unless the
    missing values were tabulated.
    """
    import pandas as pd

    from hlmshell.lang.numfmt import fmt_g
    from hlmshell.lang.varlist import new_name

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
        shown = value if isinstance(value, str) else fmt_g(value).strip()
        labels[var] = f"{name}=={shown}"
    session.set_data(data)
    session.var_labels = {k: v for k, v in labels.items() if k in data.columns}
