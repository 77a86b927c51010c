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
    rows = icc_rows(cons_params, labels, fit.gamma, fit.V_gamma, level=args.level)
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
    rows.append(residual_row(fit.gamma, fit.V_gamma, sd=sd, level=args.level))
    names.append(f"Residual:{rows[-1].label}")
    b = np.array([[row.estimate for row in rows]])
    V = delta_covariance(rows, fit.V_gamma)
    session.r = Results(matrices={"b": StataMatrix(b, ["y1"], names),
                                  "V": StataMatrix(V, list(names), list(names))})
    return re_table(model, MixedDisplay(sd=sd, level=args.level, nolrtest=True))
