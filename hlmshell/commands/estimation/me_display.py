"""The me commands' printed results from their e() results and display options (fit and replay)."""

from __future__ import annotations

import math

import numpy as np

from hlmshell.commands.estimation.coefrows import coef_rows, offset_rows
from hlmshell.commands.estimation.me_syntax import MEDisplay
from hlmshell.commands.estimation.mixed_display import equation_infos, group_infos
from hlmshell.inference.lrtest import lr_vs_linear
from hlmshell.inference.varcomp import equation_rows
from hlmshell.inference.wald import coef_stats
from hlmshell.results.shell import Text
from hlmshell.results.estimation import (
    CoefRow,
    CoefTable,
    LRTestVsLinear,
    REBlock,
    REParam,
    RETable,
)
from hlmshell.results.me import MEHeader, MESection, METable
from hlmshell.shell.session import EResults

XT_COMMANDS = ("xtmelogit", "xtmepoisson")
TITLES = {"logistic": "logistic", "probit": "probit", "cloglog": "complementary log-log",
          "Poisson": "Poisson", "nbinomial": "negative binomial", "linear": "linear"}
LINK_TEXT = {"cloglog": "complementary log-log"}
FAMILY_TEXT = {"gaussian": "Gaussian", "bernoulli": "Bernoulli", "poisson": "Poisson",
               "nbinomial": "negative binomial"}


def title(model, cmd: str) -> str:
    """``Mixed-effects logistic regression``; without random effects the single-level title."""
    mixed = bool(model.structure.equations)
    if cmd == "meglm":
        return "Mixed-effects GLM" if mixed else "Generalized linear model"
    name = TITLES[model.family.model]
    if mixed:
        return f"Mixed-effects {name} regression"
    return f"{name[0].upper()}{name[1:]} regression"


def lr_test(e: EResults) -> LRTestVsLinear | None:
    """``LR test vs. <model> model`` from e(chi2_c), e(df_c), e(p_c); none if not converged."""
    if not e.scalars.get("converged") or not e.scalars.get("k_r"):
        return None
    test = lr_vs_linear(e.scalars["ll"], e.scalars["ll_c"], int(e.scalars["df_c"]))
    return LRTestVsLinear(chi2=test.chi2, df=test.df, p=test.p, chibar=test.chibar,
                          conservative=test.conservative, model=e.macros["model"])


def header(e: EResults, display: MEDisplay) -> MEHeader:
    model = e.model
    fit = model.fit
    fam = model.family
    df_m = int(e.scalars["df_m"])
    binomial = e.macros.get("binomial", "")
    meglm = e.macros.get("cmd2") == "meglm"
    return MEHeader(
        title=e.macros["title"], n_obs=fit.n,
        family=(binomial and "binomial" or FAMILY_TEXT[fam.name]) if meglm else "",
        link=LINK_TEXT.get(fam.link, fam.link) if meglm else "",
        binomial=binomial, binomial_variable=not _is_number(binomial),
        dispersion=e.macros.get("dispersion", ""),
        groups=() if display.nogroup else group_infos(model),
        intmethod=fit.method if model.structure.equations else "",
        intpoints=None if fit.method == "laplace" else fit.intpoints,
        wald_df=df_m, wald_chi2=e.scalars["chi2"] if df_m else None,
        wald_p=e.scalars["p"] if df_m else None, ll=fit.ll, xt=e.macros.get("cmd") in XT_COMMANDS)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def eform_rows(rows: tuple[CoefRow, ...]) -> tuple[CoefRow, ...]:
    """exp(b) with SE exp(b)·se and the CI's ends exponentiated; z and P as they were."""
    out = []
    for r in rows:
        if r.status or r.coef is None:
            out.append(r)
            continue
        eb = math.exp(r.coef)
        out.append(CoefRow(r.label, eb, eb * r.se, r.z, r.p, math.exp(r.lower), math.exp(r.upper),
                           r.term, r.status))
    return tuple(out)


def _z(level: float) -> float:
    from hlmshell.inference.distributions import normal_ppf

    return float(normal_ppf(0.5 + level / 200.0))


def _sections(model, display: MEDisplay) -> list[MESection]:
    """The ancillary parameter, then per level its variances and its covariances."""
    fit = model.fit
    k = fit.p
    out: list[MESection] = []
    if fit.anc is not None:
        se = math.sqrt(max(fit.V[k, k], 0.0))
        if model.family.name == "gaussian":
            z = _z(display.level)
            var = math.exp(2 * fit.anc)
            row = CoefRow(f"var(e.{model.depvar})", var, 2 * var * se, None, None,
                          math.exp(2 * (fit.anc - z * se)), math.exp(2 * (fit.anc + z * se)))
        else:
            st = coef_stats(fit.anc, se, level=display.level)
            row = CoefRow(f"/{model.family.ancillary}", st.estimate, st.se, None, None,
                          st.lower, st.upper)
        out.append(MESection("", (row,), parameters=model.family.name == "gaussian"))
    params = model.re_parameters()
    V = model.vcov
    start = len(model.coef_names) - len(params)
    z = _z(display.level)
    blocks: dict[tuple[str, str], list[CoefRow]] = {}
    for i, par in enumerate(params):
        se = math.sqrt(max(V[start + i, start + i], 0.0))
        if par.kind == "var":
            lnv = math.log(par.value) if par.value > 0 else -math.inf
            with np.errstate(over="ignore"):
                half = z * se / par.value if par.value > 0 else math.inf
                # a variance collapsing to zero: the upper limit overflows to +inf (missing)
                lower = float(np.exp(lnv - half)) if np.isfinite(half) else float("nan")
                upper = float(np.exp(lnv + half)) if np.isfinite(half) else float("nan")
            row = CoefRow(par.label, par.value, se, None, None, lower, upper)
        else:
            st = coef_stats(par.value, se, level=display.level)
            row = CoefRow(par.label, st.estimate, st.se, st.stat, st.p, st.lower, st.upper)
        blocks.setdefault((par.level, par.kind), []).append(row)
    for (level, _), rows in blocks.items():
        out.append(MESection(level, tuple(rows)))
    return out


def _notes(e: EResults, display: MEDisplay) -> tuple[str, ...]:
    if not display.eform:
        return ()
    if e.macros["model"] == "logistic":
        return ("Note: Estimates are transformed only in the first equation to odds ratios.",
                "Note: _cons estimates baseline odds (conditional on zero random effects).")
    return ("Note: Estimates are transformed only in the first equation to incidence-rate ratios.",
            "Note: _cons estimates baseline incidence rate (conditional on zero random effects).")


def re_parameters_table(model, *, sd: bool, level: float, lr: LRTestVsLinear | None = None
                        ) -> RETable:
    """The random-effects parameters in a table of their own, with no residual row: xtmelogit's
    (meqrlogit's) layout, and ``estat sd`` after the me commands."""
    fit = model.fit
    blocks = []
    for info in equation_infos(model):
        rows = equation_rows(info, fit.gamma, fit.V_gamma, sd=sd, level=level)
        blocks.append(REBlock(info.level, info.cov.capitalize(),
                              tuple(REParam(r.label, r.estimate, r.se, r.lower, r.upper) for r in rows)))
    return RETable(tuple(blocks), (), lr, level)


def me_display(e: EResults, display: MEDisplay) -> list:
    """Header, the coefficient table and the LR test, as the display options ask."""
    model = e.model
    fit = model.fit
    out: list = []
    if not display.noheader:
        out.append(header(e, display))
    lr = None if display.nolrtest else lr_test(e)
    if not display.notable:
        rows = coef_rows(model.design, fit.beta, fit.V_beta, display.level)
        coef_title = "Coefficient"
        if display.eform:
            rows = eform_rows(rows)
            coef_title = "Odds ratio" if e.macros["model"] == "logistic" else "IRR"
        rows += offset_rows(model.offset, model.exposure)
        if e.macros.get("cmd") in XT_COMMANDS:
            out.append(CoefTable(model.depvar, rows, display.level, coef_title=coef_title))
            out.append(re_parameters_table(model, sd=display.sd, level=display.level, lr=lr))
        else:
            out.append(METable(model.depvar, rows, tuple(_sections(model, display)), display.level,
                               coef_title, lr, _notes(e, display)))
    elif lr is not None:
        from hlmshell.render.mixed import lr_lines

        out.append(Text("\n".join(lr_lines(lr))))
    if fit.se_failed:
        out.append(Text("Warning: Standard-error calculation failed."))
    return out
