"""Building ``mixed``'s printed results from its e() results (used by ``mixed`` and by replay)."""

from __future__ import annotations

from hlmshell.commands.estimation.coefrows import coef_rows
from hlmshell.inference.varcomp import EquationInfo, equation_rows, residual_row
from hlmshell.render import Text
from hlmshell.results.estimation import (
    CoefTable,
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
    fit = model.fit
    return [EquationInfo(model.level_names[lv], model.display_names(k), cov, start)
            for k, (lv, cov, start) in enumerate(zip(fit.eq_levels, fit.eq_covs,
                                                     model.equation_starts()))]


def _param(row) -> REParam:
    return REParam(row.label, row.estimate, row.se, row.lower, row.upper)


def re_table(e: EResults) -> RETable:
    model = e.model
    fit, spec = model.fit, model.spec
    V = fit.V_gamma
    blocks = []
    for info in equation_infos(model):
        rows = equation_rows(info, fit.gamma, V, sd=spec.sd, level=spec.level)
        blocks.append(REBlock(info.level, info.cov.capitalize(), tuple(_param(r) for r in rows)))
    residual = (_param(residual_row(fit.gamma, V, sd=spec.sd, level=spec.level)),)
    lr = None
    if not spec.nolrtest:
        k_rs = int(e.scalars["k_rs"])
        chibar = fit.df_c == 1 and k_rs == 2
        lr = LRTestVsLinear(chi2=fit.chi2_c, df=fit.df_c, p=fit.p_c, chibar=chibar,
                            conservative=not chibar and k_rs > 1)
    return RETable(tuple(blocks), residual, lr, spec.level)


def mixed_display(e: EResults) -> list:
    """Header, fixed-effects table and random-effects table, honouring noheader, nogroup, nofetable
    and noretable."""
    model = e.model
    fit, spec = model.fit, model.spec
    groups = tuple(GroupInfo(name, n, lo, avg, hi) for name, n, lo, avg, hi in
                   zip(model.level_names, fit.n_groups, fit.g_min, fit.g_avg, fit.g_max))
    df_m = int(e.scalars["df_m"])
    chi2 = e.scalars["chi2"] if df_m else None
    p = e.scalars["p"] if df_m else None
    out: list = []
    if not spec.noheader:
        out.append(MixedHeader(reml=fit.method == "REML", n_obs=fit.n,
                               groups=() if spec.nogroup else groups, wald_df=df_m,
                               wald_chi2=chi2, wald_p=p, ll=fit.ll))
    if not spec.nofetable:
        out.append(CoefTable(model.depvar, coef_rows(model.design, fit.beta, fit.V_beta, spec.level),
                             spec.level))
    if not spec.noretable:
        out.append(re_table(e))
    if fit.se_failed:
        out.append(Text("Warning: Standard-error calculation failed."))
    return out
