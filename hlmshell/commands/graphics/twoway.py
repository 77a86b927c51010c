"""``twoway`` (and ``graph twoway``, ``scatter``, ``line``): overlaid plots of y against x.

    twoway (scatter mathach ses) (lfit mathach ses), title("HSB")
    twoway scatter mathach ses || lfit mathach ses
    twoway line fitted ses, sort(id ses) connect(L)

Plots are given in parentheses or separated by ``||``; each is a plot type (``plots.PLOT_TYPES``)
with its variables, ``if``/``in`` and options; options after the last plot, or twoway options inside
any plot, apply to the whole graph (the rightmost wins); a global ``if``/``in`` after the plots
applies to every plot.
"""

from __future__ import annotations

import numpy as np

from hlmshell.commands.graphics.assemble import finish
from hlmshell.commands.graphics.options import TWOWAY_OPTIONS, GraphOptions, split_plots
from hlmshell.commands.graphics.plots import PLOT_TYPES, Built, Context, plot_type
from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args, parse_declaration
from hlmshell.lang.expr import row_mask
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_GLOBAL = parse_declaration(f"[if] [in] [, {TWOWAY_OPTIONS}]")
_RAW = f"anything(raw id=plots) [, {TWOWAY_OPTIONS}]"


def _shorthand(name: str) -> str:
    """``scatter``'s and ``line``'s declaration (for help and completion): the plot type's options."""
    return f"anything(raw id=varlist) [, {PLOT_TYPES.get(name).options} {TWOWAY_OPTIONS}]"


def run_twoway(session: Session, text: str, cmdline: str) -> list[Text]:
    plots_text, tail = split_plots(text)
    if not plots_text:
        raise StataError("graph specification required", 198)
    variables = session.variables
    opts = GraphOptions()
    parsed: list[tuple[object, Args]] = []
    for plot_text in plots_text:
        word, _, rest = plot_text.partition(" ")
        kind = plot_type(word.split(",")[0])
        if "," in word:
            rest = word[word.index(","):] + " " + rest
        args = kind.declaration.parse(rest, variables)
        opts.merge(args)
        parsed.append((kind, args))
    tail_args = _GLOBAL.parse(tail, variables)
    opts.merge(tail_args)
    everywhere = row_mask(session, tail_args.if_, tail_args.in_)
    masks = [row_mask(session, args.if_, args.in_) & everywhere for _, args in parsed]

    def build(ctx: Context, rows: np.ndarray) -> list[Built]:
        built: list[Built | None] = [None] * len(parsed)
        for k, (kind, args) in enumerate(parsed):
            if not kind.is_function:  # type: ignore[attr-defined]
                built[k] = kind.build(ctx, args, rows & masks[k])  # type: ignore[attr-defined]
        xs = [p.x for b in built if b is not None for p in b.plots if len(getattr(p, "x", ()))]
        finite = [v[np.isfinite(v)] for v in xs]
        ctx.xrange = (min(float(v.min()) for v in finite if len(v)),
                      max(float(v.max()) for v in finite if len(v))) if any(
            len(v) for v in finite) else None
        for k, (kind, args) in enumerate(parsed):
            if kind.is_function:  # type: ignore[attr-defined]
                built[k] = kind.build(ctx, args, rows & masks[k])  # type: ignore[attr-defined]
        return [b for b in built if b is not None]

    return finish(session, build, opts, everywhere, command=cmdline)


@command("TWoway", _RAW)
def twoway(session: Session, args: Args) -> list[Text]:
    """Twoway graphs: scatter, line, connected, area, lfit, qfit, lfitci, rarea, rcap, rspike, function."""
    return run_twoway(session, args.anything, f"twoway {args.anything}")


@command("GRaph TWoway", _RAW)
def graph_twoway(session: Session, args: Args) -> list[Text]:
    """Twoway graphs (as twoway)."""
    return run_twoway(session, args.anything, f"graph twoway {args.anything}")


@command("SCatter", _shorthand("scatter"))
def scatter(session: Session, args: Args) -> list[Text]:
    """Scatterplots (twoway scatter)."""
    return run_twoway(session, f"scatter {args.anything}", f"scatter {args.anything}")


@command("LINe", _shorthand("line"))
def line(session: Session, args: Args) -> list[Text]:
    """Line plots (twoway line)."""
    return run_twoway(session, f"line {args.anything}", f"line {args.anything}")
