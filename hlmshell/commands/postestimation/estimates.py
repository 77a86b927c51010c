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
from hlmshell.commands.postestimation.replay import replay
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.abbrev import shorten
from hlmshell.lang.command import Command
from hlmshell.lang.numfmt import fmt_num
from hlmshell.lang.syntax import Options, parse_syntax
from hlmshell.render import Text
from hlmshell.results.postest import (
    EstimatesDir,
    EstimatesDirRow,
    EstimatesTable,
    EstimatesTableEquation,
    EstimatesTableRow,
    ICTable,
    ReplayHeader,
)
from hlmshell.shell.registry import command
from hlmshell.shell.session import Results, Session, StataMatrix

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_FORMAT = re.compile(r"%-?\d+\.\d+[fge]c?$")


def _parse(rest: str) -> tuple[list[str], Options]:
    syn = parse_syntax(rest, allow_exp=False)
    if syn.if_ or syn.in_ or syn.using:
        raise syntax_error()
    return syn.anything.split(), syn.options


# -- store / restore / drop / clear ------------------------------------------------------------
def _store(session: Session, rest: str) -> None:
    if session.e is None or not session.e.cmd:
        raise StataError("last estimation results not found, nothing to store", 301)
    words, options = _parse(rest)
    title = options.take_arg("title", 2)
    options.take("nocopy", 4)
    options.finish()
    if not words:
        raise StataError("name required", 100)
    if len(words) > 1:
        raise StataError("single name expected", 198)
    name = words[0]
    if not _NAME.match(name) or len(name) > 27:
        raise StataError(f"{name} invalid name", 198)
    extra = {} if title is None else {"estimates_title": title.strip('"')}
    active = copy_eresults(session.e, **{NAME_MACRO: name}, **extra)
    session.e = active
    stored = {k: v for k, v in session.estimates.items() if k != name}
    stored[name] = copy_eresults(active)
    session.estimates = stored


def _restore(session: Session, rest: str) -> Text | None:
    words, options = _parse(rest)
    noheader = options.take("noheader", 5)
    options.take("drop", 4)
    options.finish()
    if not words:
        raise StataError("too few names specified", 198)
    names = expand_names(session, words)
    if len(names) != 1:
        raise StataError("too many names specified", 198)
    name = names[0]
    if name != ".":
        session.e = copy_eresults(session.estimates[name])
    return None if noheader else Text(f"(results {name} are active now)")


def _drop(session: Session, rest: str) -> None:
    words, options = _parse(rest)
    options.finish()
    if not words:
        raise syntax_error()
    names = expand_names(session, words)
    session.estimates = {k: v for k, v in session.estimates.items() if k not in names}
    if session.e is not None and session.e.macros.get(NAME_MACRO) in names:
        session.e = copy_eresults(session.e, **{NAME_MACRO: None})


def _clear(session: Session, rest: str) -> None:
    words, options = _parse(rest)
    options.finish()
    if words:
        raise syntax_error()
    _drop(session, "_all")


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


def _dir(session: Session, rest: str) -> EstimatesDir | None:
    words, options = _parse(rest)
    options.take_arg("width", 1)
    options.finish()
    return estimates_dir(session, words)


def _replay(session: Session, rest: str) -> list[Any]:
    words, options = _parse(rest)
    noheader = options.take("noheader", 5)
    options.finish()
    out: list[Any] = []
    for name in expand_names(session, words or ["."]):
        e = lookup(session, name)
        if not noheader:
            label = f"Model {name}" if name != "." else "active results"
            title = e.macros.get("estimates_title")
            out.append(ReplayHeader(f"{label} ({title})" if title and name != "." else label))
        out += replay(session, e)
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


def _stats(session: Session, rest: str) -> ICTable:
    words, options = _parse(rest)
    n_text = options.take_arg("n", 1)
    options.finish()
    n = None
    if n_text is not None:
        try:
            n = float(n_text)
        except ValueError:
            raise StataError("option n() invalid", 198) from None
    return ic_table(session, words, n)


# -- table ----------------------------------------------------------------------------------------
def _format_option(options: Options, name: str, minlen: int) -> tuple[bool, str | None]:
    """(given, format) for an option that may be a flag (``se``) or take a format (``se(%9.3f)``)."""
    fmt = options.take_arg(name, minlen, required=False)
    if fmt is None:
        return False, None
    fmt = fmt.strip() or None
    if fmt is not None and not _FORMAT.match(fmt):
        raise StataError(f"invalid display format {fmt}", 120)
    return True, fmt


def _table_stat(e, stat: str) -> float | None:
    if stat in ("aic", "bic", "rank"):
        rank = rank_of_v(e)
        ll, N = scalar(e, "ll"), scalar(e, "N")
        if stat == "rank":
            return rank
        if ll is None or (stat == "bic" and (N is None or N <= 0)):
            return None
        return -2 * ll + (2 * rank if stat == "aic" else float(np.log(N)) * rank)
    return scalar(e, stat) if stat in e.scalars else None


def _split(name: str) -> tuple[str, str]:
    eq, sep, coef = name.partition(":")
    return (eq, coef) if sep else ("_", name)


def _matches(pattern: str, eq: str, coef: str) -> bool:
    if ":" in pattern:
        peq, _, pcoef = pattern.partition(":")
        return peq == eq and (pcoef == "" or pcoef == coef)
    return pattern == coef


def _table(session: Session, rest: str) -> EstimatesTable:
    words, options = _parse(rest)
    _, bfmt = _format_option(options, "b", 1)
    want_se, sefmt = _format_option(options, "se", 2)
    _, stfmt = _format_option(options, "stfmt", 3)
    stats_text = options.take_arg("stats", 2) or options.take_arg("statistics", 5) or ""
    keep = options.take_arg("keep", 1)
    drop = options.take_arg("drop", 1)
    options.finish()
    names = list(dict.fromkeys(expand_names(session, words or ["."])))
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
            values.setdefault((eq, coef), [None] * len(models))[k] = (
                float(b.values[0, j]), float(np.sqrt(max(V.values[j, j], 0.0))))
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
                                                    [None if c is None else c[1] for c in cells]))

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
                          col_width=cw)


_SUBCOMMANDS = (  # (name, shortest abbreviation, function)
    ("store", 3, _store), ("restore", 3, _restore), ("dir", 3, _dir), ("drop", 4, _drop),
    ("clear", 5, _clear), ("replay", 1, _replay), ("stats", 4, _stats), ("table", 3, _table),
)


@command("estimates", 3, usage="estimates store|restore|dir|drop|clear|replay|stats|table ...")
def estimates(session: Session, cmd: Command) -> Any:
    """Store and compare estimation results (``est store m1``, ``est table m1 m2, se``)."""
    text = cmd.rest.strip()
    m = re.match(r"[A-Za-z_]+", text)
    if not m:
        if text:
            raise syntax_error()
        if session.e is None or not session.e.cmd:
            return None
        return _replay(session, "")
    word, rest = m.group(0), text[m.end():]
    for name, minlen, fn in _SUBCOMMANDS:
        if len(word) >= minlen and name.startswith(word):
            return fn(session, rest)
    raise StataError(f"subcommand estimates {word} is unrecognized", 198)
