"""``mixed``'s printed results from its e() results and display options (fit and replay)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hlmshell.commands.estimation.coefrows import coef_rows
from hlmshell.commands.estimation.mixed_syntax import MixedDisplay
from hlmshell.inference.lrtest import lr_vs_linear
from hlmshell.inference.varcomp import EquationInfo, equation_rows, residual_row
from hlmshell.inference.wald import coef_stats
from hlmshell.model.protocol import small_sample
from hlmshell.results.shell import Text
from hlmshell.render.postest import paragraph
from hlmshell.results.estimation import (
    CoefRow,
    CoefTable,
    DFSummary,
    GroupInfo,
    LRTestVsLinear,
    MixedHeader,
    REBlock,
    REParam,
    RETable,
)
from hlmshell.shell.session import EResults


def equation_infos(model) -> list[EquationInfo]:
    """One EquationInfo per random-effects equation, in γ order."""
    from hlmshell.model.multilevel.covariance import n_params

    infos, start = [], 0
    for eq in model.structure.equations:
        names = [f"R.{eq.spec.factor}"] if eq.spec.factor else list(eq.names)
        infos.append(EquationInfo(model.structure.levels[eq.level], names, eq.cov, start))
        start += n_params(eq.cov, eq.q)
    return infos


def group_infos(model) -> tuple[GroupInfo, ...]:
    return tuple(GroupInfo(name, g.n_groups, g.g_min, g.g_avg, g.g_max)
                 for name, g in zip(model.structure.levels, model.structure.groups))


def _param(row) -> REParam:
    return REParam(row.label, row.estimate, row.se, row.lower, row.upper)


def re_table(model, display: MixedDisplay) -> RETable:
    fit = model.fit
    blocks = []
    for info in equation_infos(model):
        rows = equation_rows(info, fit.gamma, fit.V_gamma, sd=display.sd, level=display.level)
        blocks.append(REBlock(info.level, info.cov.capitalize(), tuple(_param(r) for r in rows)))
    residual = (_param(residual_row(fit.gamma, fit.V_gamma, sd=display.sd, level=display.level)),)
    lr = None
    if not display.nolrtest:
        test = lr_vs_linear(fit.ll, fit.ll_linear, len(fit.gamma) - 1)
        lr = LRTestVsLinear(chi2=test.chi2, df=test.df, p=test.p, chibar=test.chibar,
                            conservative=test.conservative)
    return RETable(tuple(blocks), residual, lr, display.level)


def _estmetric_table(model, display: MixedDisplay) -> CoefTable:
    """Every parameter in the estimation metric: the fixed effects, then lns…, atr…, lnsig_e."""
    fit = model.fit
    fixed = coef_rows(model.design, fit.beta, fit.V_beta, display.level)
    blocks = [(model.depvar, fixed)]
    for k, name in enumerate(fit.gamma_names):
        se = float(fit.V_gamma[k, k]) ** 0.5 if fit.V_gamma[k, k] > 0 else float("nan")
        st = coef_stats(float(fit.gamma[k]), se, level=display.level)
        blocks.append((name, (CoefRow("_cons", st.estimate, st.se, st.stat, st.p, st.lower,
                                      st.upper),)))
    return CoefTable("", (), display.level, tuple(blocks))


def _df_summary(e: EResults) -> DFSummary:
    from hlmshell.inference.distributions import f_sf

    F, ddf, df_m = e.scalars["F"], e.scalars["ddf_m"], e.scalars["df_m"]
    p = float(f_sf(F, df_m, ddf)) if df_m and np.isfinite(F) and np.isfinite(ddf) else np.nan
    return DFSummary(e.macros["dftitle"], e.scalars["df_min"], e.scalars["df_avg"],
                     e.scalars["df_max"], F, ddf, p)


def mixed_display(e: EResults, display: MixedDisplay) -> list:
    """Header, fixed-effects table and random-effects table, as the display options ask; with
    ``small`` (a dfmethod() fit, or replay with ``small``) the header's DF block and F test and a
    fixed-effects table in t with each coefficient's df (Kenward–Roger: its adjusted SEs)."""
    model = e.model
    fit = model.fit
    df_m = int(e.scalars["df_m"])
    ss = small_sample(model) if display.small else None
    out: list = []
    if not display.noheader:
        out.append(MixedHeader(reml=fit.method == "REML", n_obs=fit.n,
                               groups=() if display.nogroup else group_infos(model), wald_df=df_m,
                               wald_chi2=e.scalars["chi2"] if df_m else None,
                               wald_p=e.scalars["p"] if df_m else None, ll=fit.ll,
                               df=None if ss is None else _df_summary(e)))
    if display.estmetric:
        out.append(_estmetric_table(model, display))
        if ss is not None:
            out.append(Text("\n".join(paragraph(
                "Note: Large-sample z-statistics are reported when results are displayed in the "
                "estimation metric.", width=76))))
    else:
        if not display.nofetable:
            V, df = (fit.V_beta, None) if ss is None else (ss.V, ss.df)
            out.append(CoefTable(model.depvar, coef_rows(model.design, fit.beta, V, display.level,
                                                         df=df), display.level, t=ss is not None))
        if not display.noretable:
            table = re_table(model, display)
            info = small_sample(model)
            if info is not None and not info.eim:     # _xtmixed_display's DiVarComp, when e(eim) is 0
                table = replace(table, notes=(
                    "Note: The observed information matrix is used to compute "
                    f"{info.title} degrees of freedom.",))
            out.append(table)
    if fit.se_failed:
        out.append(Text("Warning: Standard-error calculation failed."))
    return out
