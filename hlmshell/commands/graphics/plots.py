"""twoway plot types: each declares its syntax once and builds its plots from the data.

A plot type's declaration is its variables and its own options, the look options that apply to it,
and the twoway options (Stata lets those be typed inside any plot).  ``build`` turns one plot's
parsed arguments and the rows of a panel into plot descriptions with their legend text; the fitted
curves come from :mod:`hlmshell.model.curvefit` (``regress``'s OLS) and their bands from
:mod:`hlmshell.inference.bands`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from hlmshell.commands.graphics.options import TWOWAY_OPTIONS
from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Pattern, Table
from hlmshell.lang.declaration import Args, Declaration, parse_declaration
from hlmshell.lang.numfmt import fmt_num
from hlmshell.render.graph.colors import parse_color
from hlmshell.render.graph.styles import STYLE_CLASSES, known_style
from hlmshell.results.graph import Plot, Points, Range, Style, frozen_array
from hlmshell.shell.session import Session

COMMON = "COLor(string) PSTyle(string)"
MARKER = "MSymbol(string) MColor(string) MSIZe(string) MLabel(varname)"
LINE = "LColor(string) LWidth(string) LPattern(string)"
CONNECT = "Connect(string) SORT(varlist optional)"
AREA = "FColor(string)"
FIT = "RANge(numlist) N(integer 3) ATObs"
CONNECT_STYLES = {"l": "l", "direct": "l", "L": "L", "ascending": "L", "i": "i", "none": "i"}


@dataclass
class Context:
    """What building a panel's plots needs: the session, notes to print, the x range of the
    other plots (the default range of ``function``)."""

    session: Session
    notes: list[str] = field(default_factory=list)
    xrange: tuple[float, float] | None = None

    def values(self, name: str) -> np.ndarray:
        if self.session.is_string(name):
            raise StataError(f"string variables not allowed in varlist;\n{name} is a string "
                             "variable", 109)
        return self.session.data[name].to_numpy(dtype=float, na_value=np.nan)

    def label(self, name: str) -> str:
        return self.session.var_labels.get(name) or name


@dataclass
class Built:
    """One plot command's plots, their legend texts and what the axis titles default to."""

    plots: list[Plot]
    keys: list[str]
    ynames: list[str]
    ytitle: str
    xtitle: str


@dataclass(frozen=True)
class PlotType:
    name: str
    declaration: Declaration
    build: Callable[[Context, Args, np.ndarray], Built]
    options: str                    # its own and the look options (for ``help scatter``)
    is_function: bool = False


def _decl(head: str, options: str) -> Declaration:
    return parse_declaration(f"{head} [, {options} {TWOWAY_OPTIONS}]")


def style(ctx: Context, args: Args) -> Style:
    """The look options given, each checked: an unknown colour or style gets Stata's note and the
    default look (as Stata does)."""
    values: dict[str, Any] = {}
    for name in ("color", "mcolor", "lcolor", "fcolor"):
        value = args.options.get(name)
        if value is not None:
            if parse_color(value) is None:
                ctx.notes.append(f"(note:  named style {value} not found in class color, "
                                 "default attributes used)")
            else:
                values[name] = value
    for name in ("msymbol", "msize", "lwidth", "lpattern"):
        value = args.options.get(name)
        if value is not None:
            if known_style(name, value):
                values[name] = value
            else:
                ctx.notes.append(f"(note:  named style {value} not found in class "
                                 f"{STYLE_CLASSES[name][0]}, default attributes used)")
    pstyle = args.options.get("pstyle")
    if pstyle is not None:
        if not (pstyle.startswith("p") and pstyle[1:].isdigit() and 1 <= int(pstyle[1:]) <= 15):
            raise StataError(f"pstyle({pstyle}) invalid", 198)
        values["pstyle"] = int(pstyle[1:])
    return Style(**values)


def _order(ctx: Context, args: Args, mask: np.ndarray, x: str) -> np.ndarray:
    """Row positions in drawing order: data order, or sorted by x (``sort``) or by ``sort(vars)``."""
    rows = np.flatnonzero(mask)
    by = args.options.get("sort")
    if by is None:
        return rows
    keys = [x] if by == "" else list(by)
    frame = ctx.session.data.iloc[rows][keys]
    return rows[frame.reset_index(drop=True).sort_values(keys, kind="mergesort").index.to_numpy()]


def _connect(args: Args, count: int, default: str) -> list[str]:
    words = (args.options.get("connect") or "").split()
    out = []
    for k in range(count):
        word = words[min(k, len(words) - 1)] if words else "."
        if word == ".":
            word = default
        if word not in CONNECT_STYLES:
            raise StataError(f"connect({word}) invalid", 198)
        out.append(CONNECT_STYLES[word])
    return out


def _ascending_breaks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``connect(L)``: a NaN wherever x decreases, so the line starts again there ([G-4]
    connectstyle: "direct, but only if x[j+1] >= x[j]"; a tie stays connected)."""
    if len(x) < 2:
        return x, y
    cut = np.flatnonzero(np.diff(x) < 0) + 1
    return np.insert(x, cut, np.nan), np.insert(y, cut, np.nan)


def _mlabels(ctx: Context, name: str | None, rows: np.ndarray) -> tuple[str, ...] | None:
    if name is None:
        return None
    column = ctx.session.data[name].iloc[rows]
    if ctx.session.is_string(name):
        return tuple(str(v) for v in column)
    return tuple(fmt_num(float(v), "%9.0g").strip() for v in column)


def _xy(ctx: Context, args: Args, rows: np.ndarray, kind: str) -> Built:
    *ys, xname = args.varlist
    x = ctx.values(xname)
    look = style(ctx, args)
    connects = _connect(args, len(ys), "i" if kind == "scatter" else "l")
    plots: list[Plot] = []
    for yname, connect in zip(ys, connects):
        y = ctx.values(yname)
        mask = rows & ~np.isnan(x) & ~np.isnan(y)
        order = _order(ctx, args, mask, xname)
        px, py = x[order], y[order]
        shown = kind
        if kind == "scatter" and connect != "i":
            shown = "connected"
        elif kind in ("line", "connected") and connect == "i":
            shown = "scatter" if kind == "connected" else "line"
        if connect == "L" and shown != "scatter":
            px, py = _ascending_breaks(px, py)
        labels = _mlabels(ctx, args.options.get("mlabel"), order)
        plots.append(Points(shown, frozen_array(px), frozen_array(py), ctx.label(yname), look,
                            labels))
    return Built(plots, [ctx.label(y) for y in ys], list(ys),
                 ctx.label(ys[0]) if len(ys) == 1 else "", ctx.label(xname))


def _range_option(args: Args) -> tuple[float, float] | None:
    if args.range is None:
        return None
    if len(args.range) != 2:
        raise StataError("option range() incorrectly specified", 198)
    return float(args.range[0]), float(args.range[1])


def _fit_points(ctx: Context, args: Args, x: np.ndarray) -> np.ndarray:
    if args.atobs:
        return np.unique(x)
    lo, hi = _range_option(args) or (None, None)
    if args.n < 1:
        raise StataError("option n() incorrectly specified", 198)
    from hlmshell.model.curvefit import evaluation_points

    return evaluation_points(x, args.n, lo, hi)


def _fit(ctx: Context, args: Args, rows: np.ndarray, degree: int, band: bool) -> Built:
    from hlmshell.model.curvefit import polynomial_fit

    yname, xname = args.varlist
    x, y = ctx.values(xname), ctx.values(yname)
    mask = rows & ~np.isnan(x) & ~np.isnan(y)
    look = style(ctx, args)
    plots: list[Plot] = []
    keys: list[str] = []
    if mask.any():
        fit = polynomial_fit(x[mask], y[mask], degree, _fit_points(ctx, args, x[mask]))
        at = frozen_array(fit.at)
        if band:
            from hlmshell.inference.bands import confidence_band

            se = "stdp" if not (args.stdf or args.stdr) else ("stdf" if args.stdf else "stdr")
            lower, upper = confidence_band(fit.yhat, fit.se(se), args.level, fit.fit.df_r)
            plots.append(Range("rarea", at, frozen_array(lower), frozen_array(upper),
                               f"{args.level:g}% CI", Style(fcolor=look.fcolor, color=look.color)))
            keys.append(f"{args.level:g}% CI")
        if not (band and not args.fit):
            plots.append(Points("line", at, frozen_array(fit.yhat), "Fitted values", look))
            keys.append("Fitted values")
    else:
        ctx.notes.append("(note:  regress could not fit model)")
    return Built(plots, keys, [yname], ctx.label(yname), ctx.label(xname))


def _lfitci(ctx: Context, args: Args, rows: np.ndarray) -> Built:
    if sum(bool(args.options.get(k)) for k in ("stdp", "stdf", "stdr")) > 1:
        chosen = " ".join(k for k in ("stdp", "stdf", "stdr") if args.options.get(k))
        raise StataError(f"may not combine {chosen}", 198)
    return _fit(ctx, args, rows, 1, True)


def _range(ctx: Context, args: Args, rows: np.ndarray, kind: str) -> Built:
    y1name, y2name, xname = args.varlist
    x, y1, y2 = ctx.values(xname), ctx.values(y1name), ctx.values(y2name)
    mask = rows & ~np.isnan(x) & ~np.isnan(y1) & ~np.isnan(y2)
    order = _order(ctx, args, mask, xname) if kind == "rarea" else np.flatnonzero(mask)
    if kind == "rarea" and args.options.get("sort") is None:
        order = order[np.argsort(x[order], kind="mergesort")]
    plot = Range(kind, frozen_array(x[order]), frozen_array(y1[order]), frozen_array(y2[order]),
                 ctx.label(y1name), style(ctx, args))
    return Built([plot], [ctx.label(y1name)], [y1name, y2name], "", ctx.label(xname))


def _function(ctx: Context, args: Args, rows: np.ndarray) -> Built:
    from hlmshell.lang.expr import evaluate

    name, text = (args.anything.strip() or "y", args.exp) if args.exp else ("y", args.anything)
    lo, hi = _range_option(args) or ctx.xrange or (0.0, 1.0)
    if args.n < 2:
        raise StataError("option n() incorrectly specified", 198)
    x = lo + np.arange(args.n) * (hi - lo) / (args.n - 1)
    scratch = _scratch_session(ctx.session, x)
    value = evaluate(scratch, text)
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.dtype == object):
        raise StataError("type mismatch", 109)
    y = np.broadcast_to(np.asarray(value, dtype=float), x.shape)
    plot = Points("line", frozen_array(x), frozen_array(y), name, style(ctx, args))
    return Built([plot], [name], [name], name, "x")


def _scratch_session(session: Session, x: np.ndarray) -> Session:
    """A session whose data are ``x`` alone, with the stored results and scalars of ``session``
    (``function y = _b[ses]*x`` reads e(b))."""
    import pandas as pd

    scratch = Session(pd.DataFrame({"x": x}), out=session.out, registry=session.registry)
    scratch.e, scratch.r = session.e, session.r
    scratch.scalars, scratch.matrices = session.scalars, session.matrices
    return scratch


def _types() -> Table[PlotType]:
    table: Table[PlotType] = Table()
    specs = [
        ("SCatter", "varlist(min=2 numeric)", f"{MARKER} {LINE} {CONNECT} {COMMON}",
         lambda c, a, r: _xy(c, a, r, "scatter")),
        ("LINe", "varlist(min=2 numeric)", f"{LINE} {CONNECT} {COMMON}",
         lambda c, a, r: _xy(c, a, r, "line")),
        ("CONnected", "varlist(min=2 numeric)", f"{MARKER} {LINE} {CONNECT} {COMMON}",
         lambda c, a, r: _xy(c, a, r, "connected")),
        ("AREA", "varlist(min=2 max=2 numeric)", f"{LINE} {AREA} SORT(varlist optional) {COMMON}",
         lambda c, a, r: _xy(c, a, r, "area")),
        ("LFIT", "varlist(min=2 max=2 numeric)", f"{FIT} {LINE} {COMMON}",
         lambda c, a, r: _fit(c, a, r, 1, False)),
        ("QFIT", "varlist(min=2 max=2 numeric)", f"{FIT.replace('N(integer 3)', 'N(integer 100)')}"
         f" {LINE} {COMMON}", lambda c, a, r: _fit(c, a, r, 2, False)),
        ("LFITCI", "varlist(min=2 max=2 numeric)",
         f"{FIT.replace('N(integer 3)', 'N(integer 100)')} Level(cilevel) STDP STDF STDR noFIT "
         f"{LINE} {AREA} {COMMON}", _lfitci),
        ("RAREA", "varlist(min=3 max=3 numeric)", f"{LINE} {AREA} SORT(varlist optional) {COMMON}",
         lambda c, a, r: _range(c, a, r, "rarea")),
        ("RCAP", "varlist(min=3 max=3 numeric)", f"{LINE} {COMMON}",
         lambda c, a, r: _range(c, a, r, "rcap")),
        ("RSPike", "varlist(min=3 max=3 numeric)", f"{LINE} {COMMON}",
         lambda c, a, r: _range(c, a, r, "rspike")),
    ]
    for name, head, options, build in specs:
        pattern = Pattern.parse(name)
        table.add(pattern, PlotType(pattern.name, _decl(f"{head} [if] [in]", options), build,
                                    options))
    pattern = Pattern.parse("FUNCtion")
    options = f"RANge(numlist) N(integer 300) {LINE} {COMMON}"
    table.add(pattern, PlotType(pattern.name, _decl("anything [=exp]", options), _function,
                                options, is_function=True))
    return table


PLOT_TYPES = _types()


def plot_type(word: str) -> PlotType:
    found = PLOT_TYPES.get(word)
    if found is None:
        raise StataError(f"{word} is not a twoway plot type", 198)
    return found
