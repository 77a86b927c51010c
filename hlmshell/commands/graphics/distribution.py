"""``histogram`` and ``kdensity``: the distribution of one variable.

``histogram`` prints Stata's ``(bin=#, start=#, width=#)`` note and draws density bars by default,
with optional normal and kernel-density overlays scaled to the bars' area (``histogram.ado``);
``kdensity`` draws the kernel density estimate at ``n(50)`` points with its kernel and bandwidth
in the note (``kdensity.ado``).  The numbers come from :mod:`hlmshell.model.density`.
"""

from __future__ import annotations

import numpy as np

from hlmshell.commands.graphics.assemble import finish
from hlmshell.commands.graphics.options import TWOWAY_OPTIONS, GraphOptions
from hlmshell.commands.graphics.plots import LINE, Built, Context, style
from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.numfmt import fmt_display
from hlmshell.results.shell import Text
from hlmshell.results.graph import Axis, Bars, Points, Style, Titles, frozen_array
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

HEIGHTS = ("density", "fraction", "frequency", "percent")
KERNEL_NAMES = ("epanechnikov", "epan2", "biweight", "cosine", "gaussian", "parzen", "rectangle",
                "triangle")
_KERNEL_ABBREV = (2, 5, 2, 3, 3, 3, 3, 3)


def _values(session: Session, args: Args) -> tuple[str, np.ndarray, np.ndarray]:
    name = args.varname
    if session.is_string(name):
        raise StataError(f"string variables not allowed in varlist;\n{name} is a string variable",
                         109)
    x = session.data[name].to_numpy(dtype=float, na_value=np.nan)
    rows = row_mask(session, args.if_, args.in_) & ~np.isnan(x)
    if not rows.any():
        raise StataError("no observations", 2000)
    return name, x, rows


def _kernel(args: Args) -> str:
    text = (args.kernel or "epanechnikov").strip()
    for name, shortest in zip(KERNEL_NAMES, _KERNEL_ABBREV):
        if len(text) >= shortest and name.startswith(text):
            return name
    raise StataError("invalid kernel function", 198)


@command("HISTogram", f"varname [if] [in] [, Discrete BIN(integer) Width(real) START(real) "
         f"DENsity FRACtion FREQuency PERCENT NORMal KDENsity {LINE} COLor(string) "
         f"FColor(string) {TWOWAY_OPTIONS}]")
def histogram(session: Session, args: Args) -> list[Text]:
    """Histograms, with optional normal and kernel-density overlays."""
    from hlmshell.model.density import (default_bandwidth, fitted_normal_density, histogram_bins,
                                        kernel_density)

    name, x, rows = _values(session, args)
    if args.discrete and args.bin is not None:
        raise StataError("options discrete and bin() may not be combined", 198)
    if args.bin is not None and args.width is not None:
        raise StataError("options bin() and width() may not be combined", 198)
    kinds = [k for k in HEIGHTS if args.options[k]]
    if len(kinds) > 1:
        raise StataError(f"options {' '.join(kinds)} may not be combined", 198)
    if args.bin is not None and args.bin <= 0 or args.width is not None and args.width <= 0:
        raise StataError(f"option {'bin' if args.bin is not None else 'width'}() incorrectly "
                         "specified", 198)
    kind = kinds[0] if kinds else "density"
    opts = GraphOptions()
    opts.merge(args)
    values = x[rows]
    if args.start is not None and values.min() < args.start and \
            abs(values.min() - args.start) / (abs(args.start) + 1) > 1e-5:
        raise StataError(f"option start() may not be larger than minimum of {name}", 198)
    bins = histogram_bins(values, bins=args.bin, width=args.width, start=args.start,
                          discrete=bool(args.discrete))
    note = (f"(start={fmt_display(bins.start if not args.discrete else float(values.min()))}, "
            f"width={fmt_display(bins.width)})" if args.discrete else
            f"(bin={bins.count}, start={fmt_display(float(values.min()) if args.start is None else args.start)}"
            f", width={fmt_display(bins.width)})")
    ctx_notes: list[str] = []

    def build(ctx: Context, panel_rows: np.ndarray) -> list[Built]:
        v = x[panel_rows]
        if not len(v):
            return [Built([], [], [name], kind.capitalize(), session.var_labels.get(name) or name)]
        own = histogram_bins(v, width=bins.width, start=bins.start if not args.discrete else None,
                             discrete=bool(args.discrete)) if "by" in opts.given else bins
        look = style(ctx, args)
        plots: list = [Bars(frozen_array(own.centres), frozen_array(own.heights(kind)),
                            own.width, name, look, histogram=True)]
        keys = [name]
        grid = bins.start + np.arange(300) * (bins.upper - bins.start) / 299
        if args.kdensity:
            dens = kernel_density(v, grid, default_bandwidth(v))
            plots.append(Points("line", frozen_array(grid), frozen_array(dens * bins.area(kind)),
                                f"kdensity {name}", Style(refline=True, lpattern="solid")))
            keys.append(f"kdensity {name}")
        if args.normal:
            dens = fitted_normal_density(v, grid)
            plots.append(Points("line", frozen_array(grid), frozen_array(dens * bins.area(kind)),
                                f"normal {name}", Style(refline=True, lpattern="solid")))
            keys.append(f"normal {name}")
        return [Built(plots, keys, [name], kind.capitalize(),
                      session.var_labels.get(name) or name)]

    out = [Text(note)] if "by" not in opts.given else []
    return out + finish(session, build, opts, rows, command=f"histogram {args.text.strip()}",
                        yaxis=Axis(lower=0.0), legend=False, notes=ctx_notes)


@command("KDENsity", f"varname [if] [in] [, Kernel(string) BWidth(real) N(integer 50) NORMal "
         f"{LINE} COLor(string) {TWOWAY_OPTIONS}]")
def kdensity(session: Session, args: Args) -> list[Text]:
    """Kernel density estimate (Epanechnikov kernel by default), with an optional normal density."""
    from hlmshell.model.density import (default_bandwidth, density_grid, fitted_normal_density,
                                        kernel_density)

    name, x, rows = _values(session, args)
    kernel = _kernel(args)
    if args.bwidth is not None and args.bwidth <= 0:
        raise StataError("bandwidth must be positive", 198)
    values = x[rows]
    if len(values) < 2:
        raise StataError("insufficient observations", 2001)
    h = args.bwidth if args.bwidth is not None else default_bandwidth(values)
    points = args.n if args.n > 1 else 50
    out: list[Text] = []
    if points > session.nobs:
        points = session.nobs
        out.append(Text(f"(n() set to {points})"))
    grid = density_grid(values, h, points)
    opts = GraphOptions()
    opts.merge(args)
    label = session.var_labels.get(name) or name

    def build(ctx: Context, panel_rows: np.ndarray) -> list[Built]:
        v = x[panel_rows]
        plots: list = [Points("line", frozen_array(grid), frozen_array(kernel_density(v, grid, h,
                                                                                     kernel)),
                              "Kernel density estimate", style(ctx, args))]
        keys = ["Kernel density estimate"]
        if args.normal:
            plots.append(Points("line", frozen_array(grid),
                                frozen_array(fitted_normal_density(values, grid)),
                                "Normal density"))
            keys.append("Normal density")
        return [Built(plots, keys, [name], "Density", label)]

    shown = f"{round(h, 4):.4f}" if round(h, 4) != 0 else f"{h:10.3e}"
    titles = Titles(title="Kernel density estimate", note=f"kernel = {kernel}, bandwidth = {shown}")
    return out + finish(session, build, opts, rows, command=f"kdensity {args.text.strip()}",
                        titles=titles)

