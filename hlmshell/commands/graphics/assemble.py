"""From plots to a graph kept in memory: by() panels, axis titles, legend, titles, scheme, name().

Every graph command ends here: it says how to build its plots for a set of rows, and
:func:`finish` builds one panel (or one per ``by()`` group, plus ``total``), applies the twoway
options, stores the graph under its name and shows it (:mod:`hlmshell.commands.graphics.store`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from hlmshell.commands.graphics.options import GraphOptions, by_option, saving_option
from hlmshell.commands.graphics.plots import Built, Context
from hlmshell.commands.graphics.store import check_name, keep
from hlmshell.errors import StataError
from hlmshell.lang.numfmt import fmt_num
from hlmshell.results.shell import Text
from hlmshell.render.graph.schemes import SCHEMES
from hlmshell.results.graph import Axis, Graph, Panel, Titles
from hlmshell.shell.session import Session

BuildPanel = Callable[[Context, np.ndarray], list[Built]]


def scheme_name(session: Session, opts: GraphOptions) -> str:
    name = opts.given.get("scheme") or session.graph_scheme
    if name not in SCHEMES:
        raise StataError(f"scheme {name} not found", 111)
    return name


def _panel(ctx: Context, built: list[Built], opts: GraphOptions, xaxis: Axis, yaxis: Axis,
           title: str) -> Panel:
    plots = tuple(p for b in built for p in b.plots)
    ynames = {n for b in built for n in b.ynames}
    ytitle = built[0].ytitle if built and len(ynames) == 1 else ""
    xtitle = built[0].xtitle if built else ""
    x = opts.axis("x", replace(xaxis, title=xaxis.title or xtitle))
    y = opts.axis("y", replace(yaxis, title=yaxis.title or ytitle))
    return Panel(plots, x, y, title, opts.lines("x"), opts.lines("y"))


def _group_title(session: Session, names: tuple[str, ...], row: int) -> str:
    parts = []
    for name in names:
        value = session.data[name].iloc[row]
        if isinstance(value, str):
            parts.append(value)
            continue
        label = session.value_label(name, float(value))
        parts.append(label if label is not None else fmt_num(float(value), "%9.0g").strip())
    return ", ".join(parts)


def _has_data(panel: Panel) -> bool:
    return any(len(getattr(p, "x", getattr(p, "boxes", ()))) for p in panel.plots)


def finish(session: Session, build: BuildPanel, opts: GraphOptions, rows: np.ndarray, *,
           command: str, titles: Titles = Titles(), xaxis: Axis = Axis(), yaxis: Axis = Axis(),
           legend: bool | None = None, notes: list[str] | None = None) -> list[Text]:
    """Build, store and show the graph; the notes to print (Stata's, for styles it did not know)."""
    name, replace_ok = opts.name()
    name = check_name(session, name, replace_ok)
    scheme = scheme_name(session, opts)
    ctx = Context(session, notes if notes is not None else [])
    built_panels: list[tuple[list[Built], str]] = []
    cols = None
    by_note = ""
    if "by" in opts.given:
        by = by_option(opts.given["by"], session.variables)
        keys = session.data[list(by.variables)].iloc[np.flatnonzero(rows)]
        if not by.missing:
            keys = keys.dropna()
            keys = keys[~(keys.astype(str) == "").any(axis=1)]
        groups = keys.drop_duplicates().sort_values(list(by.variables), kind="mergesort")
        for index in groups.index:
            built_panels.append((build(ctx, rows & _members(session, by.variables, index)),
                                 _group_title(session, by.variables, index)))
        if by.total:
            built_panels.append((build(ctx, rows), "Total"))
        if not built_panels:
            raise StataError("no observations", 2000)
        by_note = by.note if by.note is not None else "Graphs by " + " and ".join(
            session.var_labels.get(v) or v for v in by.variables)
    else:
        built_panels.append((build(ctx, rows), ""))
    panels = [_panel(ctx, built, opts, xaxis, yaxis, title) for built, title in built_panels]
    if "by" in opts.given:
        # a group that no plot has observations of (a plot's own if) gets no panel, as in Stata
        kept = [k for k, panel in enumerate(panels) if _has_data(panel)] or [0]
        panels = [panels[k] for k in kept]
        built_panels = [built_panels[k] for k in kept]
        cols = by.cols or (None if by.rows is None else -(-len(panels) // by.rows))
    first_built = built_panels[0][0]
    keys = tuple((i + 1, text) for i, text in enumerate(k for b in first_built for k in b.keys))
    show = legend if legend is not None else len(keys) > 1
    graph_titles = opts.titles(replace(titles, note=titles.note or by_note))
    graph = Graph(tuple(panels), graph_titles, opts.legend(keys, show), scheme, cols,
                  opts.given.get("xsize"), opts.given.get("ysize"), command)
    if not any(_has_data(panel) for panel in panels):
        raise StataError("no observations", 2000)
    out = [Text(n) for n in dict.fromkeys(ctx.notes)]
    shown = keep(session, graph, name, draw="draw" not in opts.given)
    if shown is not None:
        out.append(shown)
    if "saving" in opts.given:
        from hlmshell.commands.graphics.manage import save_graph

        out.append(save_graph(session, name, *saving_option(opts.given["saving"])))
    return out


def _members(session: Session, variables: tuple[str, ...], index: int) -> np.ndarray:
    """The observations whose by-variables equal those of observation ``index``."""
    member = np.ones(session.nobs, dtype=bool)
    for var in variables:
        member &= (session.data[var] == session.data[var].iloc[index]).to_numpy()
    return member
