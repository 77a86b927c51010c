"""``regress depvar [indepvars] [if] [in] [, noconstant level(#) baselevels noheader]``: OLS.

Typed without a varlist after a ``regress``, it replays the last results (``regress, level(90)``).
Posts e() as Stata's ``regress`` does: the scalars N df_m df_r F r2 rmse mss rss r2_a ll ll_0 rank,
the macros, e(b) and e(V) over every design column (base and omitted ones as zeros), e(sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.commands.estimation.coefrows import coef_rows
from hlmshell.commands.postestimation.replay import register_replay
from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.syntax import Options, parse_syntax
from hlmshell.lang.fvnotation import fv_variables
from hlmshell.model.design import Design, build_design
from hlmshell.model.linear import OLSFit, fit_ols
from hlmshell.render import Text
from hlmshell.results.estimation import CoefTable
from hlmshell.results.regress import RegressHeader, RegressOutput
from hlmshell.shell.registry import command
from hlmshell.shell.session import EResults, Session, StataMatrix


@dataclass
class RegressModel:
    """What replay and post-estimation need beyond e(): the fit, the design and the depvar.

    Same interface as ``MixedModel`` for ``predict`` (``design_spec``, ``constant``, ``coef``);
    ``design.matrix(data)`` evaluates the estimation's columns on any rows.
    """

    fit: OLSFit
    design: Design
    depvar: str
    level: float
    design_spec: str = ""   # the indepvars as typed
    constant: bool = True

    @property
    def coef(self) -> dict[str, float]:
        """Estimated coefficients by e(b) column name."""
        return {self.design.columns[j].name: float(b)
                for j, b in zip(self.design.estimable, self.fit.beta)}


def _level(opts: Options, default: float = 95.0) -> float:
    text = opts.take_arg("level", 3)
    if text is None:
        return default
    try:
        level = float(text)
    except ValueError:
        raise StataError(f"level({text}) invalid", 198) from None
    if not 10 <= level <= 99.99:
        raise StataError("level() must be between 10 and 99.99 inclusive", 198)
    return level


@dataclass
class Display:
    """Display options shared by estimation and replay."""

    level: float = 95.0
    baselevels: bool = False
    noheader: bool = False


def _display(opts: Options, level: float = 95.0) -> Display:
    return Display(level=_level(opts, level), baselevels=opts.take("baselevels"),
                   noheader=opts.take("noheader", 5))


def regress_output(model: RegressModel, display: Display | None = None) -> RegressOutput:
    """The printed results of a fit (``display`` defaults to the level it was fitted with)."""
    fit = model.fit
    display = display or Display(level=model.level)
    header = None if display.noheader else RegressHeader(
        mss=fit.mss, rss=fit.rss, df_m=fit.df_m, df_r=fit.df_r, n_obs=fit.n, F=fit.F, p_F=fit.p_F,
        r2=fit.r2, r2_a=fit.r2_a, rmse=fit.rmse)
    rows = coef_rows(model.design, fit.beta, fit.V, display.level, df=fit.df_r,
                     baselevels=display.baselevels)
    return RegressOutput(header, CoefTable(model.depvar, rows, display.level))


def post_results(cmdline: str, model: RegressModel, sample: np.ndarray) -> EResults:
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
    names = design.names
    e.matrices["b"] = StataMatrix(design.expand(fit.beta).reshape(1, -1), ["y1"], list(names))
    e.matrices["V"] = StataMatrix(design.expand_matrix(fit.V), list(names), list(names))
    e.sample = sample
    e.model = model
    return e


def _replay(session: Session, opts: Options) -> RegressOutput:
    e = session.e
    if e is None or e.cmd != "regress" or not isinstance(e.model, RegressModel):
        raise StataError("last estimates not found", 301)
    display = _display(opts, e.model.level)
    opts.finish()
    return regress_output(e.model, display)


register_replay("regress", lambda session, e: regress_output(e.model))


@command("regress", 3, usage="regress depvar [indepvars] [if] [in] [, noconstant level(#) "
                             "baselevels noheader]")
def regress(session: Session, cmd: Command) -> list:
    """Linear regression (ordinary least squares)."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    opts = syn.options
    if not syn.anything and syn.if_ is None and syn.in_ is None and syn.using is None:
        return [_replay(session, opts)]
    if syn.using is not None:
        raise StataError("using not allowed", 101)
    noconstant = opts.take("noconstant", 5)
    display = _display(opts)
    opts.finish()
    if not syn.anything:
        raise StataError("varlist required", 100)

    depvar_word, *rest = syn.anything.split(None, 1)
    indep_spec = rest[0] if rest else ""
    if any(ch in depvar_word for ch in ".#("):
        raise StataError("depvar may not be a factor variable", 198)
    depvar = varlist.resolve(session.variables, depvar_word)
    if session.is_string(depvar):
        raise StataError(f"string variables not allowed in varlist;\n{depvar} is a string variable", 109)
    used = [depvar, *fv_variables(indep_spec, session.variables)]

    data = session.data
    sample = row_mask(session, syn.if_, syn.in_)
    for name in dict.fromkeys(used):
        sample &= data[name].notna().to_numpy()
    if not sample.any():
        raise StataError("no observations", 2000)
    design = build_design(data, indep_spec, constant=not noconstant, rows=sample)
    if int(sample.sum()) < len(design.estimable):
        raise StataError("insufficient observations", 2001)

    y = data.loc[sample, depvar].to_numpy(dtype=float)
    fit = fit_ols(y, design.X, constant=not noconstant)
    model = RegressModel(fit=fit, design=design, depvar=depvar, level=display.level,
                         design_spec=indep_spec, constant=not noconstant)
    session.e = post_results(f"regress{cmd.rest}", model, sample)
    return [*(Text(note) for note in design.notes), regress_output(model, display)]
