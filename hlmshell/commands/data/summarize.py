"""summarize [varlist] [if] [in] [, detail meanonly separator(#)]: Stata's summary statistics.

Saved results are those of the last variable, in Stata's order: r(N) r(sum_w) r(mean) r(Var) r(sd)
[r(skewness) r(kurtosis)] r(sum) r(min) r(max) [r(p1) ... r(p99)].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.data.statistics import moments, stata_percentile
from hlmshell.errors import StataError
from hlmshell.results.data import SummaryDetail, SummaryRow, SummaryTable
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)


def _values(session: Session, name: str, rows: np.ndarray) -> np.ndarray | None:
    """The non-missing values of a numeric variable among ``rows`` (None for a string variable)."""
    if session.is_string(name):
        return None
    x = session.data[name].to_numpy(dtype=float, na_value=np.nan)[rows]
    return x[~np.isnan(x)]


def _basic(x: np.ndarray) -> dict[str, float]:
    n = len(x)
    out = {"N": float(n), "sum_w": float(n)}
    if n == 0:
        out["sum"] = 0.0
        return out
    mean = float(np.mean(x))
    var = float(np.var(x, ddof=1)) if n > 1 else float("nan")
    out.update(mean=mean, Var=var, sd=float(np.sqrt(var)), sum=float(np.sum(x)),
               min=float(np.min(x)), max=float(np.max(x)))
    return out


def _detail(x: np.ndarray) -> dict[str, float]:
    stats = _basic(x)
    if len(x) == 0:
        return stats
    skew, kurt = moments(x)
    ordered = {k: stats[k] for k in ("N", "sum_w", "mean", "Var", "sd")}
    ordered.update(skewness=skew, kurtosis=kurt)
    ordered.update({k: stats[k] for k in ("sum", "min", "max")})
    s = np.sort(x)
    ordered.update({f"p{p}": stata_percentile(s, p) for p in PERCENTILES})
    return ordered


def _scalars(stats: dict[str, float]) -> dict[str, float]:
    """r() in Stata's order (plain summarize puts sum after sd, before min and max)."""
    if "skewness" in stats:
        return dict(stats)
    order = ("N", "sum_w", "mean", "Var", "sd", "min", "max", "sum")
    return {k: stats[k] for k in order if k in stats}


@command("SUmmarize", "[varlist] [if] [in] [, Detail MEANonly SEParator(integer 5)]",
         byable="recall")
def summarize(session: Session, args: Args) -> list | None:
    """Summary statistics: observations, mean, standard deviation, minimum and maximum."""
    from hlmshell.lang.expr import row_mask

    if args.detail and args.meanonly:
        raise StataError("options meanonly and detail may not be combined", 198)
    rows = row_mask(session, args.if_, args.in_)
    results, last = _summarize(session, args.varlist, rows, args.detail, args.separator)
    if args.meanonly:
        scalars = {k: last[k] for k in ("N", "sum_w", "sum", "mean", "min", "max") if k in last}
    else:
        scalars = _scalars(last)
    session.r = Results(scalars=scalars)
    return None if args.meanonly else results


def _summarize(session: Session, names: list[str], rows: np.ndarray, detail: bool,
               separator: int) -> tuple[list, dict[str, float]]:
    """The table (or one detail block per variable) and the statistics of the last variable."""
    blocks: list = []
    table_rows = []
    last: dict[str, float] = {"N": 0.0, "sum_w": 0.0, "sum": 0.0}
    for name in names:
        title = session.var_labels.get(name) or name
        x = _values(session, name, rows)
        if x is None:
            last = {"N": 0.0, "sum_w": 0.0, "sum": 0.0}
            table_rows.append(SummaryRow(name, 0))
            blocks.append(SummaryDetail(title, 0))
            continue
        last = _detail(x) if detail else _basic(x)
        blocks.append(_detail_result(title, x, last) if detail else None)
        table_rows.append(SummaryRow(name, len(x), last.get("mean", np.nan), last.get("sd", np.nan),
                                     last.get("min", np.nan), last.get("max", np.nan)))
    return (blocks if detail else [SummaryTable(table_rows, separator)]), last


def _detail_result(title: str, x: np.ndarray, stats: dict[str, float]) -> SummaryDetail:
    if len(x) == 0:
        return SummaryDetail(title, 0)
    s = np.sort(x)
    pad = [float("nan")] * 4
    smallest = (list(s[:4]) + pad)[:4]
    largest = (pad + list(s[-4:]))[-4:]
    return SummaryDetail(title, len(x), stats["sum_w"], stats["mean"], stats["sd"], stats["Var"],
                         stats["skewness"], stats["kurtosis"],
                         {p: stats[f"p{p}"] for p in PERCENTILES},
                         [float(v) for v in smallest], [float(v) for v in largest])
