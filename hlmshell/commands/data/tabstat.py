"""tabstat varlist [if] [in] [, by(varname) statistics(...) columns(variables|statistics)
format[(%fmt)] longstub varwidth(#) labelwidth(#) nototal missing noseparator casewise save]

As Stata's tabstat.ado: statistics (default mean) of each variable, by group with a Total; the
statistics are summarize's (percentiles by its definition, sd with n − 1); a single variable is
shown with the statistics as columns unless ``columns()`` says otherwise; numbers in %9.0g (or the
variables' formats with ``format``, or ``format(%fmt)``).  ``save`` posts r(StatTotal),
r(Stat#) and r(name#).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from hlmshell.data import statistics as stats
from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Pattern, Table
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results, StataMatrix
from hlmshell.results.tables import Tabstat, TabstatGroup
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

Stat = Callable[[np.ndarray], float]


def _semean(x: np.ndarray) -> float:
    n = stats.count(x)
    return stats.sd(x) / np.sqrt(n) if n > 0 else np.nan


# tabstat's statistics: how they are typed, the names shown and the numbers (Stata 17's labels)
_STATS: list[tuple[str, tuple[tuple[str, Stat], ...]]] = [
    ("n", (("N", stats.count),)), ("COunt", (("N", stats.count),)),
    ("MEan", (("Mean", stats.mean),)), ("SUm", (("Sum", stats.total),)),
    ("MIn", (("Min", stats.minimum),)), ("MAx", (("Max", stats.maximum),)),
    ("Range", (("Range", stats.value_range),)), ("sd", (("SD", stats.sd),)),
    ("Variance", (("Variance", stats.variance),)), ("CV", (("CV", stats.cv),)),
    ("SEMean", (("SE(mean)", _semean),)), ("SDMean", (("SE(mean)", _semean),)),
    ("SKewness", (("Skewness", lambda x: stats.moments(x)[0]),)),
    ("Kurtosis", (("Kurtosis", lambda x: stats.moments(x)[1]),)),
    ("MEDian", (("p50", stats.pctile(50)),)), ("iqr", (("IQR", stats.iqr),)),
    ("q", (("p25", stats.pctile(25)), ("p50", stats.pctile(50)), ("p75", stats.pctile(75)))),
    *((f"p{p}", ((f"p{p}", stats.pctile(p)),)) for p in (1, 5, 10, 25, 50, 75, 90, 95, 99)),
]
_TABLE: Table[tuple[tuple[str, Stat], ...]] = Table()
for _word, _entry in _STATS:
    _TABLE.add(Pattern.parse(_word), _entry)


def parse_statistics(text: str) -> list[tuple[str, Stat]]:
    out: list[tuple[str, Stat]] = []
    for word in (text or "mean").replace(",", " ").split():
        entry = _TABLE.get(word.lower())
        if entry is None:
            raise StataError(f"unknown statistic: {word}", 198)
        out += list(entry)
    return out


def _columns(text: str | None, nvars: int) -> str:
    if text is None:
        return "statistics" if nvars == 1 else "variables"
    if text and "variables".startswith(text):
        return "variables"
    if text and ("statistics".startswith(text) or text == "stats"):
        return "statistics"
    raise StataError(f"option columns({text}) invalid -- specify columns(variables) or "
                     "columns(statistics)", 198)


@command("tabstat", "varlist [if] [in] [, by(varname) Statistics(string) STATS(string) "
         "Columns(string) FORMat(string optional) LOngstub VArwidth(integer 12) "
         "LAbelwidth(integer 16) NOTotal Missing NOSEParator CASEwise SAVE]", byable="recall")
def tabstat(session: Session, args: Args) -> Tabstat | Text:
    """Compact tables of summary statistics (means, sds, percentiles...) by group."""
    from hlmshell.data.files import display_format
    from hlmshell.lang.expr import column_values, row_mask
    from hlmshell.lang.numfmt import fmt_g, fmt_num

    names = args.varlist
    for name in names:
        if session.is_string(name):
            raise StataError(f"string variables not allowed in varlist;\n{name} is a string "
                             "variable", 109)
    if args.statistics is not None and args.stats is not None:
        raise StataError("options statistics() and stats() may not be specified together", 198)
    by = args.options["by"]
    if args.nototal and by is None:
        return Text("nothing to display")
    chosen = parse_statistics(args.statistics if args.statistics is not None else args.stats)
    columns = _columns(args.columns, len(names))
    fmt = args.format
    if fmt:
        try:
            fmt_num(1.0, fmt)
        except ValueError:
            raise StataError(f"invalid %fmt in option format(): {fmt}", 120) from None
    formats = tuple((display_format(session.data[n]) if fmt == "" else fmt or "%9.0g")
                    for n in names)
    use = row_mask(session, args.if_, args.in_)
    cols = {n: column_values(session.data, n).astype(float) for n in names}
    if args.casewise:
        for n in names:
            use &= ~np.isnan(cols[n])
    groups: list[tuple[str, np.ndarray]] = []
    if by is not None:
        bv = column_values(session.data, by)
        if not args.missing:
            use &= (bv != "") if bv.dtype == object else ~np.isnan(bv)
    if not use.any():
        raise StataError("no observations", 2000)
    if by is not None:
        for value in _levels(bv[use]):
            hit = use & ((bv == value) if not (isinstance(value, float) and np.isnan(value))
                         else np.isnan(bv.astype(float)))
            label = value if isinstance(value, str) else (
                session.value_label(by, value) or fmt_g(value).strip())
            groups.append((label, hit))
    if not args.nototal:
        groups.append(("Total", use))
    blocks = tuple(TabstatGroup(label, tuple(tuple(fn(cols[n][hit]) for n in names)
                                             for _, fn in chosen)) for label, hit in groups)
    by_width = _by_width(session, by, bv if by is not None else None, args) if by else 8
    session.r = Results()
    if args.save:
        _save(session, blocks, names, [s for s, _ in chosen], by is not None, not args.nototal)
    stub = args.longstub or by is None or "varwidth" in args.given
    return Tabstat(tuple(names), tuple(s for s, _ in chosen), blocks, formats, by,
                   session.var_labels.get(by, "") if by else "", by_width, columns, stub,
                   not args.noseparator)


def _levels(values: np.ndarray) -> list:
    if values.dtype == object:
        return sorted(set(values))
    finite = np.unique(values[~np.isnan(values)])
    return [float(v) for v in finite] + ([np.nan] if np.isnan(values).any() else [])


def _by_width(session: Session, by: str, values: np.ndarray, args: Args) -> int:
    """tabstat.ado's width of the by column."""
    label_width = min(max(args.labelwidth, 8), 32)
    if session.is_string(by):
        width = min(max(len(str(v)) for v in values) if len(values) else 1, label_width)
    elif by in session.label_names and session.label_sets.get(session.label_names[by]):
        width = min(label_width, max(len(t) for t in session.label_sets[session.label_names[by]]
                                     .values()))
    else:
        width = 8
    width = max(len(by), width)
    return max(width, 6) if not args.nototal else width


def _save(session: Session, blocks: tuple[TabstatGroup, ...], names: list[str], shown: list[str],
          by: bool, total: bool) -> None:
    matrices, macros = {}, {}
    groups = blocks[:-1] if total else blocks
    for k, g in enumerate(groups, start=1):
        if by:
            matrices[f"Stat{k}"] = StataMatrix(np.array(g.values), list(shown), list(names))
            macros[f"name{k}"] = g.label
    if total:
        matrices["StatTotal"] = StataMatrix(np.array(blocks[-1].values), list(shown), list(names))
    session.r = Results(macros=macros, matrices=matrices)
