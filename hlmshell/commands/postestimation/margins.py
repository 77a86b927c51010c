"""``margins``: predictive margins, adjusted predictions and marginal effects after any model of the
fitted-model protocol ([R] margins).

The margins are averages over the estimation sample (within ``if``/``in`` and each ``over()``
group) of the model's prediction with covariates set as asked; their standard errors are the delta
method's with e(V).  ``post`` replaces e() with the margins (as Stata's ``margins, post``); without
it only r() changes.  The last margins stay in the session for ``marginsplot``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.commands.postestimation.margins_spec import (
    Covariates,
    Labelled,
    at_rows,
    build,
    level_text,
    marginlist,
    over_groups,
    xvars,
)
from hlmshell.commands.postestimation.rtable import table_matrix
from hlmshell.errors import StataError
from hlmshell.inference.margins import DERIVATIVES, NotDifferentiable, estimate
from hlmshell.inference.wald import coef_stats
from hlmshell.lang.atspec import parse_at
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.model.protocol import Statistic, influence, margins_statistics
from hlmshell.results.estimation import CoefRow, CoefTable
from hlmshell.results.margins import (
    MarginPoint,
    MarginsHeader,
    MarginsOutput,
    MarginsResult,
)
from hlmshell.results.stored import EResults, Results, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

SYNTAX = ("[varlist(fv default=none)] [if] [in] [, AT(asis repeat) ATMeans ASOBServed "
          "OVER(varlist) DYDX(string) EYEX(string) DYEX(string) EYDX(string) PRedict(string) "
          "VCE(string) Level(cilevel) POST NOATLegend DF(real)]")
TITLES = {(False, True): "Predictive margins", (False, False): "Adjusted predictions",
          (True, True): "Average marginal effects", (True, False): "Conditional marginal effects"}
DERIVATIVE_TITLES = {"dydx": "dy/dx", "eyex": "ey/ex", "dyex": "dy/ex", "eydx": "ey/dx"}
PROPER_VCE = ("conventional", "twostep", "unadjusted")
VCE_TITLES = {"delta": "Delta-method", "unconditional": "Unconditional"}


@dataclass(frozen=True)
class PostedMargins:
    """What ``margins, post`` leaves as e()'s model: the residual df of the margins' tests (t after
    ``regress``), and nothing to predict with."""

    df_resid: float | None
    kind: str = "margins"
    statistics: tuple = ()


def checked_df(df: float | None) -> float | None:
    """A typed ``df(#)`` (margins, nlcom, predictnl): t with # degrees of freedom; it must be
    positive."""
    if df is not None and df <= 0:
        raise StataError("df() must be positive", 198)
    return df


def _statistic(model, text: str | None) -> tuple[Statistic, str]:
    """The statistic of ``predict(...)`` (the model's margins default without it) and the text
    echoed in ``Expression:``.  A statistic typed alone is the first of the model's margins
    statistics of that name (``mu`` is ``mu marginal`` after a GLMM: Stata assumes ``marginal``);
    ``conditional(fixedonly)`` is ``fixedonly``."""
    available = margins_statistics(model)
    if not text:
        return available[0], ""
    typed = " ".join(text.split())
    words = typed.lower().replace("conditional(fixedonly)", "fixedonly").split()
    for stat in available:
        if stat.name.split() == words:
            return stat, typed
    if len(words) == 1:
        for stat in available:
            if stat.name.split()[0] == words[0]:
                return stat, typed
    names = [s.name.split()[0] for s in available]
    if words[0] in names and len(words) > 1:
        raise StataError(f"option {words[1]} not allowed", 198)
    raise StataError(f"option {words[0]} not allowed", 198)


def _vce(text: str | None) -> str:
    """``vce(delta)`` (the default) or ``vce(unconditional)``; any other vcetype is refused."""
    typed = (text or "delta").strip()
    if typed not in VCE_TITLES:
        raise StataError(f"vcetype '{typed}' not allowed", 198)
    return typed


def _derivative(args: Args) -> tuple[str | None, str]:
    given = [k for k in DERIVATIVES if getattr(args, k)]
    if len(given) > 1:
        raise StataError(f"options {given[0]}() and {given[1]}() may not be combined", 184)
    return (given[0], getattr(args, given[0])) if given else (None, "")


def _model_vce(e: EResults) -> str:
    """``Model VCE:`` from e(vcetype) or e(vce) (Stata's vceHeader)."""
    if e.macros.get("vcetype"):
        return e.macros["vcetype"]
    vce = e.macros.get("vce", "")
    return vce.capitalize() if vce in PROPER_VCE else vce.upper()


def _table(labelled: list[Labelled], b: np.ndarray, V: np.ndarray, level: float,
           df: float | None, derivative: bool) -> tuple[CoefTable, list[tuple[float, float, float]]]:
    rows, stats = [], []
    for k, item in enumerate(labelled):
        var = float(V[k, k])
        st = coef_stats(float(b[k]), float(np.sqrt(var)) if var > 0 else 0.0, level=level, df=df)
        stats.append((st.stat, st.p, st.lower, st.upper))
        if item.term:
            rows.append(CoefRow(item.label, st.estimate, st.se, st.stat, st.p, st.lower, st.upper,
                                term=item.term))
        else:
            name = item.equation if derivative else "_cons"
            term, label = ("", name)
            if item.level_label:                           # a factor level: under its variable
                term, label = name.split(".", 1)[1], item.level_label
            rows.append(CoefRow(label, st.estimate, st.se, st.stat, st.p, st.lower, st.upper,
                                term=term))
    if derivative and any(item.term for item in labelled):
        equations: list[tuple[str, tuple[CoefRow, ...]]] = []
        for item, row in zip(labelled, rows):
            if not equations or equations[-1][0] != item.equation:
                equations.append((item.equation, ()))
            equations[-1] = (item.equation, equations[-1][1] + (row,))
        return CoefTable("", (), level, tuple(equations)), stats
    return CoefTable("", tuple(rows), level), stats


def _post_r(e: EResults, labelled: list[Labelled], est, level: float, df: float | None,
            header: MarginsHeader, stat_label: str, text: str, at_matrix: StataMatrix | None,
            cmdline: str, vce: str) -> Results:
    """r() as Stata's margins leaves it."""
    names = [item.colname for item in labelled]
    res = Results()
    res.scalars.update({"N": float(header.n_obs), "k_margins": float(len(labelled)),
                        "level": level})
    if df is not None:
        res.scalars["df_r"] = float(df)
    res.macros.update({"cmd": "margins", "cmdline": cmdline, "est_cmd": e.cmd,
                       "title": header.title, "predict_label": stat_label,
                       "expression": f"predict({text})", "model_vce": header.model_vce.lower(),
                       "vce": vce})
    if header.derivatives:
        res.macros.update({"derivatives": header.derivatives, "xvars": " ".join(header.xvars)})
    if header.over:
        res.macros["over"] = " ".join(header.over)
    res.matrices["b"] = StataMatrix(est.b.reshape(1, -1), ["y1"], names)
    res.matrices["V"] = StataMatrix(est.V, list(names), list(names))
    res.matrices["Jacobian"] = StataMatrix(est.G, list(names), list(e.matrices["b"].colnames))
    se = np.sqrt(np.maximum(np.diag(est.V), 0.0))
    res.matrices["table"] = table_matrix(names, est.b, se, None if df is None else
                                         np.full(len(names), df), level)
    if at_matrix is not None:
        res.matrices["at"] = at_matrix
    return res


def _at_matrix(ats, covariates: Covariates) -> StataMatrix | None:
    """r(at): one row per _at, the covariates' values (factor levels as indicators; . unset)."""
    columns: list[tuple[str, float | None]] = []
    for name in covariates.names:
        if covariates.is_factor(name):
            columns += [(name, lv) for lv in covariates.levels[name]]
        else:
            columns.append((name, None))
    values = np.full((len(ats), len(columns)), np.nan)
    for i, at in enumerate(ats):
        set_values = dict(at.setting.values)
        shares = {v: dict(s) for v, s in at.setting.proportions}
        for j, (name, lv) in enumerate(columns):
            if lv is None:
                values[i, j] = set_values.get(name, np.nan)
            elif name in shares:
                values[i, j] = shares[name].get(lv, 0.0)
            elif name in set_values:
                values[i, j] = float(set_values[name] == lv)
    colnames = [name if lv is None else f"{level_text(lv)}.{name}" for name, lv in columns]
    return StataMatrix(values, [f"{i}._at" for i in range(1, len(ats) + 1)], colnames)


def _active_model(session: Session):
    e = session.e
    if e is None or e.model is None or "b" not in e.matrices or isinstance(e.model, PostedMargins):
        raise StataError("last estimates not found", 301)
    return e, e.model


@command("margins", SYNTAX)
def margins(session: Session, args: Args) -> list:
    """Marginal means, predictive margins and marginal effects."""
    e = session.e
    if e is not None and isinstance(e.model, PostedMargins) and not args.text.strip():
        return e.show(e, None)                     # ``margins`` alone replays posted margins
    e, model = _active_model(session)
    checked_df(args.df)
    vce = _vce(args.vce)
    if args.atmeans and args.asobserved:
        raise StataError("options atmeans and asobserved may not be combined", 184)
    kind, spec = _derivative(args)
    stat, typed = _statistic(model, args.predict)
    design = model.design
    for var in design.variables:
        if var not in session.variables:
            raise StataError(f"variable {var} not found", 111)
    rows = session.in_sample(e) & row_mask(session, args.if_, args.in_)
    if not rows.any():
        raise StataError("no observations", 2000)
    data = session.data.loc[rows].reset_index(drop=True)
    variables = session.variables
    covariates = Covariates.of(design)
    terms = marginlist(args.varlist_text, covariates, variables)
    derivs = xvars(spec, covariates, variables) if kind else []
    if kind and kind != "dydx" and any(x.level is not None for x in derivs):
        raise StataError(f"factor variables not allowed in {kind}()", 198)
    if kind and not derivs:
        raise StataError(f"{kind}(): no covariates", 198)
    over_names = list(args.over or [])
    at_items = [parse_at(text) for text in args.at or []]
    if over_names and (args.atmeans or any(i.stat for items in at_items for i in items)):
        raise StataError("over() may not be combined with atmeans or at() statistics", 198)
    fixed_elsewhere = {v for t in terms for v in t.variables} | {x.var for x in derivs
                                                                 if x.level is not None}
    ats = at_rows(at_items, args.atmeans, covariates, data, variables, fixed_elsewhere)
    overs = over_groups(over_names, data)
    labelled = build(terms, ats, overs, over_names, derivs, kind,
                     lambda var, value: session.value_label(var, value) or level_text(value))
    linearized, sample_rows = None, None
    if vce == "unconditional":
        # the scores are the whole estimation sample's (an if/in subpopulation only selects the
        # rows margins averages over, as in Stata's _linearize)
        in_sample = session.in_sample(e)
        linearized = influence(model, session.data.loc[in_sample].reset_index(drop=True))
        sample_rows = np.flatnonzero(rows[in_sample])
        if linearized is None:
            command = e.macros.get("cmd2") or e.cmd         # _marg_work's .ecmd
            raise StataError(f"cannot compute vce(unconditional);\npredict after {command} could "
                             "not compute scores", 322)
    try:
        est = estimate(model, stat.name, data, [item.margin for item in labelled],
                       e.matrices["V"].values, linearized, sample_rows)
    except NotDifferentiable:
        raise StataError("prediction is a function of possibly stochastic quantities other than "
                         "e(b)", 498) from None
    # t with e(df_r) (the model's residual df) or df(#), otherwise z: [R] margins.  After mixed,
    # dfmethod()'s df are not used (Stata's margins has no small option); df(#) asks for t.
    df = model.df_resid if args.df is None else args.df
    table, stats = _table(labelled, est.b, est.V, args.level, df, kind is not None)
    observed = any(not set(covariates.names) <= (item.margin.setting.fixed | (
        {item.margin.effect.var} if item.margin.effect and item.margin.effect.level is not None
        else set())) for item in labelled)
    shown_at = () if args.noatlegend or not (at_items or args.atmeans) else tuple(
        a.legend for a in ats)
    header = MarginsHeader(
        title=TITLES[(kind is not None, observed)], n_obs=len(data), model_vce=_model_vce(e),
        expression=f"{stat.label}, predict({typed})",
        derivatives=DERIVATIVE_TITLES.get(kind or "", ""),
        xvars=tuple(x.name for x in derivs), over=tuple(over_names), at=shown_at)
    output = MarginsOutput(header, table, t=df is not None,
                           factor_note=any(x.level is not None for x in derivs),
                           vce_title=VCE_TITLES[vce])
    at_matrix = _at_matrix(ats, covariates) if (at_items or args.atmeans) else None
    cmdline = f"margins {args.text.strip()}".rstrip()
    res = _post_r(e, labelled, est, args.level, df, header, stat.label, typed, at_matrix,
                  cmdline, vce)
    session.margins = MarginsResult(
        points=tuple(MarginPoint(item.dims, float(est.b[k]), s[2], s[3], item.equation)
                     for k, (item, s) in enumerate(zip(labelled, stats))),
        at_values=tuple(a.setting.values for a in ats), title=header.title,
        ylabel=stat.label, derivatives=header.derivatives, level=args.level)
    if args.post:
        session.e = _posted(session, e, res, rows, df, output)
    session.r = res
    return [output]


def _posted(session: Session, e: EResults, res: Results, rows: np.ndarray, df: float | None,
            output: MarginsOutput) -> EResults:
    """e() after ``margins, post``: the margins as the estimates."""
    post = EResults()
    post.scalars.update(res.scalars)
    post.macros.update({k: v for k, v in res.macros.items()})
    post.macros["properties"] = "b V"
    for name in ("b", "V", "Jacobian", "at"):
        if name in res.matrices:
            post.matrices[name] = res.matrices[name]
    post.sample = session.sample_keys(rows)
    post.model = PostedMargins(df)
    post.show = lambda e, display: [output]
    return post
