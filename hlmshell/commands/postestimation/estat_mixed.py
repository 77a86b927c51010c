"""``estat icc``, ``estat recovariance`` and ``estat group`` after ``mixed``."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from hlmshell.commands.estimation.mixed_display import equation_infos
from hlmshell.commands.postestimation.estat import register_estat
from hlmshell.errors import StataError
from hlmshell.inference.varcomp import covariance_matrix, icc_rows
from hlmshell.lang import varlist
from hlmshell.lang.syntax import parse_syntax
from hlmshell.results.estimation import (
    GroupInfo,
    GroupTable,
    ICCRow,
    ICCTable,
    RECovMatrix,
)
from hlmshell.shell.session import Results, Session, StataMatrix


def _mixed_model(session: Session):
    if session.e is None:
        raise StataError("last estimates not found", 301)
    if session.e.cmd not in ("mixed", "xtmixed") or session.e.model is None:
        raise StataError("estat subcommand not available after " + (session.e.cmd or "this command"),
                         321)
    return session.e.model


def _no_options(rest: str) -> float:
    syn = parse_syntax(rest, allow_exp=False)
    if syn.anything or syn.if_ or syn.in_ or syn.using:
        raise StataError("invalid syntax", 198)
    level = syn.options.take_arg("level", 3)
    syn.options.finish()
    return float(level) if level is not None else 95.0


def estat_icc(session: Session, rest: str) -> ICCTable:
    """Intraclass correlations per level (Stata's ``_estat_icc``), conditional on zero slopes."""
    level = _no_options(rest)
    model = _mixed_model(session)
    fit = model.fit
    infos = equation_infos(model)
    cons_params: list[int] = []
    for lv, name in enumerate(model.level_names):
        if name == "_all":
            raise StataError("estat icc is not supported for crossed-effects models", 198)
        found = [info for info in infos if info.level == name and "_cons" in info.names]
        if not found:
            raise StataError(f"no random intercept at level {name}; estat icc requires one", 459)
        info = found[0]
        k = info.names.index("_cons")
        cons_params.append(info.start + (0 if info.cov in ("identity", "exchangeable") else k))
    labels = ["|".join(reversed(model.level_names[: i + 1])) for i in range(len(model.level_names))]
    rows = icc_rows(cons_params, labels, fit.gamma, fit.V_gamma, level=level)
    slopes = any(name != "_cons" for info in infos for name in info.names)
    covariates = any(c.kind != "constant" for c in model.design.columns)
    kind = "conditional" if slopes else ("residual" if covariates else "")
    r = Results()
    L = len(rows)
    for i, row in enumerate(rows):
        k = L - i + 1
        r.scalars[f"icc{k}"] = row.icc
        r.scalars[f"se{k}"] = row.se
        r.matrices[f"ci{k}"] = StataMatrix(np.array([[row.lower, row.upper]]), ["r1"], ["ll", "ul"])
    r.scalars["level"] = level
    session.r = r
    return ICCTable(kind, tuple(ICCRow(row.label, row.icc, row.se, row.lower, row.upper)
                                for row in rows), level)


def estat_recovariance(session: Session, rest: str) -> list[RECovMatrix]:
    """The random-effects covariance (or correlation) matrix of each level, or of ``level(name)``."""
    model = _mixed_model(session)
    syn = parse_syntax(rest, allow_exp=False)
    if syn.anything or syn.if_ or syn.in_:
        raise StataError("invalid syntax", 198)
    corr = syn.options.take("correlation", 4)
    only = syn.options.take_arg("relevel", 5)
    syn.options.finish()
    if only is not None and only not in model.level_names:
        only = varlist.resolve(model.level_names, only)
    fit = model.fit
    infos = equation_infos(model)
    out = []
    r = Results()
    for lv, name in enumerate(model.level_names):
        if only is not None and name != only:
            continue
        blocks = [info for info in infos if info.level == name]
        cov = scipy.linalg.block_diag(*[covariance_matrix(info, fit.gamma) for info in blocks])
        names = [n for info in blocks for n in info.names]
        if corr:
            sd = np.sqrt(np.diag(cov))
            cov = cov / np.outer(sd, sd)
        r.matrices[f"{'Corr' if corr else 'Cov'}{lv + 1}"] = StataMatrix(cov, names, names)
        out.append(RECovMatrix(name, tuple(names), tuple(tuple(float(v) for v in row) for row in cov),
                               corr))
    session.r = r
    return out


def estat_group(session: Session, rest: str) -> GroupTable:
    """Number of groups and observations per group at each level."""
    _no_options(rest)
    model = _mixed_model(session)
    fit = model.fit
    return GroupTable(tuple(GroupInfo(name, n, lo, avg, hi) for name, n, lo, avg, hi in
                            zip(model.level_names, fit.n_groups, fit.g_min, fit.g_avg, fit.g_max)))


register_estat("icc", 3, estat_icc)
register_estat("recovariance", 4, estat_recovariance)
register_estat("group", 3, estat_group)
