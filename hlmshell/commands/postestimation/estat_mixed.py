"""``estat icc``, ``estat recovariance``, ``estat group`` and ``estat sd`` after multilevel models."""

from __future__ import annotations

import numpy as np

from hlmshell.commands.estimation.mixed_display import (
    equation_infos,
    group_infos,
    re_table,
)
from hlmshell.commands.estimation.mixed_syntax import MixedDisplay
from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.results.estimation import (
    GroupTable,
    ICCRow,
    ICCTable,
    RECovMatrix,
    RETable,
)
from hlmshell.results.stored import Results, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


def _multilevel(session: Session) -> bool:
    """The subcommands apply after multilevel models (without results: r(301) from the command)."""
    return session.e is None or getattr(session.e.model, "kind", "") == "multilevel"


def _model(session: Session):
    if session.e is None:
        raise StataError("last estimates not found", 301)
    return session.e.model


@command("estat ICC", "[, Level(cilevel)]", requires=_multilevel)
def estat_icc(session: Session, args: Args) -> ICCTable:
    """Intraclass correlations per level (Stata's ``_estat_icc``), conditional on zero slopes."""
    from hlmshell.inference.varcomp import icc_rows

    model = _model(session)
    fit = model.fit
    infos = equation_infos(model)
    levels = list(model.structure.levels)
    cons_params: list[int] = []
    for name in levels:
        if name == "_all":
            raise StataError("estat icc is not supported for crossed-effects models", 198)
        found = [info for info in infos if info.level == name and "_cons" in info.names]
        if not found:
            raise StataError(f"no random intercept at level {name}; estat icc requires one", 459)
        info = found[0]
        k = info.names.index("_cons")
        cons_params.append(info.start + (0 if info.cov in ("identity", "exchangeable") else k))
    labels = ["|".join(reversed(levels[: i + 1])) for i in range(len(levels))]
    gamma, V, residual = fit.gamma, fit.V_gamma, None
    latent = getattr(model, "latent_residual", None)     # a GLMM's: the response's latent scale
    if latent is not None:
        found = latent()
        if found is None:
            raise StataError("requested action not valid after most recent estimation command", 321)
        gamma, V, residual = found
    rows = icc_rows(cons_params, labels, gamma, V, level=args.level, residual=residual)
    slopes = any(name != "_cons" for info in infos for name in info.names)
    covariates = any(c.kind != "constant" for c in model.design.columns)
    kind = "conditional" if slopes else ("residual" if covariates else "")
    r = Results()
    for i, row in enumerate(rows):
        k = len(rows) - i + 1
        r.scalars[f"icc{k}"] = row.icc
        r.scalars[f"se{k}"] = row.se
        r.matrices[f"ci{k}"] = StataMatrix(np.array([[row.lower, row.upper]]), ["r1"], ["ll", "ul"])
    r.scalars["level"] = args.level
    session.r = r
    return ICCTable(kind, tuple(ICCRow(row.label, row.icc, row.se, row.lower, row.upper)
                                for row in rows), args.level)


@command("estat RECOVariance", "[, CORRelation RELEVel(string)]", requires=_multilevel)
def estat_recovariance(session: Session, args: Args) -> list[RECovMatrix]:
    """The random-effects covariance (or correlation) matrix of each level, or of ``relevel()``."""
    import scipy.linalg

    from hlmshell.model.multilevel.covariance import cov_from_gamma, n_params

    model = _model(session)
    levels = list(model.structure.levels)
    only = args.relevel
    if only is not None and only not in levels:
        only = varlist.resolve(levels, only)
    gamma = model.fit.gamma
    out, r = [], Results()
    for lv, name in enumerate(levels):
        if only is not None and name != only:
            continue
        blocks = [info for info in equation_infos(model) if info.level == name]
        cov = scipy.linalg.block_diag(*[
            cov_from_gamma(info.cov, len(info.names),
                           gamma[info.start:info.start + n_params(info.cov, len(info.names))])
            for info in blocks])
        names = [n for info in blocks for n in info.names]
        if args.correlation:
            sd = np.sqrt(np.diag(cov))
            cov = cov / np.outer(sd, sd)
        r.matrices[f"{'Corr' if args.correlation else 'Cov'}{lv + 1}"] = StataMatrix(cov, names, names)
        out.append(RECovMatrix(name, tuple(names), tuple(tuple(float(v) for v in row) for row in cov),
                               args.correlation))
    session.r = r
    return out


@command("estat GROup", "", requires=_multilevel)
def estat_group(session: Session, args: Args) -> GroupTable:
    """Number of groups and observations per group at each level."""
    return GroupTable(group_infos(_model(session)))


@command("estat SD", "[, VARiance Level(cilevel)]", requires=_multilevel)
def estat_sd(session: Session, args: Args) -> RETable:
    """The variance components as standard deviations and correlations (``variance``: as variances
    and covariances); r(b) and r(V) hold them, r(V) by the delta method."""
    from hlmshell.inference.varcomp import delta_covariance, equation_rows, residual_row

    model = _model(session)
    fit = model.fit
    sd = not args.variance
    rows, names = [], []
    for info in equation_infos(model):
        for row in equation_rows(info, fit.gamma, fit.V_gamma, sd=sd, level=args.level):
            rows.append(row)
            names.append(f"{info.level}:{row.label}")
    glmm = getattr(model, "latent_residual", None) is not None
    if not glmm:
        rows.append(residual_row(fit.gamma, fit.V_gamma, sd=sd, level=args.level))
        names.append(f"Residual:{rows[-1].label}")
    b = np.array([[row.estimate for row in rows]])
    V = delta_covariance(rows, fit.V_gamma)
    session.r = Results(matrices={"b": StataMatrix(b, ["y1"], names),
                                  "V": StataMatrix(V, list(names), list(names))})
    if glmm:
        from hlmshell.commands.estimation.me_display import re_parameters_table

        return re_parameters_table(model, sd=sd, level=args.level)
    return re_table(model, MixedDisplay(sd=sd, level=args.level, nolrtest=True))


DF_METHOD_WORDS = ("KRoger", "SATterthwaite", "RESidual", "REPeated", "ANOVA")


def _df_methods(model, text: str) -> list[str]:
    """``method()``'s words, with ``_mixed_ddf``'s checks for each."""
    from hlmshell.lang.abbrev import match

    out = []
    for word in text.split():
        name = match(word, DF_METHOD_WORDS)
        if name is None:
            raise StataError(f"{word} is not a valid DF method", 198)
        if not model.structure.equations and name != "residual":
            raise StataError("model is linear regression;  option dfmethod(residual) should be "
                             "used", 198)
        if model.method == "ML" and name in ("kroger", "satterthwaite"):
            title = "Kenward-Roger" if name == "kroger" else "Satterthwaite"
            raise StataError(f"{title} DF method is available only with REML estimation", 198)
        if name == "repeated" and len(model.structure.levels) > 1:
            raise StataError("method repeated is not available for models with more than two "
                             "levels", 198)
        out.append(name)
    return out


def _df_rows(model, columns: list[np.ndarray]):
    """estat df's rows: the coefficient table's labels, one df per method."""
    from hlmshell.commands.estimation.coefrows import coef_rows
    from hlmshell.results.estimation import DFRow

    rows, k = [], 0
    for row in coef_rows(model.design, model.fit.beta, model.fit.V_beta, 95.0):
        if row.status:
            rows.append(DFRow(row.label, term=row.term, status=row.status))
            continue
        rows.append(DFRow(row.label, tuple(float(c[k]) for c in columns), row.term))
        k += 1
    return tuple(rows)


def _indented(text: str) -> str:
    """SMCL's ``{p 4 4 2}`` paragraph of an error message."""
    import textwrap

    return textwrap.fill(text, width=78, initial_indent="    ", subsequent_indent="    ")


def _oim_note(titles: list[str]) -> str:
    return ("Note: The observed information matrix is used to compute "
            f"{' and '.join(titles)} degrees of freedom.")


@command("estat DF", "[, METHod(string) POST(string optional) EIM OIM]", requires=_multilevel)
def estat_df(session: Session, args: Args):
    """Degrees of freedom of each fixed effect, by the fit's dfmethod() or by method().

    ``post``/``post(method)`` makes one method the active one for ``test``/``lincom, small`` and
    ``mixed, small`` (``_mixed_ddf``)."""
    from dataclasses import replace

    from hlmshell.commands.estimation.mixed import post_small_sample
    from hlmshell.inference.ddf import TITLES, fit_small_sample
    from hlmshell.results.estimation import DFTable

    e = session.e
    if e is None:
        raise StataError("last estimates not found", 301)
    model = e.model
    if args.eim and args.oim:
        raise StataError("only one of eim or oim is allowed", 198)
    info = "eim" if args.eim else "oim" if args.oim else None
    if args.method is None:
        if args.post is not None:
            raise StataError("options post and post() require option method()", 198)
        if info:
            raise StataError("option eim or oim requires option method()", 198)
    methods = _df_methods(model, args.method) if args.method is not None else []
    if args.method is not None and not methods:
        raise StataError("invalid syntax", 198)
    if len(methods) > 1 and args.post == "":
        raise StataError("multiple DF methods specified\n" + _indented(
            "When multiple methods are specified on option method(), you must specify which DF "
            "method to post in option post()."), 198)
    if info and not set(methods) & {"kroger", "satterthwaite"}:
        raise StataError(f"option {info} can only be specified when option method() contains "
                         "kroger or satterthwaite", 198)
    posted = None
    if args.post:
        chosen = _df_methods(model, args.post)
        if len(chosen) != 1:
            raise StataError("only one DF method can be specified in option post()", 198)
        if chosen[0] not in methods:
            raise StataError(f"method {chosen[0]} in option post() is not one of methods from "
                             "option method()", 198)
        posted = chosen[0]
    elif args.post == "":
        posted = methods[0]
    ss = model.small_sample
    if ss is None and not methods:
        raise StataError("no degrees of freedom found\n" + _indented(
            "Degrees of freedom cannot be displayed because the previously used mixed command did "
            "not specify the dfmethod() option.  Use option method() with estat df or option "
            "dfmethod() with mixed to compute degrees of freedom."), 198)
    if not model.design.estimable:
        raise StataError("model contains no fixed effects; DF computation is not available", 198)
    names = model.coef_names
    r = Results()
    if not methods:
        found = [ss]
        notes = () if ss.eim else (_oim_note([ss.title]),)
    else:
        data = session.data.loc[session.in_sample(e)] if session.nobs else None
        if "anova" in methods and (data is None or len(data) != model.nobs or not set(
                model.design.variables + model.structure.variables) <= set(data.columns)):
            raise StataError("data have changed since estimation", 459)
        found = [fit_small_sample(model, m, info != "oim", data) for m in methods]
        approx = [TITLES[m] for m in ("kroger", "satterthwaite") if m in methods]
        notes = (_oim_note(approx),) if info == "oim" else ()
    full = np.zeros((len(names), len(found)))
    for j, s in enumerate(found):
        full[list(s.columns), j] = s.df
    r.macros["dfmethods"] = " ".join(s.method for s in found)
    r.matrices["df"] = StataMatrix(full, list(names), [s.method for s in found])
    kroger = next((s for s in found if s.method == "kroger"), None)
    if kroger is not None:
        V = model.vcov.copy()
        k_f = len(model.design.columns)
        V[:k_f, :k_f] = model.design.expand_matrix(kroger.V)
        r.matrices["V_df"] = StataMatrix(V, list(names), list(names))
    if posted is not None:
        chosen = found[methods.index(posted)]
        new = replace(e, scalars=dict(e.scalars), macros=dict(e.macros),
                      matrices=dict(e.matrices), model=replace(model, small_sample=chosen))
        post_small_sample(new, new.model)
        session.e = new
    session.r = r
    return DFTable(model.depvar, tuple(s.title for s in found),
                   _df_rows(model, [s.df for s in found]), notes)
