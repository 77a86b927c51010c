"""Plot descriptions → matplotlib figures, in the look of a Stata scheme.

Uses matplotlib's object API (``Figure`` with an Agg canvas), never pyplot: no global state, no
backend that could open a window or block a batch run.  Imported only when a graph is drawn.
"""

from __future__ import annotations

import math
from typing import IO, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from hlmshell.lang.numfmt import fmt_num
from hlmshell.render.graph.colors import RGBA, parse_color
from hlmshell.render.graph.schemes import DEFAULT_SCHEME, SCHEMES, Scheme
from hlmshell.render.graph.styles import (LINE_PATTERNS, LINE_WIDTHS, MARKER_SIZES, SMALL_SYMBOLS,
                                          SYMBOLS)
from hlmshell.results.graph import (AnyGraph, Axis, Bars, Boxes, CombinedGraph, Graph, Panel,
                                    Points, Range, Style)

PNG_DPI = 150


def scheme_of(name: str) -> Scheme:
    return SCHEMES.get(name, SCHEMES[DEFAULT_SCHEME])


def color(text: str | None) -> RGBA | None:
    return parse_color(text) if text else None


class _Look:
    """The resolved look of the plot at ``index`` (0-based position among the panel's plots)."""

    def __init__(self, scheme: Scheme, index: int, style: Style) -> None:
        k = (style.pstyle - 1) if style.pstyle else index
        base = style.color or scheme.palette[k % len(scheme.palette)]
        if style.refline:
            base = style.color or scheme.refline
        self.color = color(base) or color(scheme.palette[0])
        self.mcolor = color(style.mcolor) or self.color
        self.lcolor = color(style.lcolor) or self.color
        self.fcolor = color(style.fcolor) or self.color
        symbol = style.msymbol or scheme.symbols[k % len(scheme.symbols)]
        self.marker, self.filled = SYMBOLS.get(symbol, ("o", True))
        size = style.msize or ("small" if symbol in SMALL_SYMBOLS else scheme.marker_size)
        self.msize = _number_or(size, MARKER_SIZES, MARKER_SIZES["small"])
        pattern = style.lpattern or scheme.patterns[k % len(scheme.patterns)]
        if style.refline and not style.lpattern:
            pattern = "solid"
        self.linestyle = LINE_PATTERNS.get(pattern, "-")
        self.lwidth = _number_or(style.lwidth or "medium", LINE_WIDTHS, LINE_WIDTHS["medium"])


def _number_or(text: str, table: dict[str, float], default: float) -> float:
    if text in table:
        return table[text]
    try:
        return float(text)
    except ValueError:
        return default


def figure(graph: AnyGraph, *, width_in: float | None = None,
           height_in: float | None = None) -> Figure:
    """The matplotlib figure of a graph (a combined graph draws each part in its cell)."""
    scheme = scheme_of(graph.scheme)
    w = width_in or graph.xsize or scheme.size[0]
    h = height_in or graph.ysize or scheme.size[1]
    fig = Figure(figsize=(w, h), facecolor=color(scheme.background))
    FigureCanvasAgg(fig)
    if isinstance(graph, CombinedGraph):
        _draw_combined(fig, graph, scheme)
    else:
        _draw_graph(fig, graph, scheme)
    return fig


def _grid_shape(n: int, cols: int | None, rows: int | None = None) -> tuple[int, int]:
    if cols:
        return math.ceil(n / cols), cols
    if rows:
        return rows, math.ceil(n / rows)
    c = math.ceil(math.sqrt(n))
    return math.ceil(n / c), c


def _draw_combined(fig: Figure, graph: CombinedGraph, scheme: Scheme) -> None:
    nrows, ncols = _grid_shape(len(graph.graphs), graph.cols, graph.rows)
    heads = int(bool(graph.titles.title)) + int(bool(graph.titles.note))
    ratios = ([0.1 * nrows] if graph.titles.title else []) + [1.0] * nrows + (
        [0.06 * nrows] if graph.titles.note else [])
    grid = fig.add_gridspec(nrows + heads, ncols, height_ratios=ratios)
    first = int(bool(graph.titles.title))
    width = fig.get_size_inches()[0] / ncols
    for k, part in enumerate(graph.graphs):
        sub = fig.add_subfigure(grid[first + k // ncols, k % ncols])
        sub.set_facecolor(color(scheme_of(part.scheme).background))
        _draw_graph(sub, part, scheme_of(part.scheme), width)
    _titles(fig, graph.titles.title, graph.titles.subtitle, graph.titles.note,
            graph.titles.caption)


def _draw_graph(fig: Any, graph: Graph, scheme: Scheme, width_in: float | None = None) -> None:
    left = min(0.3, 0.75 / (width_in or fig.get_size_inches()[0]))
    n = len(graph.panels)
    nrows, ncols = _grid_shape(n, graph.cols) if n > 1 else (1, 1)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=n > 1, sharey=n > 1)
    drawn: list[list[Any]] = []
    for k, panel in enumerate(graph.panels):
        ax = axes[k // ncols][k % ncols]
        drawn.append(_draw_panel(ax, panel, scheme, labels=n == 1))
    # By-panels share their axes: scales, ticks and limits are set once, after every panel's data
    # are in (setting them panel by panel costs n^2 and fixes the limits at the first panel's data).
    for which, axis in (("x", graph.panels[0].xaxis), ("y", graph.panels[0].yaxis)):
        _axis_scale(axes[0][0], which, axis)
    for k in range(n, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
        if k >= ncols:
            axes[k // ncols - 1][k % ncols].xaxis.set_tick_params(labelbottom=True)
    if n > 1:
        first = graph.panels[0]
        if first.xaxis.title:
            fig.supxlabel(first.xaxis.title, fontsize=9)
        if first.yaxis.title:
            fig.supylabel(first.yaxis.title, fontsize=9)
    if graph.legend.shown and drawn:
        _legend(fig, graph, scheme, drawn[0], left)
    else:
        fig.subplots_adjust(left=left, right=0.97, bottom=0.14 if n == 1 else 0.11,
                            top=0.86 if graph.titles.title else 0.95)
    _titles(fig, graph.titles.title, graph.titles.subtitle, graph.titles.note,
            graph.titles.caption)


def _titles(fig: Any, title: str, subtitle: str, note: str, caption: str) -> None:
    if title:
        fig.suptitle(title + ("\n" if subtitle else ""), fontsize=12)
    if subtitle:
        fig.text(0.5, 0.93, subtitle, ha="center", va="top", fontsize=10)
    if note:
        fig.text(0.01, 0.01, note, ha="left", va="bottom", fontsize=7)
    if caption:
        fig.text(0.01, 0.035 if note else 0.01, caption, ha="left", va="bottom", fontsize=8)


def _legend(fig: Any, graph: Graph, scheme: Scheme, handles: list[Any], left: float) -> None:
    keys = [(handles[i - 1], text) for i, text in graph.legend.keys if 0 < i <= len(handles)]
    position = graph.legend.position or scheme.legend_position
    cols = graph.legend.cols or (1 if position in (2, 3, 4, 8, 9, 10) else scheme.legend_cols)
    if graph.legend.rows:
        cols = math.ceil(len(keys) / graph.legend.rows)
    right = 0.78 if position in (1, 2, 3, 4, 5) else 0.97
    bottom = 0.22 if position in (6, 7) else 0.11
    places = {3: ("center left", (right + 0.01, 0.5)), 2: ("upper left", (right + 0.01, 0.9)),
              4: ("lower left", (right + 0.01, 0.1)), 1: ("upper left", (right + 0.01, 0.97)),
              5: ("lower left", (right + 0.01, 0.02)), 6: ("lower center", (0.5, 0.01)),
              7: ("lower left", (0.01, 0.01)), 12: ("upper center", (0.5, 0.99)),
              11: ("upper left", (0.01, 0.99))}
    loc, anchor = places.get(position, places[6])
    fig.legend([h for h, _ in keys], [t for _, t in keys], loc=loc, bbox_to_anchor=anchor,
               ncol=max(1, cols), fontsize=8, frameon=scheme.name != "stcolor",
               edgecolor=color("gs12"))
    fig.subplots_adjust(left=left, right=right, bottom=bottom,
                        top=0.86 if graph.titles.title else 0.95)


def _axis_formatter(axis: Axis) -> FuncFormatter:
    fmt = axis.format or "%9.0g"
    return FuncFormatter(lambda v, _pos: fmt_num(float(v), fmt).strip())


def _draw_panel(ax: Any, panel: Panel, scheme: Scheme, *, labels: bool) -> list[Any]:
    ax.set_facecolor(color(scheme.plotregion))
    handles, k = [], 0
    for plot in panel.plots:
        handles.append(_draw_plot(ax, plot, _Look(scheme, k, plot.style), scheme))
        k += not (isinstance(plot, Range) and plot.kind == "rarea")
    for v in panel.xlines:
        ax.axvline(v, color=color(scheme.refline), linewidth=0.8)
    for v in panel.ylines:
        ax.axhline(v, color=color(scheme.refline), linewidth=0.8)
    for which, axis in (("x", panel.xaxis), ("y", panel.yaxis)):
        _axis_look(ax, which, axis, scheme)
        if labels:
            (ax.set_xlabel if which == "x" else ax.set_ylabel)(axis.title, fontsize=9)
    if panel.title:        # a by-group's title: a band across the top of its plot region
        ax.add_patch(Rectangle((0, 1.01), 1, 0.08, transform=ax.transAxes, clip_on=False,
                               facecolor=color("gs14"), edgecolor="none"))
        ax.text(0.5, 1.05, panel.title, transform=ax.transAxes, ha="center", va="center",
                fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    return handles


def _axis_scale(ax: Any, which: str, axis: Axis) -> None:
    """Scale, ticks and limits: what axes shared between by-panels have in common."""
    set_scale = ax.set_xscale if which == "x" else ax.set_yscale
    target = ax.xaxis if which == "x" else ax.yaxis
    if axis.log:
        set_scale("log")
    if axis.ticks is not None:
        target.set_ticks(list(axis.ticks))
        if axis.tick_labels is not None:
            target.set_ticklabels(list(axis.tick_labels))
        else:
            target.set_major_formatter(_axis_formatter(axis))
    elif not axis.log:
        target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        target.set_major_formatter(_axis_formatter(axis))
    lo, hi = (ax.get_xlim() if which == "x" else ax.get_ylim())
    if axis.lower is not None:
        lo = min(lo, axis.lower)
    if axis.upper is not None:
        hi = max(hi, axis.upper)
    (ax.set_xlim if which == "x" else ax.set_ylim)(lo, hi)
    if axis.reverse:
        (ax.invert_xaxis if which == "x" else ax.invert_yaxis)()


def _axis_look(ax: Any, which: str, axis: Axis, scheme: Scheme) -> None:
    """Grid lines and tick-label angle: each panel's own."""
    default = scheme.xgrid if which == "x" else scheme.ygrid
    if axis.grid if axis.grid is not None else default:
        ax.grid(True, axis=which, color=color(scheme.grid), linewidth=0.6,
                linestyle=(0, (3, 2)) if scheme.grid_dashed else "-")
        ax.set_axisbelow(True)
    angle = axis.angle if axis.angle is not None else (scheme.ylabel_angle if which == "y" else 0)
    ax.tick_params(axis=which, labelrotation=angle)


def _draw_plot(ax: Any, plot: Any, look: _Look, scheme: Scheme) -> Any:
    if isinstance(plot, Points):
        return _draw_points(ax, plot, look)
    if isinstance(plot, Range):
        return _draw_range(ax, plot, look, scheme)
    if isinstance(plot, Bars):
        return _draw_bars(ax, plot, look, scheme)
    if isinstance(plot, Boxes):
        return _draw_boxes(ax, plot, look, scheme)
    raise TypeError(f"cannot draw {type(plot).__name__}")


def _draw_points(ax: Any, plot: Points, look: _Look) -> Any:
    kind = plot.kind
    marker = look.marker if kind in ("scatter", "connected") else ""
    line = look.linestyle if kind in ("line", "connected", "area") else "None"
    face = look.mcolor if look.filled else "none"
    if kind == "area":
        ax.fill_between(plot.x, plot.y, 0, color=look.fcolor, alpha=0.9 * look.fcolor[3],
                        linewidth=0)
    (handle,) = ax.plot(plot.x, plot.y, linestyle=line, linewidth=look.lwidth, color=look.lcolor,
                        marker=marker or "None", markersize=look.msize, markerfacecolor=face,
                        markeredgecolor=look.mcolor, markeredgewidth=0.6)
    if plot.mlabels is not None:
        for x, y, text in zip(plot.x, plot.y, plot.mlabels):
            ax.annotate(text, (x, y), xytext=(3, 0), textcoords="offset points", fontsize=6,
                        va="center", color=look.mcolor)
    if kind == "area":
        return Patch(facecolor=look.fcolor, edgecolor=look.lcolor)
    return handle


def _draw_range(ax: Any, plot: Range, look: _Look, scheme: Scheme) -> Any:
    if plot.kind == "rarea":
        fill = look.fcolor if plot.style.fcolor or plot.style.color else color(scheme.ci_area)
        ax.fill_between(plot.x, plot.y1, plot.y2, color=fill, linewidth=0)
        return Patch(facecolor=fill)
    handle = ax.vlines(plot.x, plot.y1, plot.y2, colors=[look.lcolor], linewidths=look.lwidth,
                       linestyles=look.linestyle)
    if plot.kind == "rcap":
        for y in (plot.y1, plot.y2):
            ax.plot(plot.x, y, linestyle="None", marker="_", markersize=5, color=look.lcolor,
                    markeredgewidth=look.lwidth)
    return Line2D([], [], color=look.lcolor, linewidth=look.lwidth)


def _draw_bars(ax: Any, plot: Bars, look: _Look, scheme: Scheme) -> Any:
    fill, edge = look.fcolor, look.lcolor
    if plot.histogram and not (plot.style.color or plot.style.fcolor):
        fill = color(scheme.histogram_fill)
    if plot.histogram and not (plot.style.color or plot.style.lcolor):
        edge = color(scheme.histogram_line)
    ax.bar(plot.x, plot.height, width=plot.width, color=fill, edgecolor=edge,
           linewidth=look.lwidth if plot.style.lwidth else 0.5, linestyle=look.linestyle)
    return Patch(facecolor=fill, edgecolor=edge)


def _draw_boxes(ax: Any, plot: Boxes, look: _Look, scheme: Scheme) -> Any:
    fill = look.fcolor if (plot.style.color or plot.style.fcolor or not scheme.box_fill) else \
        color(scheme.box_fill)
    half, cap = 0.3, 0.67 * 0.3     # Stata's adjacent lines: 67% of the box width
    line = look.lcolor if (plot.style.lcolor or plot.style.color) else fill
    for box in plot.boxes:
        p = box.position
        ax.bar(p, box.upper_quartile - box.lower_quartile, width=2 * half,
               bottom=box.lower_quartile, color=fill, edgecolor=line, linewidth=0.5)
        ax.plot([p - half, p + half], [box.median] * 2, color="white", linewidth=1.2)
        ax.vlines([p, p], [box.upper_quartile, box.lower_adjacent],
                  [box.upper_adjacent, box.lower_quartile], colors=[line], linewidth=0.8)
        for end in (box.upper_adjacent, box.lower_adjacent):
            ax.plot([p - cap, p + cap], [end, end], color=line, linewidth=0.8)
        if len(box.outside):
            ax.plot(np.full(len(box.outside), p), box.outside, linestyle="None", marker="o",
                    markersize=3.5, markerfacecolor="none", markeredgecolor=fill)
    return Patch(facecolor=fill)


def export(graph: AnyGraph, path: str | IO[bytes], fmt: str, *, width: int | None = None,
           height: int | None = None) -> None:
    """Write the graph to ``path`` (a file name or a binary file) as png, svg or pdf; width/height
    in pixels (png, svg)."""
    scheme = scheme_of(graph.scheme)
    w_in = graph.xsize or scheme.size[0]
    h_in = graph.ysize or scheme.size[1]
    dpi = PNG_DPI if fmt == "png" else 96
    if width and height:
        w_in, h_in = width / dpi, height / dpi
    elif width:
        w_in, h_in = width / dpi, h_in * width / dpi / w_in
    elif height:
        w_in, h_in = w_in * height / dpi / h_in, height / dpi
    fig = figure(graph, width_in=w_in, height_in=h_in)
    fig.savefig(path, format=fmt, dpi=dpi, facecolor=fig.get_facecolor())
