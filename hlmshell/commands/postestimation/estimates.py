"""``estimates``: store, restore, list, compare and drop estimation results by name.

A stored result is an independent copy of the active e() (see :func:`estnames.copy_eresults`); the
active results remember the name in the hidden macro e(_estimates_name), which is what ``estat ic``
shows in its Model column and what ``.`` expands to.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from hlmshell.commands.postestimation.estnames import (
    NAME_MACRO,
    copy_eresults,
    expand_names,
    ic_row,
    lookup,
    rank_of_v,
    scalar,
)
from hlmshell.errors import StataError, syntax_error
from hlmshell.inference.ic import aic, bic
from hlmshell.lang.abbrev import shorten
from hlmshell.lang.declaration import Args
from hlmshell.lang.numfmt import fmt_num
from hlmshell.results.shell import Text
from hlmshell.results.postest import (
    EstimatesDir,
    EstimatesDirRow,
    EstimatesTable,
    EstimatesTableEquation,
    EstimatesTableRow,
    ICTable,
    ReplayHeader,
)
from hlmshell.results.stored import Results, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_FORMAT = re.compile(r"%-?\d+\.\d+[fge]c?$")


# -- store / restore / drop / clear ------------------------------------------------------------
@command("estimates STOre", "anything [, TItle(string)]")
def _store(session: Session, args: Args) -> None:
    """Store the active estimation results under a name."""
    if session.e is None or not session.e.cmd:
        raise StataError("last estimation results not found, nothing to store", 301)
    words = args.anything.split()
    if not words:
        raise StataError("name required", 100)
    if len(words) > 1:
        raise StataError("single name expected", 198)
    name = words[0]
    if not _NAME.match(name) or len(name) > 27:
        raise StataError(f"{name} invalid name", 198)
    extra = {} if args.title is None else {"estimates_title": args.title}
    active = copy_eresults(session.e, **{NAME_MACRO: name}, **extra)
    session.e = active
    stored = {k: v for k, v in session.estimates.items() if k != name}
    stored[name] = copy_eresults(active)
    session.estimates = stored


@command("estimates REStore", "anything [, NOHEader DROP]")
def _restore(session: Session, args: Args) -> Text | None:
    """Make stored results active again (``drop``: and forget the stored copy)."""
    words = args.anything.split()
    if not words:
        raise StataError("too few names specified", 198)
    names = expand_names(session, words)
    if len(names) != 1:
        raise StataError("too many names specified", 198)
    name = names[0]
    if name != ".":
        session.e = copy_eresults(session.estimates[name])
        if args.drop:
            session.estimates = {k: v for k, v in session.estimates.items() if k != name}
            session.e = copy_eresults(session.e, **{NAME_MACRO: None})
    return None if args.noheader else Text(f"(results {name} are active now)")


@command("estimates DROP", "anything")
def _drop(session: Session, args: Args) -> None:
    """Forget stored results (``_all``, patterns, names)."""
    _drop_names(session, args.anything.split())


def _drop_names(session: Session, words: list[str]) -> None:
    if not words:
        raise syntax_error()
    names = expand_names(session, words)
    session.estimates = {k: v for k, v in session.estimates.items() if k not in names}
    if session.e is not None and session.e.macros.get(NAME_MACRO) in names:
        session.e = copy_eresults(session.e, **{NAME_MACRO: None})


@command("estimates CLEAR", "")
def _clear(session: Session, args: Args) -> None:
    """Forget all stored results."""
    _drop_names(session, ["_all"])


# -- dir / replay / stats ---------------------------------------------------------------------
def estimates_dir(session: Session, words: list[str]) -> EstimatesDir | None:
    """``estimates dir``: command, dependent variable, number of parameters and title per model."""
    names = expand_names(session, words or ["_all"])
    if not names:
        return None
    rows = []
    for name in names:
        e = lookup(session, name)
        depvars = e.macros.get("depvar", "").split()
        if not depvars:
            depvar = "no depvar"
        elif len(depvars) > 1:
            depvar = "mult. depvar"
        else:
            depvar = shorten(depvars[0], 12)
        b = e.matrices.get("b")
        rows.append(EstimatesDirRow(name, e.macros.get("cmd2") or e.cmd, depvar,
                                    0 if b is None else b.shape[1],
                                    e.macros.get("estimates_title", "")))
    session.r = Results(macros={"names": " ".join(names)})
    return EstimatesDir(rows)


@command("estimates DIR", "[anything]")
def _dir(session: Session, args: Args) -> EstimatesDir | None:
    """List stored results: command, dependent variable, parameters, title."""
    return estimates_dir(session, args.anything.split())


@command("estimates Replay", "[anything] [, NOHEader]")
def _replay(session: Session, args: Args) -> list[Any]:
    """Show stored results again, as their estimation command did."""
    return _replay_names(session, args.anything.split(), noheader=args.noheader)


def _replay_names(session: Session, words: list[str], *, noheader: bool) -> list[Any]:
    out: list[Any] = []
    for name in expand_names(session, words or ["."]):
        e = lookup(session, name)
        if not noheader:
            label = f"Model {name}" if name != "." else "active results"
            title = e.macros.get("estimates_title")
            out.append(ReplayHeader(f"{label} ({title})" if title and name != "." else label))
        if e.show is None:
            raise StataError("impossible to replay estimation command", 198)
        out += list(e.show(e, e.display))
    return out


def ic_table(session: Session, words: list[str], n: float | None = None) -> ICTable:
    """``estimates stats``: one AIC/BIC row per named model (default: the active results)."""
    names = expand_names(session, words or ["."])
    rows = [ic_row(name, lookup(session, name), n=n) for name in names]
    S = StataMatrix(np.array([[np.nan if v is None else v
                               for v in (r.N, r.ll0, r.ll, r.df, r.aic, r.bic)] for r in rows]),
                    names, ["N", "ll0", "ll", "df", "AIC", "BIC"])
    session.r = Results(matrices={"S": S})
    return ICTable(rows, None if n is not None else "number of observations")


@command("estimates STATs", "[anything] [, N(real)]")
def _stats(session: Session, args: Args) -> ICTable:
    """AIC and BIC of stored results."""
    return ic_table(session, args.anything.split(), args.n)


# -- table ----------------------------------------------------------------------------------------
def _format(given: str | None) -> tuple[bool, str | None]:
    """(given, format) for an option that may be a flag (``se``) or take a format (``se(%9.3f)``)."""
    if given is None:
        return False, None
    fmt = given.strip() or None
    if fmt is not None and not _FORMAT.match(fmt):
        raise StataError(f"invalid display format {fmt}", 120)
    return True, fmt


def _table_stat(e, stat: str) -> float | None:
    """A statistic row of ``estimates table``: e(name), or aic/bic/rank with rank(e(V)) parameters
    (``estimates table`` counts parameters as Stata's does, not by e(df_ic) as ``estat ic``)."""
    rank = rank_of_v(e)
    if stat == "rank":
        return rank
    if stat == "aic":
        return aic(scalar(e, "ll"), rank)
    if stat == "bic":
        return bic(scalar(e, "ll"), rank, scalar(e, "N"))
    return scalar(e, stat) if stat in e.scalars else None


def _split(name: str) -> tuple[str, str]:
    eq, sep, coef = name.partition(":")
    return (eq, coef) if sep else ("_", name)


def _matches(pattern: str, eq: str, coef: str) -> bool:
    if ":" in pattern:
        peq, _, pcoef = pattern.partition(":")
        return peq == eq and (pcoef == "" or pcoef == coef)
    return pattern == coef


def _star(text: str | None) -> tuple[float, float, float] | None:
    """``star`` (.05 .01 .001) or ``star(#1 #2 #3)``."""
    if text is None:
        return None
    if not text.strip():
        return (0.05, 0.01, 0.001)
    try:
        levels = tuple(float(w) for w in text.split())
    except ValueError:
        raise StataError("option star() incorrectly specified", 198) from None
    if len(levels) != 3 or not 1 > levels[0] > levels[1] > levels[2] > 0:
        raise StataError("option star() incorrectly specified", 198)
    return levels  # type: ignore[return-value]


def _p_value(e, b: float, se: float) -> float | None:
    """The two-sided p-value of b/se: t with e(df_r) when the model has it, else z."""
    from hlmshell.inference.wald import coef_stats

    if not se > 0:
        return None
    df = e.scalars.get("df_r")
    return coef_stats(b, se, df=df).p


@command("estimates TABle", "[anything] [, B(string optional) SE(string optional) "
         "STFmt(string) STats(string) STATIstics(string) KEep(string) DRop(string) "
         "STAR(string optional)]")
def _table(session: Session, args: Args) -> EstimatesTable:
    """Coefficients (and SEs, statistics) of several results side by side; ``star`` marks
    significance."""
    _, bfmt = _format(args.b)
    want_se, sefmt = _format(args.se)
    star = _star(args.star)
    if star is not None and want_se:
        raise StataError("option star may not be combined with se, t, or p", 198)
    _, stfmt = _format(args.stfmt)
    stats_text = args.stats or args.statistics or ""
    keep, drop = args.keep, args.drop
    names = list(dict.fromkeys(expand_names(session, args.anything.split() or ["."])))
    models = [lookup(session, n) for n in names]
    labels = ["Active" if n == "." else n for n in names]

    # coefficients: equations and names in order of first appearance, _cons last within an equation
    order: dict[str, list[str]] = {}
    values: dict[tuple[str, str], list[tuple[float, float] | None]] = {}
    # A single-equation model's coefficients (no equation name, e.g. regress) line up with the
    # first equation of the multi-equation ones (mixed's depvar equation), as in Stata.
    named = [_split(e.matrices["b"].colnames[0])[0] for e in models
             if e.matrices.get("b") is not None and e.matrices["b"].colnames]
    first_eq = next((eq for eq in named if eq != "_"), "_")
    for k, e in enumerate(models):
        b, V = e.matrices.get("b"), e.matrices.get("V")
        if b is None or V is None:
            who = "current" if names[k] == "." else names[k]
            raise StataError(f"{who} estimation results do not have e(b) and e(V)", 321)
        for j, col in enumerate(b.colnames):
            eq, coef = _split(col)
            eq = first_eq if eq == "_" else eq
            coefs = order.setdefault(eq, [])
            if coef not in coefs:
                coefs.append(coef)
            bj, sej = float(b.values[0, j]), float(np.sqrt(max(V.values[j, j], 0.0)))
            values.setdefault((eq, coef), [None] * len(models))[k] = (bj, sej, _p_value(e, bj, sej))
    for coefs in order.values():
        if "_cons" in coefs:
            coefs.remove("_cons")
            coefs.append("_cons")
    selected = [(eq, coef) for eq, coefs in order.items() for coef in coefs]
    for spec, keep_it in ((keep, True), (drop, False)):
        if spec is None:
            continue
        patterns = spec.split()
        for p in patterns:
            if not any(_matches(p, eq, coef) for eq, coef in selected):
                raise StataError(f"coefficient {p} does not occur in any of the models", 198)
        selected = [(eq, coef) for eq, coef in selected
                    if any(_matches(p, eq, coef) for p in patterns) == keep_it]
    equations: list[EstimatesTableEquation] = []
    for eq, coef in selected:
        if not equations or equations[-1].name != eq:
            equations.append(EstimatesTableEquation(eq, []))
        cells = values[(eq, coef)]
        equations[-1].rows.append(EstimatesTableRow(coef, [None if c is None else c[0] for c in cells],
                                                    [None if c is None else c[1] for c in cells],
                                                    [None if c is None else c[2] for c in cells]))

    stats = list(dict.fromkeys(stats_text.replace(",", " ").split()))
    stat_rows = [(s, [_table_stat(e, s) for e in models]) for s in stats]

    cw = 10
    bfmt = bfmt or "%10.0g"
    if bfmt != "%10.0g":
        cw = max(7, len(fmt_num(1, bfmt)))
    if sefmt is not None:
        cw = max(cw, len(fmt_num(1, sefmt)))
    if stfmt is not None:
        cw = max(cw, len(fmt_num(1.0, stfmt)))
    return EstimatesTable(models=labels, equations=equations, stats=stat_rows, bfmt=bfmt,
                          sefmt=(sefmt or bfmt) if want_se else None, stfmt=stfmt or bfmt,
                          col_width=cw, star=star)


@command("ESTimates", "", subcommand_error="subcommand estimates {word} is unrecognized")
def estimates(session: Session, args: Args) -> Any:
    """Store and compare estimation results (``est store m1``, ``est table m1 m2, se``)."""
    if session.e is None or not session.e.cmd:
        return None
    return _replay_names(session, [], noheader=False)
