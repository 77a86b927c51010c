"""``lrtest A [B]``: likelihood-ratio test of nested models, after Stata's lrtest.ado.

The model with more degrees of freedom (e(rank)) is the unrestricted one, whatever the order; ``.`` is
the active results and the default second model.  Without ``force`` the test refuses what Stata
refuses (r(498)): equal df, different numbers of observations or samples, different estimators or
dependent variables, robust/cluster/pweight fits; and for mixed models, non-nested random-effects
structures, ML against REML, and REML fits with different fixed effects.

Stata prints the boundary note only for results that carry e(mecmd) (xtmixed-era results); Stata
17/18 ``mixed`` does not set it, so ``lrtest . slope`` after ``mixed`` prints no note (as in the
reference log).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from hlmshell.commands.postestimation.estimates import estimates_dir, ic_table
from hlmshell.commands.postestimation.estnames import (
    expand_names,
    lookup,
    rank_of_v,
    scalar,
)
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.numfmt import fmt_g
from hlmshell.lang.syntax import parse_syntax
from hlmshell.results.postest import LRTestResult
from hlmshell.shell.registry import command
from hlmshell.shell.session import EResults, Results, Session

_MIXED_CMDS = ("mixed", "xtmixed", "xtmelogit", "xtmepoisson", "meqrlogit", "meqrpoisson")


@dataclass
class _Info:
    name: str
    e: EResults
    N: float | None
    df: float
    ll: float
    ll0: float | None


def _info(name: str, e: EResults, force: bool) -> _Info:
    if not force:
        if e.macros.get("vcetype") == "Robust":
            raise StataError("LR test likely invalid for models with robust vce", 498)
        if e.macros.get("clustvar"):
            raise StataError(f"LR test likely invalid with cluster({e.macros['clustvar']})", 498)
        if e.macros.get("wtype") == "pweight":
            raise StataError("LR test invalid in case of pweighted estimators", 498)
    ll = scalar(e, "ll")
    if "ll" not in e.scalars:
        raise StataError(f"{name} does not contain scalar e(ll)", 498)
    if ll is None:
        raise StataError(f"{name}: e(ll) is missing", 498)
    rank = scalar(e, "rank")
    df = rank if rank is not None else rank_of_v(e)
    return _Info(name, e, scalar(e, "N"), df, ll, scalar(e, "ll_0"))


def _model_name(session: Session, word: str) -> str:
    if word.startswith("("):
        raise StataError("composite models are not supported", 198)
    names = expand_names(session, [word])
    if len(names) != 1:
        raise StataError("composite models are not supported", 198)
    return names[0]


def _k(e: EResults, key: str) -> float:
    value = scalar(e, key)
    return 0.0 if value is None else value


def _mixed_checks(u: _Info, r: _Info) -> tuple[bool, bool]:
    """Stata's checks for mixed models; returns (conservative note, REML note)."""
    for key in ("k_f", "k_rc", "k_rs"):
        if _k(u.e, key) < _k(r.e, key):
            raise StataError("Mixed models are not nested", 498)
    u_method, r_method = u.e.macros.get("method", ""), r.e.macros.get("method", "")
    if u_method != r_method:
        raise StataError("cannot compare a REML model with an ML model", 498)
    reml = u_method == "REML"
    if reml and _k(u.e, "k_f") != _k(r.e, "k_f"):
        raise StataError("REML criterion is not comparable under different fixed-effects "
                         "specifications", 498)
    return _k(u.e, "k_rs") != _k(r.e, "k_rs"), reml


def _same_sample(u: _Info, r: _Info) -> None:
    a, b = u.e.sample, r.e.sample
    if a is None or b is None or len(a) != len(b):
        return
    if not np.array_equal(np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)):
        raise StataError("samples differ", 498)


@command("lrtest", 6, usage="lrtest modelspec1 [modelspec2] [, stats dir df(#) force]")
def lrtest(session: Session, cmd: Command) -> Any:
    """Likelihood-ratio test of two nested models stored with ``estimates store`` (``.`` = active)."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    df_text = syn.options.take_arg("df", 1)
    force = syn.options.take("force", 5)
    show_stats = syn.options.take("stats", 2)
    show_dir = syn.options.take("dir", 2)
    syn.options.finish()
    if syn.if_ or syn.in_ or syn.using:
        raise syntax_error()
    words = syn.anything.split()
    if not words:
        raise StataError("name(s) of estimation results expected", 198)
    if len(words) > 2:
        raise StataError(f"invalid input following specifications: {' '.join(words[2:])}", 198)
    model1 = _model_name(session, words[0])
    if len(words) == 2:
        model2 = _model_name(session, words[1])
    elif session.e is not None and session.e.cmd:
        model2 = _model_name(session, ".")
    else:
        raise StataError("last estimates not found\nsecond specification expected", 301)
    if model1 == model2:
        raise StataError(f"models {model1} specified more than once", 198)
    df_user = None
    if df_text is not None:
        try:
            df_user = float(df_text)
        except ValueError:
            raise StataError(f"'{df_text}' found where number expected", 7) from None
        if df_user <= 0:
            raise StataError("df() should be positive", 198)

    u = _info(model1, lookup(session, model1), force)
    r = _info(model2, lookup(session, model2), force)
    if u.df < r.df:
        u, r = r, u
    df = u.df - r.df if df_user is None else df_user
    conservative = reml_note = False
    if not force:
        if df < 0:
            raise StataError(f"df(unrestricted) < df(restricted): {fmt_g(u.df).strip()} < "
                             f"{fmt_g(r.df).strip()}", 498)
        if df == 0:
            raise StataError(f"df(unrestricted) = df(restricted) = {fmt_g(u.df).strip()}", 498)
        active = session.e
        mecmd = active.macros.get("mecmd", "") if active is not None else ""
        if mecmd or (u.e.cmd in _MIXED_CMDS and r.e.cmd in _MIXED_CMDS):
            boundary, reml_note = _mixed_checks(u, r)
            conservative = boundary and bool(mecmd)
        if u.N != r.N:
            raise StataError(f"observations differ: {fmt_g(u.N).strip()} vs. {fmt_g(r.N).strip()}",
                             498)
        _same_sample(u, r)
        # A linear regression is the mixed model with every variance component at zero: the pair
        # is nested (on the boundary, hence the note), provided the mixed model was fitted by ML.
        linear_in_mixed = r.e.cmd == "regress" and u.e.cmd in _MIXED_CMDS
        if linear_in_mixed and u.e.macros.get("method") == "REML":
            raise StataError("LR tests of a REML fit against a linear regression are not valid;\n"
                             "refit the mixed model with option ml", 498)
        if u.e.cmd != r.e.cmd and not linear_in_mixed:
            raise StataError(f"test involves different estimators: {u.e.cmd} vs. {r.e.cmd}", 498)
        if linear_in_mixed:
            conservative = True
            if df_user is None:   # regress's e(rank) leaves out σ; count the variance components
                df = u.e.scalars.get("df_c", df)
        u_dep, r_dep = u.e.macros.get("depvar", ""), r.e.macros.get("depvar", "")
        if u_dep and r_dep and u_dep.split() != r_dep.split():
            raise StataError(f"dependent variables differ: {u_dep} vs. {r_dep}", 498)
        if u.ll0 is not None and r.ll0 is not None:
            if abs(u.ll0 - r.ll0) / (abs(r.ll0) + 1) > 1e-6:
                raise StataError(f"log likelihood of null models differ:{fmt_g(u.ll0)} vs. "
                                 f"{fmt_g(r.ll0)}", 498)

    chi2 = -2.0 * (r.ll - u.ll)
    p = float(stats.chi2.sf(chi2, df))
    result = LRTestResult(restricted=r.name, unrestricted=u.name, chi2=chi2, df=df, p=p,
                          conservative=conservative, reml_note=reml_note)
    out: list[Any] = [result]
    if show_stats:
        out.append(ic_table(session, [r.name, u.name]))
    if show_dir:
        out.append(estimates_dir(session, [r.name, u.name]))
    session.r = Results(scalars={"p": p, "chi2": chi2, "df": df})
    return out
