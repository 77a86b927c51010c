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

from typing import Any

from hlmshell.commands.postestimation.estimates import estimates_dir, ic_table
from hlmshell.commands.postestimation.estnames import (
    expand_names,
    lookup,
    rank_of_v,
    scalar,
)
from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args
from hlmshell.results.postest import LRTestResult
from hlmshell.shell.registry import command
from hlmshell.shell.session import EResults, Results, Session


def _model(name: str, e: EResults, force: bool):
    """The nesting rules' view of stored results (Stata's refusals for robust/cluster/pweight)."""
    from hlmshell.inference.lrtest import LRModel

    if not force:
        if e.macros.get("vcetype") == "Robust":
            raise StataError("LR test likely invalid for models with robust vce", 498)
        if e.macros.get("clustvar"):
            raise StataError(f"LR test likely invalid with cluster({e.macros['clustvar']})", 498)
        if e.macros.get("wtype") == "pweight":
            raise StataError("LR test invalid in case of pweighted estimators", 498)
    if "ll" not in e.scalars:
        raise StataError(f"{name} does not contain scalar e(ll)", 498)
    ll = scalar(e, "ll")
    if ll is None:
        raise StataError(f"{name}: e(ll) is missing", 498)
    rank = scalar(e, "rank")
    k = {key: scalar(e, key) or 0.0 for key in ("k_f", "k_rs", "k_rc", "df_c")}
    return LRModel(name=name, estimator=e.macros.get("cmd2") or e.cmd, N=scalar(e, "N"),
                   df=rank if rank is not None else rank_of_v(e), ll=ll, ll0=scalar(e, "ll_0"),
                   depvar=e.macros.get("depvar", ""), sample=e.sample,
                   multilevel=_kind(e) == "multilevel", linear=_kind(e) == "linear",
                   method=e.macros.get("method", ""),
                   boundary_note=bool(e.macros.get("mecmd")), **k)


def _kind(e: EResults) -> str:
    return getattr(e.model, "kind", "")


def _model_name(session: Session, word: str) -> str:
    if word.startswith("("):
        raise StataError("composite models are not supported", 198)
    names = expand_names(session, [word])
    if len(names) != 1:
        raise StataError("composite models are not supported", 198)
    return names[0]


@command("lrtest", "anything [, STats DIr Df(string) FORce]")
def lrtest(session: Session, args: Args) -> Any:
    """Likelihood-ratio test of two nested models stored with ``estimates store`` (``.`` = active)."""
    from hlmshell.inference.lrtest import NotNested, lr_test

    words = args.anything.split()
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
    df = None
    if args.df is not None:
        try:
            df = float(args.df)
        except ValueError:
            raise StataError(f"'{args.df}' found where number expected", 7) from None
        if df <= 0:
            raise StataError("df() should be positive", 198)
    a = _model(model1, lookup(session, model1), args.force)
    b = _model(model2, lookup(session, model2), args.force)
    try:
        res = lr_test(a, b, df=df, force=args.force)
    except NotNested as err:
        raise StataError(str(err), 498) from None
    out: list[Any] = [LRTestResult(restricted=res.restricted, unrestricted=res.unrestricted,
                                   chi2=res.chi2, df=res.df, p=res.p,
                                   conservative=res.conservative, reml_note=res.reml_note)]
    if args.stats:
        out.append(ic_table(session, [res.restricted, res.unrestricted]))
    if args.dir:
        out.append(estimates_dir(session, [res.restricted, res.unrestricted]))
    session.r = Results(scalars={"p": res.p, "chi2": res.chi2, "df": res.df})
    return out
