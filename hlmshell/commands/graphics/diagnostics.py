"""``qnorm``, ``pnorm`` and ``serrbar``: normal-probability plots and error bars (Stata's ado files).

- ``qnorm x``: the sorted values against mean + sd·Φ⁻¹(i/(N+1)), with the line y = x.
- ``pnorm x``: Φ((x − mean)/sd) against i/(N+1), with the line y = x; axes labelled 0(.25)1.
- ``serrbar mean se x [, scale(#)]``: capped spikes from mean − scale·se to mean + scale·se at x,
  with the means as markers (the caterpillar plot of BLUPs after ``predict, reffects`` / ``reses``).
"""

from __future__ import annotations

import numpy as np

from hlmshell.commands.graphics.assemble import finish
from hlmshell.commands.graphics.options import TWOWAY_OPTIONS, GraphOptions
from hlmshell.commands.graphics.plots import COMMON, LINE, MARKER, Built, Context, style
from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.results.shell import Text
from hlmshell.results.graph import Axis, Points, Range, Style, frozen_array
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_MARKERS = f"{MARKER} {COMMON}"


def _numeric(session: Session, name: str) -> np.ndarray:
    if session.is_string(name):
        raise StataError(f"string variables not allowed in varlist;\n{name} is a string variable",
                         109)
    return session.data[name].to_numpy(dtype=float, na_value=np.nan)


def _reference(x: np.ndarray) -> Points:
    """The line y = x over the range of ``x`` (two points, as ``function y=x, n(2)``)."""
    ends = frozen_array([np.min(x), np.max(x)])
    return Points("line", ends, ends, "Reference", Style(refline=True))


def _probability_plot(session: Session, args: Args, kind: str) -> list[Text]:
    from hlmshell.inference.probplot import normal_probabilities, normal_quantiles

    name = args.varname
    x = _numeric(session, name)
    rows = row_mask(session, args.if_, args.in_) & ~np.isnan(x)
    if not rows.any():
        raise StataError("no observations", 2000)
    opts = GraphOptions()
    opts.merge(args)
    label = session.var_labels.get(name) or name

    def build(ctx: Context, panel_rows: np.ndarray) -> list[Built]:
        v = np.sort(x[panel_rows])
        if kind == "qnorm":
            px, py = normal_quantiles(v), v
            ytitle, xtitle = label, "Inverse Normal"
        else:
            py, px = normal_probabilities(v)
            ytitle, xtitle = f"Normal F[({name}-m)/s]", "Empirical P[i] = i/(N+1)"
        points = Points("scatter", frozen_array(px), frozen_array(py), ytitle, style(ctx, args))
        return [Built([points, _reference(px)], [ytitle, "Reference"], [name], ytitle, xtitle)]

    ticks = tuple(np.arange(5) * 0.25) if kind == "pnorm" else None
    axis = Axis(grid=False, ticks=ticks, format="%9.2f" if kind == "pnorm" else None)
    return finish(session, build, opts, rows, command=f"{kind} {args.text.strip()}", xaxis=axis,
                  yaxis=axis, legend=False)


@command("QNORm", f"varname [if] [in] [, {_MARKERS} {TWOWAY_OPTIONS}]")
def qnorm(session: Session, args: Args) -> list[Text]:
    """Quantiles of a variable against quantiles of the normal distribution."""
    return _probability_plot(session, args, "qnorm")


@command("PNORm", f"varname [if] [in] [, {_MARKERS} {TWOWAY_OPTIONS}]")
def pnorm(session: Session, args: Args) -> list[Text]:
    """Standardized normal probability plot."""
    return _probability_plot(session, args, "pnorm")


@command("SERRbar", f"varlist(min=3 max=3) [if] [in] [, SCale(real 1) {LINE} {COMMON} "
         f"{TWOWAY_OPTIONS}]")
def serrbar(session: Session, args: Args) -> list[Text]:
    """Standard-error bars: mean ± scale × se against x."""
    mean_name, se_name, x_name = args.varlist
    mean, se, x = (_numeric(session, v) for v in args.varlist)
    rows = row_mask(session, args.if_, args.in_)
    opts = GraphOptions()
    opts.merge(args)
    label = session.var_labels.get(mean_name) or mean_name
    xlabel = session.var_labels.get(x_name) or x_name

    def build(ctx: Context, panel_rows: np.ndarray) -> list[Built]:
        from hlmshell.inference.bands import scaled_interval

        use = panel_rows & ~np.isnan(mean) & ~np.isnan(se) & ~np.isnan(x)
        lower, upper = scaled_interval(mean[use], se[use], args.scale)
        caps = Range("rcap", frozen_array(x[use]), frozen_array(lower), frozen_array(upper), "Bottom",
                     style(ctx, args))
        markers = Points("scatter", frozen_array(x[use]), frozen_array(mean[use]), label,
                         Style(pstyle=1))
        return [Built([caps, markers], ["Bottom", label], [mean_name], label, xlabel)]

    return finish(session, build, opts, rows & ~np.isnan(mean), command=f"serrbar {args.text.strip()}",
                  legend=False)
