"""``graph box`` and ``graph bar``: one box or bar per variable and ``over()`` group.

    graph box mathach, over(sector)
    graph bar (mean) mathach ses, over(sector)

Groups are the values of the ``over()`` variable in ascending order, labelled by their value label
or value, at positions 1, 2, ...; several variables are boxes or bars side by side within a group,
told apart by the legend.  ``graph bar`` statistics are Stata's (``data.statistics``: mean, the
default, median, p1-p99, sum, count, min, max, sd, semean, iqr, ...); the y-axis title is
``mean of y`` when one variable is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hlmshell.commands.graphics.assemble import finish
from hlmshell.commands.graphics.options import TWOWAY_OPTIONS, GraphOptions
from hlmshell.commands.graphics.plots import Built, Context, style
from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.numfmt import fmt_num
from hlmshell.results.shell import Text
from hlmshell.results.graph import Axis, Bars, Box, Boxes, frozen_array
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

CHART_OPTIONS = " ".join(w for w in TWOWAY_OPTIONS.split()
                         if not w.startswith(("XTItle", "XLABel", "XSCale", "XLIne")))
_LOOK = "COLor(string) FColor(string) LColor(string)"
_STAT = re.compile(r"\(\s*(\w+)\s*\)")


def _numeric(session: Session, name: str) -> np.ndarray:
    if session.is_string(name):
        raise StataError(f"string variables not allowed in varlist;\n{name} is a string variable",
                         109)
    return session.data[name].to_numpy(dtype=float, na_value=np.nan)


def _groups(session: Session, over: str | None, rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(label, member rows) of each over() group among ``rows``, in ascending order."""
    if over is None:
        return [("", rows)]
    column = session.data[over]
    present = column[rows]
    present = present[present.notna() & (present.astype(str) != "")]
    out = []
    for value in sorted(present.unique()):
        if isinstance(value, str):
            label = value
        else:
            named = session.value_label(over, float(value))
            label = named if named is not None else fmt_num(float(value), "%9.0g").strip()
        out.append((label, rows & (column == value).to_numpy()))
    return out


@dataclass(frozen=True, eq=False)
class _Chart:
    """What both charts start from: the variables' values, the rows, the options, the groups."""

    columns: dict[str, np.ndarray]
    rows: np.ndarray
    opts: GraphOptions
    groups: list[tuple[str, np.ndarray]]


def _chart(session: Session, args: Args, names: list[str]) -> _Chart:
    rows = row_mask(session, args.if_, args.in_)
    opts = GraphOptions()
    opts.merge(args)
    return _Chart({n: _numeric(session, n) for n in names}, rows, opts,
                  _groups(session, args.over, rows))


def _positions(groups: int, series: int, k: int, width: float) -> np.ndarray:
    """Where series ``k`` of ``series`` sits within groups 1..groups."""
    return np.arange(1, groups + 1) + (k - (series - 1) / 2) * width


def _category_axis(labels: list[str]) -> Axis:
    if labels == [""]:
        return Axis(ticks=(), tick_labels=(), grid=False)
    return Axis(ticks=tuple(float(i) for i in range(1, len(labels) + 1)), tick_labels=tuple(labels),
                grid=False)


@command("GRaph BOX", f"varlist(numeric) [if] [in] [, OVER(varname) {_LOOK} {CHART_OPTIONS}]")
def graph_box(session: Session, args: Args) -> list[Text]:
    """Box plots: quartiles, median, adjacent values and outside values."""
    from hlmshell.model.boxplot import box_summary

    names = args.varlist
    chart = _chart(session, args, names)
    columns, groups = chart.columns, chart.groups
    width = 0.8 / len(names)

    def build(ctx: Context, panel_rows: np.ndarray) -> list[Built]:
        built = []
        for k, name in enumerate(names):
            boxes = []
            positions = _positions(len(groups), len(names), k, width)
            for (label, member), where in zip(groups, positions):
                v = columns[name][member & panel_rows]
                v = np.sort(v[~np.isnan(v)])
                if not len(v):
                    continue
                s = box_summary(v)
                boxes.append(Box(float(where), s.lower_quartile, s.median, s.upper_quartile,
                                 s.lower_adjacent, s.upper_adjacent, frozen_array(s.outside)))
            label = session.var_labels.get(name) or name
            built.append(Built([Boxes(tuple(boxes), label, style(ctx, args))], [label], [name],
                               label, ""))
        return built

    return finish(session, build, chart.opts, chart.rows, command=f"graph box {args.text.strip()}",
                  xaxis=_category_axis([g for g, _ in groups]),
                  legend=len(names) > 1)


def _bar_series(session: Session, text: str) -> list[tuple[str, str]]:
    """``(mean) y1 y2 (sum) y3`` → [("mean", "y1"), ("mean", "y2"), ("sum", "y3")]."""
    from hlmshell.data.statistics import statistic

    stat, out, pos = "mean", [], 0
    for m in [*_STAT.finditer(text), None]:
        piece = text[pos:m.start() if m else len(text)]
        if piece.strip():
            out += [(stat, v) for v in varlist.expand(session.variables, piece)]
        if m is None:
            break
        stat = m.group(1)
        if statistic(stat) is None:
            raise StataError(f"({stat}) invalid statistic", 198)
        pos = m.end()
    if not out:
        raise StataError("varlist required", 100)
    return out


@command("GRaph BAR", f"anything [if] [in] [, OVER(varname) {_LOOK} {CHART_OPTIONS}]")
def graph_bar(session: Session, args: Args) -> list[Text]:
    """Bar charts of a statistic (mean by default) of each variable over groups."""
    from hlmshell.data.statistics import statistic

    series = _bar_series(session, args.anything)
    chart = _chart(session, args, [n for _, n in series])
    columns, groups = chart.columns, chart.groups
    width = 0.8 / len(series)

    def build(ctx: Context, panel_rows: np.ndarray) -> list[Built]:
        built = []
        for k, (stat, name) in enumerate(series):
            heights = []
            for _, member in groups:
                v = columns[name][member & panel_rows]
                heights.append(statistic(stat)(v[~np.isnan(v)]))
            key = f"{stat} of {name}"
            bars = Bars(frozen_array(_positions(len(groups), len(series), k, width)),
                        frozen_array(heights), width * 0.9, key, style(ctx, args))
            built.append(Built([bars], [key], [key], key, ""))
        return built

    return finish(session, build, chart.opts, chart.rows, command=f"graph bar {args.text.strip()}",
                  xaxis=_category_axis([g for g, _ in groups]), yaxis=Axis(lower=0.0),
                  legend=len(series) > 1)
