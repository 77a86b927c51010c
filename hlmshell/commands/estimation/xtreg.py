"""``xtreg depvar [indepvars] [if] [in] [, re|fe|mle sa theta level(#) nolog]``: linear panel
models on the data declared by ``xtset`` (numerics in :mod:`hlmshell.model.panel`).

Posts e() as Stata's xtreg does (N, N_g, g_min/avg/max, df_m, the test, sigma_u, sigma_e, rho,
r2_w/b/o, and for re the thetas, for fe df_r/df_a/F_f, for mle ll/ll_0/ll_c/chi2_c), e(b) and
e(V) over every design column (mle adds sigma_u:_cons and sigma_e:_cons) and e(sample).  Typed
without a varlist it replays the last xtreg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hlmshell.commands.data.xtset import panel_setting
from hlmshell.commands.estimation.coefrows import coef_rows
from hlmshell.commands.estimation.posting import post_model
from hlmshell.errors import StataError
from hlmshell.inference.distributions import chi2_sf, f_sf, normal_cdf, normal_ppf
from hlmshell.inference.wald import coef_stats
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.fvnotation import parse_terms, variables_of
from hlmshell.results.shell import Text
from hlmshell.results.estimation import CoefRow, CoefTable
from hlmshell.results.panel import MLIterations, XtregHeader, XtregOutput
from hlmshell.results.stored import EResults
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

TITLES = {"fe": "Fixed-effects (within) regression", "re": "Random-effects GLS regression",
          "mle": "Random-effects ML regression"}


@dataclass(frozen=True)
class XtregDisplay:
    level: float = 95.0
    theta: bool = False


def _sigma_rows(model, level: float) -> tuple[CoefRow, ...]:
    fit = model.fit
    if model.method != "mle":
        su = fit.sigma_u
        se = math.sqrt(fit.s2) if model.method == "fe" else fit.sigma_e
        rho = su ** 2 / (su ** 2 + se ** 2) if su ** 2 + se ** 2 > 0 else math.nan
        return (CoefRow("sigma_u", su), CoefRow("sigma_e", se), CoefRow("rho", rho))
    k = len(model.design.estimable)
    z = float(normal_ppf(1 - (1 - level / 100) / 2))
    rows = []
    for name, value, var in (("/sigma_u", fit.sigma_u, fit.V[k, k]),
                             ("/sigma_e", fit.sigma_e, fit.V[k + 1, k + 1])):
        se = math.sqrt(var) if value > 0 else math.nan
        lo, hi = (value * math.exp(-z * se / value), value * math.exp(z * se / value)) \
            if value > 0 else (math.nan, math.nan)
        rows.append(CoefRow(name, value, se, lower=lo, upper=hi))
    rho, se_rho = _rho_se(model)
    if 0 < rho < 1:                      # the interval on the probit scale (_diparm, ci(probit))
        q = float(normal_ppf(rho))
        dens = math.exp(-q * q / 2) / math.sqrt(2 * math.pi)
        lo, hi = (float(normal_cdf(q - z * se_rho / dens)), float(normal_cdf(q + z * se_rho / dens)))
    else:
        lo = hi = math.nan
    rows.append(CoefRow("rho", rho, se_rho, lower=lo, upper=hi))
    return tuple(rows)


def _rho_se(model) -> tuple[float, float]:
    """rho = σ_u²/(σ_u² + σ_e²) and its delta-method standard error."""
    fit = model.fit
    k = len(model.design.estimable)
    su, se = fit.sigma_u, fit.sigma_e
    total = su ** 2 + se ** 2
    g = np.array([2 * su * se ** 2 / total ** 2, -2 * se * su ** 2 / total ** 2])
    V = fit.V[k:, k:]
    return su ** 2 / total, float(math.sqrt(max(g @ V @ g, 0.0)))


def _header(model, display: XtregDisplay) -> XtregHeader:
    fit, panels = model.fit, model.panels
    sizes = panels.sizes
    common = dict(title=TITLES[model.method], n_obs=model.nobs, panelvar=model.panelvar,
                  n_groups=panels.n, g_min=int(sizes.min()), g_avg=float(sizes.mean()),
                  g_max=int(sizes.max()))
    k = len(model.design.estimable) - 1
    if model.method == "fe":
        return XtregHeader(**common, test_label=f"F({k},{fit.df_r})", test=fit.F,
                           p_label="Prob > F", p=_f_p(fit.F, k, fit.df_r),
                           r2=(fit.r2.within, fit.r2.between, fit.r2.overall),
                           corr=f"corr(u_i, Xb) = {fit.corr:.4f}")
    if model.method == "re":
        theta = None
        if display.theta:
            from hlmshell.data.statistics import stata_percentile

            t = np.sort(fit.theta)
            theta = (float(t[0]),) if np.ptp(t) == 0 else (
                float(t[0]), stata_percentile(t, 5), stata_percentile(t, 50),
                stata_percentile(t, 95), float(t[-1]))
        return XtregHeader(**common, test_label=f"Wald chi2({k})", test=fit.chi2,
                           p_label="Prob > chi2", p=_chi2_p(fit.chi2, k),
                           r2=(fit.r2.within, fit.r2.between, fit.r2.overall),
                           corr="corr(u_i, X) = 0 (assumed)", theta=theta)
    lr = 2 * (fit.ll - fit.ll_0)
    return XtregHeader(**common, test_label=f"LR chi2({k})", test=lr, p_label="Prob > chi2",
                       p=_chi2_p(lr, k), ll=fit.ll)


def _f_p(F: float, d1: int, d2: int) -> float:
    return float(f_sf(F, d1, d2)) if d1 > 0 and math.isfinite(F) else math.nan


def _chi2_p(chi2: float, df: int) -> float:
    return float(chi2_sf(chi2, df)) if df > 0 and math.isfinite(chi2) else math.nan


def _footer(model) -> str:
    fit = model.fit
    if model.method == "fe":
        d1, d2 = fit.df_u
        left = f"F test that all u_i=0: F({d1}, {d2}) = {fmt(fit.F_u, 2)}"
        return left.ljust(61) + f"Prob > F = {fmt(_f_p(fit.F_u, d1, d2), 4)}"
    if model.method == "mle":
        chibar, p = _chibar(model)
        left = f"LR test of sigma_u=0: chibar2(01) = {fmt(chibar, 2)}"
        return left.ljust(55) + f"Prob >= chibar2 = {fmt(p, 3)}"
    return ""


def fmt(x: float, decimals: int) -> str:
    from hlmshell.lang.numfmt import fmt_f

    return fmt_f(x, 0, decimals)


def _chibar(model) -> tuple[float, float]:
    fit = model.fit
    chibar = 0.0 if fit.sigma_u == 0 else max(2 * (fit.ll - fit.ll_c), 0.0)
    return chibar, 0.5 * float(chi2_sf(chibar, 1)) if chibar > 0 else 1.0


def xtreg_output(model, display: XtregDisplay) -> XtregOutput:
    fit, design = model.fit, model.design
    k = len(design.estimable)
    df = float(fit.df_r) if model.method == "fe" else None
    rows = coef_rows(design, fit.beta[:k], fit.V[:k, :k], display.level, df=df)
    table = CoefTable(model.depvar, rows, display.level, t=model.method == "fe")
    return XtregOutput(_header(model, display), table, _sigma_rows(model, display.level),
                       _footer(model))


def post_results(session: Session, cmdline: str, model, sample: np.ndarray,
                 display: XtregDisplay) -> EResults:
    fit, panels = model.fit, model.panels
    k = len(model.design.estimable) - 1
    sizes = panels.sizes
    e = EResults()
    s = e.scalars
    s.update({"N": float(model.nobs), "N_g": float(panels.n), "g_min": float(sizes.min()),
              "g_avg": float(sizes.mean()), "g_max": float(sizes.max()), "df_m": float(k)})
    if model.method == "fe":
        s.update({"df_r": float(fit.df_r), "df_a": float(panels.n - 1), "df_b": float(k),
                  "F": fit.F, "F_f": fit.F_u, "r2": fit.r2_within, "r2_w": fit.r2.within,
                  "r2_b": fit.r2.between, "r2_o": fit.r2.overall, "rss": fit.rss,
                  "tss": fit.tss, "rmse": math.sqrt(fit.s2), "sigma_u": fit.sigma_u,
                  "sigma_e": math.sqrt(fit.s2), "corr": fit.corr, "ll": fit.ll, "ll_0": fit.ll_0})
    elif model.method == "re":
        t = np.sort(fit.theta)
        from hlmshell.data.statistics import stata_percentile

        s.update({"chi2": fit.chi2, "p": _chi2_p(fit.chi2, k), "r2_w": fit.r2.within,
                  "r2_b": fit.r2.between, "r2_o": fit.r2.overall, "sigma_u": fit.sigma_u,
                  "sigma_e": fit.sigma_e, "rmse": fit.rmse, "Tbar": fit.Tbar,
                  "Tcon": float(np.ptp(sizes) == 0), "thta_min": float(t[0]),
                  "thta_5": stata_percentile(t, 5), "thta_50": stata_percentile(t, 50),
                  "thta_95": stata_percentile(t, 95), "thta_max": float(t[-1])})
        if np.ptp(sizes) == 0:
            s["theta"] = float(t[0])
    else:
        chibar, _ = _chibar(model)
        s.update({"ll": fit.ll, "ll_0": fit.ll_0, "ll_c": fit.ll_c, "chi2": 2 * (fit.ll - fit.ll_0),
                  "p": _chi2_p(2 * (fit.ll - fit.ll_0), k), "chi2_c": chibar,
                  "sigma_u": fit.sigma_u, "sigma_e": fit.sigma_e, "rank": float(k + 3)})
    su, se = s["sigma_u"], s["sigma_e"]
    s["sigma"] = math.sqrt(su ** 2 + se ** 2)
    s["rho"] = su ** 2 / (su ** 2 + se ** 2) if su ** 2 + se ** 2 > 0 else math.nan
    e.macros.update({"cmdline": cmdline, "cmd": "xtreg", "depvar": model.depvar,
                     "ivar": model.panelvar, "model": model.method, "predict": "xtrefe_p"
                     if model.method == "fe" else "xtrere_p" if model.method == "re" else "xtrem_p",
                     "title": TITLES[model.method], "properties": "b V",
                     "chi2type": "LR" if model.method == "mle" else "Wald"})
    return post_model(session, e, model, sample, xtreg_output, display)


def _replay(session: Session, args: Args) -> XtregOutput:
    from hlmshell.model.panel import PanelModel

    e = session.e
    if e is None or not isinstance(e.model, PanelModel):
        raise StataError("last estimates not found", 301)
    display = XtregDisplay(args.level if "level" in args.given else e.display.level,
                           args.theta or e.display.theta)
    return xtreg_output(e.model, display)


@command("xtreg", "[varlist(fv default=none)] [if] [in] [, RE FE MLE SA THeta Level(cilevel) "
         "noLOg]", byable="recall")
def xtreg(session: Session, args: Args) -> list:
    """Fixed-, random-effects (GLS) and ML random-effects linear models for panel data."""
    from hlmshell.model.design import build_design
    from hlmshell.model.panel import (
        PanelModel,
        fit_gls,
        fit_ml,
        fit_within,
        make_panels,
        panel_effects,
        within_design,
    )

    methods = [m for m in ("re", "fe", "mle") if args.options[m]]
    if len(methods) > 1:
        raise StataError(f"options {' and '.join(methods)} may not be combined", 198)
    method = methods[0] if methods else "re"
    if args.sa and method != "re":
        raise StataError("option sa allowed only with re", 198)
    if args.theta and method != "re":
        raise StataError("option theta allowed only with re", 198)
    if not args.varlist_text:
        if args.if_ is not None or args.in_ is not None:
            raise StataError("varlist required", 100)
        return [_replay(session, args)]
    xt = panel_setting(session)
    depvar_word, *rest = args.varlist_text.split(None, 1)
    if any(ch in depvar_word for ch in ".#("):
        raise StataError("depvar may not be a factor variable", 198)
    depvar = varlist.resolve(session.variables, depvar_word)
    if session.is_string(depvar):
        raise StataError(f"string variables not allowed in varlist;\n{depvar} is a string variable",
                         109)
    terms = parse_terms(rest[0] if rest else "", session.variables)
    data = session.data
    sample = row_mask(session, args.if_, args.in_)
    for name in dict.fromkeys([depvar, xt.panel, *variables_of(terms)]):
        sample &= data[name].notna().to_numpy()
    if not sample.any():
        raise StataError("no observations", 2000)
    design = build_design(data, terms, constant=True, rows=sample)
    y = data.loc[sample, depvar].to_numpy(dtype=float)
    panels = make_panels(data.loc[sample, xt.panel].to_numpy(dtype=float))
    if method == "fe":
        design = within_design(design, panels)
    if int(sample.sum()) <= len(design.estimable) + (panels.n if method == "fe" else 0):
        raise StataError("insufficient observations", 2001)
    X = design.X
    fit = {"fe": lambda: fit_within(y, X, panels), "re": lambda: fit_gls(y, X, panels, sa=args.sa),
           "mle": lambda: fit_ml(y, X, panels)}[method]()
    model = PanelModel(depvar, design, method, fit, xt.panel, panels, int(sample.sum()))
    model.u = panel_effects(method, fit, y, X, panels)
    display = XtregDisplay(args.level, args.theta)
    session.e = post_results(session, f"xtreg {args.text.strip()}", model, sample, display)
    out: list = [Text(note) for note in design.notes]
    if method == "mle" and args.log:
        out.append(MLIterations(fit.log_0, fit.log))
    return [*out, xtreg_output(model, display)]
