"""``regress depvar [indepvars] [if] [in] [, noconstant level(#) baselevels noheader]``: OLS.

Typed without a varlist it replays the last results (``regress, level(90)``).  Posts e() as Stata's
``regress`` does: the scalars N df_m df_r F r2 rmse mss rss r2_a ll ll_0 rank, the macros, e(b) and
e(V) over every design column (base and omitted ones as zeros), e(sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.commands.estimation.coefrows import coef_rows
from hlmshell.commands.estimation.posting import post_model
from hlmshell.errors import StataError
from hlmshell.inference.wald import f_test_p
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.fvnotation import parse_terms, variables_of
from hlmshell.results.shell import Text
from hlmshell.results.estimation import CoefTable
from hlmshell.results.regress import RegressHeader, RegressOutput
from hlmshell.results.stored import EResults
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@dataclass(frozen=True)
class RegressDisplay:
    """Display options shared by estimation and replay."""

    level: float = 95.0
    baselevels: bool = False
    noheader: bool = False


def regress_output(model, display: RegressDisplay) -> RegressOutput:
    """The printed results of a fit."""
    fit = model.fit
    header = None if display.noheader else RegressHeader(
        mss=fit.mss, rss=fit.rss, df_m=fit.df_m, df_r=fit.df_r, n_obs=fit.n, F=fit.F, p_F=f_test_p(fit.F, fit.df_m, fit.df_r),
        r2=fit.r2, r2_a=fit.r2_a, rmse=fit.rmse)
    rows = coef_rows(model.design, fit.beta, fit.V, display.level, df=fit.df_r,
                     baselevels=display.baselevels)
    return RegressOutput(header, CoefTable(model.depvar, rows, display.level))


def post_results(session: Session, cmdline: str, model, sample: np.ndarray,
                 display: RegressDisplay) -> EResults:
    """e() in the order Stata's ``ereturn list`` shows after ``regress``."""
    fit, design = model.fit, model.design
    e = EResults()
    e.scalars.update({
        "N": float(fit.n), "df_m": float(fit.df_m), "df_r": float(fit.df_r), "F": fit.F, "r2": fit.r2,
        "rmse": fit.rmse, "mss": fit.mss, "rss": fit.rss, "r2_a": fit.r2_a, "ll": fit.ll,
        "ll_0": fit.ll_0, "rank": float(len(design.estimable)),
    })
    e.macros.update({
        "cmdline": cmdline, "title": "Linear regression", "marginsok": "XB default", "vce": "ols",
        "depvar": model.depvar, "cmd": "regress", "properties": "b V", "predict": "regres_p",
        "model": "ols", "estat_cmd": "regress_estat",
    })
    return post_model(session, e, model, sample, regress_output, display)


def _replay(session: Session, args: Args) -> RegressOutput:
    from hlmshell.model.linear import RegressionModel

    e = session.e
    if e is None or not isinstance(e.model, RegressionModel):
        raise StataError("last estimates not found", 301)
    if args.noconstant:
        raise StataError("option noconstant not allowed", 198)
    return regress_output(e.model, _display(args, e.display))


def _display(args: Args, default: RegressDisplay) -> RegressDisplay:
    return RegressDisplay(level=args.level if "level" in args.given else default.level,
                          baselevels=args.baselevels, noheader=args.noheader)


@command("REGress", "[varlist(fv default=none)] [if] [in] [, NOConstant Level(cilevel) BASElevels "
         "NOHEader]", byable="recall")
def regress(session: Session, args: Args) -> list:
    """Linear regression (ordinary least squares)."""
    from hlmshell.model.design import build_design
    from hlmshell.model.linear import RegressionModel, fit_ols

    if not args.varlist_text:
        if args.if_ is not None or args.in_ is not None:
            raise StataError("varlist required", 100)
        return [_replay(session, args)]
    depvar_word, *rest = args.varlist_text.split(None, 1)
    indep_spec = rest[0] if rest else ""
    if any(ch in depvar_word for ch in ".#("):
        raise StataError("depvar may not be a factor variable", 198)
    variables = session.variables
    depvar = varlist.resolve(variables, depvar_word)
    if session.is_string(depvar):
        raise StataError(f"string variables not allowed in varlist;\n{depvar} is a string variable", 109)
    terms = parse_terms(indep_spec, variables)
    data = session.data
    sample = row_mask(session, args.if_, args.in_)
    for name in dict.fromkeys([depvar, *variables_of(terms)]):
        sample &= data[name].notna().to_numpy()
    if not sample.any():
        raise StataError("no observations", 2000)
    design = build_design(data, terms, constant=not args.noconstant, rows=sample)
    if int(sample.sum()) < len(design.estimable):
        raise StataError("insufficient observations", 2001)
    y = data.loc[sample, depvar].to_numpy(dtype=float)
    model = RegressionModel(depvar, design, fit_ols(y, design.X, constant=not args.noconstant))
    display = _display(args, RegressDisplay())
    session.e = post_results(session, f"regress {args.text.strip()}", model, sample, display)
    return [*(Text(note) for note in design.notes), regress_output(model, display)]
