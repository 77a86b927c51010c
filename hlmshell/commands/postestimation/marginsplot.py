"""``marginsplot``: the last margins with their confidence intervals ([R] marginsplot), drawn as the
graphics layer's profile plot (:func:`hlmshell.commands.graphics.profile.profile_graph`).

The x dimension is the first ``at()`` variable that takes several values, else the first of the
other dimensions (``over()``, then the marginlist); every other dimension with several values makes
one line per combination (``sector=0``, or the value label).  The title is Stata's (``Predictive
margins of sector with 95% CIs``), the y title the prediction (``Effects on ...`` for derivatives).
``noci`` leaves out the intervals, ``recast()`` draws the margins as lines, points or connected
points, ``recastci()`` the intervals as areas, capped or plain spikes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hlmshell.commands.graphics.assemble import scheme_name
from hlmshell.commands.graphics.options import (
    TWOWAY_OPTIONS,
    GraphOptions,
)
from hlmshell.commands.graphics.profile import profile_graph
from hlmshell.commands.graphics.store import check_name, keep
from hlmshell.commands.postestimation.margins_spec import level_text
from hlmshell.errors import StataError
from hlmshell.lang.abbrev import match
from hlmshell.lang.declaration import Args
from hlmshell.results.shell import Text
from hlmshell.results.graph import Points, Range
from hlmshell.results.margins import MarginsResult
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

RECAST = ("Line", "Scatter", "Connected")
RECASTCI = ("RARea", "RCAP", "RSPike")
OPTIONS = TWOWAY_OPTIONS.replace("BY(asis) ", "").replace(" SAVing(asis)", "")


def _dimensions(m: MarginsResult) -> tuple[list[str], dict[str, list[float]]]:
    """The dimensions in order (at() variables first) and each margin's value in each."""
    values: dict[str, list[float]] = {}
    varying_at = []
    if m.at_values and any(name == "_at" for p in m.points for name, _ in p.dims):
        names = list(dict.fromkeys(n for row in m.at_values for n, _ in row))
        for name in names:
            column = [dict(row).get(name, np.nan) for row in m.at_values]
            if len(set(column)) > 1:
                varying_at.append(name)
                values[name] = [column[int(dict(p.dims)["_at"]) - 1] for p in m.points]
    others = [n for n in dict.fromkeys(n for p in m.points for n, _ in p.dims) if n != "_at"]
    for name in others:
        values[name] = [dict(p.dims)[name] for p in m.points]
    if len({p.equation for p in m.points}) > 1:
        values["_deriv"] = _deriv_codes(m)
        others.append("_deriv")
    order = varying_at + others
    return [n for n in order if len(set(values[n])) > 1], values


def _deriv_codes(m: MarginsResult) -> list[float]:
    names = list(dict.fromkeys(p.equation for p in m.points))
    return [float(names.index(p.equation)) for p in m.points]


def _text(session: Session, m: MarginsResult, name: str, value: float) -> str:
    if name == "_deriv":
        return list(dict.fromkeys(p.equation for p in m.points))[int(value)]
    return session.value_label(name, value) or f"{name}={level_text(value)}"


@command("MARGINSPlot", f"[, NOCI RECast(string) RECASTCI(string) {OPTIONS}]")
def marginsplot(session: Session, args: Args) -> list[Text]:
    """Graph the results of the last margins: the margins and their confidence intervals."""
    m = session.margins
    if m is None:
        raise StataError("previous command was not margins", 301)
    kind = match(args.recast, RECAST) if args.recast else "connected"
    band = match(args.recastci, RECASTCI) if args.recastci else "rcap"
    if kind is None:
        raise StataError(f"recast({args.recast}) not allowed", 198)
    if band is None:
        raise StataError(f"recastci({args.recastci}) not allowed", 198)
    dims, values = _dimensions(m)
    categorical = False
    if dims:
        xname, lines = dims[0], dims[1:]
        x = np.array(values[xname], dtype=float)
        categorical = xname != "_deriv" and not any(xname == n for row in m.at_values
                                                    for n, _ in row)
    else:                                       # one margin, or several without dimensions
        xname, lines = "", []
        x = np.arange(1.0, len(m.points) + 1)
    est = np.array([p.estimate for p in m.points])
    lower = np.array([p.lower for p in m.points])
    upper = np.array([p.upper for p in m.points])
    groups = None
    if lines:
        groups = [", ".join(_text(session, m, n, values[n][i]) for n in lines)
                  for i in range(len(m.points))]
    order = np.lexsort((x, np.array([g or "" for g in groups] if groups else [""] * len(x))))
    xticks = None
    if xname == "_deriv" or categorical:
        xticks = tuple((v, _text(session, m, xname, v) if xname == "_deriv" else
                        session.value_label(xname, v) or level_text(v))
                       for v in dict.fromkeys(x.tolist()))
    of = _of(m, values)
    title = f"{m.title}{of}" + ("" if args.noci else f" with {m.level:g}% CIs")
    ylabel = f"Effects on {_lower(m.ylabel)}" if m.derivatives else m.ylabel
    xtitle = "" if not xname or xname == "_deriv" else (session.var_labels.get(xname) or xname)
    graph = profile_graph(x[order], est[order], lower[order], upper[order],
                          None if groups is None else [groups[i] for i in order],
                          xtitle=xtitle, ytitle=ylabel, title=title,
                          scheme=session.graph_scheme, xticks=xticks)
    graph = _restyle(graph, kind, band, args.noci)
    opts = GraphOptions()
    opts.merge(args)
    panel = graph.panels[0]
    panel = replace(panel, xaxis=opts.axis("x", panel.xaxis), yaxis=opts.axis("y", panel.yaxis),
                    xlines=opts.lines("x"), ylines=opts.lines("y"))
    graph = replace(graph, panels=(panel,), titles=opts.titles(graph.titles),
                    legend=opts.legend(graph.legend.keys, graph.legend.shown) if "legend" in
                    opts.given else graph.legend, scheme=scheme_name(session, opts),
                    xsize=opts.given.get("xsize"), ysize=opts.given.get("ysize"),
                    command=f"marginsplot {args.text.strip()}".rstrip())
    name, replace_ok = opts.name()
    name = check_name(session, name, replace_ok)
    identify = [n for n in dims if n != "_deriv"]
    out = [Text("\nVariables that uniquely identify margins: " + " ".join(identify))] \
        if identify else []
    shown = keep(session, graph, name, draw="draw" not in opts.given)
    return out if shown is None else [*out, shown]


def _lower(label: str) -> str:
    """``Linear prediction`` → ``linear prediction``; ``Pr(use)`` stays."""
    return label[0].lower() + label[1:] if label[:2].istitle() and label[1:2].islower() else label


def _of(m: MarginsResult, values: dict[str, list[float]]) -> str:
    """`` of sector`` (the marginlist and over() variables; the derivatives' variables)."""
    if m.derivatives:
        names = [e.split(".", 1)[-1] for e in dict.fromkeys(p.equation for p in m.points)]
    else:
        at_names = {n for row in m.at_values for n, _ in row}
        names = [n for n in dict.fromkeys(n for p in m.points for n, _ in p.dims)
                 if n != "_at" and n not in at_names]
    names = list(dict.fromkeys(names))
    return f" of {' '.join(names)}" if names else ""


def _restyle(graph, kind: str, band: str, noci: bool):
    """recast()/recastci()/noci on the profile plot, legend keys following the margins' plots."""
    panel = graph.panels[0]
    plots, keys, index = [], [], {}
    for i, plot in enumerate(panel.plots, start=1):
        if isinstance(plot, Range):
            if noci:
                continue
            plot = replace(plot, kind=band)
        elif isinstance(plot, Points):
            plot = replace(plot, kind=kind)
        plots.append(plot)
        index[i] = len(plots)
    keys = tuple((index[i], text) for i, text in graph.legend.keys if i in index)
    return replace(graph, panels=(replace(panel, plots=tuple(plots)),),
                   legend=replace(graph.legend, keys=keys))
