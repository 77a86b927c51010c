"""``mixed`` and ``xtmixed``: fit a linear mixed model and post Stata's e() results.

The command reads the data (sample, design matrices, grouping codes), calls the estimation core,
posts e() in Stata's names and order, and returns the results that :mod:`hlmshell.render` prints.
Typing ``mixed`` with nothing after it redisplays the active results, as in Stata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlmshell.commands.estimation.mixed_display import mixed_display
from hlmshell.commands.estimation.mixed_syntax import MixedSpec, REPart, parse_mixed
from hlmshell.commands.postestimation.replay import register_replay
from hlmshell.errors import StataError
from hlmshell.inference.varcomp import n_params
from hlmshell.inference.wald import wald_test
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.fvnotation import fv_variables
from hlmshell.model.design import Design, build_design
from hlmshell.model.multilevel.lmm import MixedFit, REEquation, fit_mixed
from hlmshell.render import Text
from hlmshell.results.estimation import IterationLog, IterationStep
from hlmshell.shell.registry import command
from hlmshell.shell.session import EResults, Session, StataMatrix


def _missing(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.isna().to_numpy()
    return values.isna().to_numpy() | (values.astype(str).to_numpy() == "")


def _re_terms(session: Session, part: REPart) -> tuple[list[str], str | None]:
    """An equation's variables, or the factor of an ``R.varname`` term (Stata's identity block
    over the levels of a factor, used for crossed effects with ``_all``)."""
    words = part.varspec.split()
    factors = [w for w in words if w[:2] in ("R.", "r.")]
    if factors:
        if len(words) != 1:
            raise StataError("R.varname may not be combined with other variables in an equation", 198)
        if part.cov not in (None, "identity"):
            raise StataError("R.varname implies covariance(identity)", 198)
        return [], varlist.resolve(session.variables, factors[0][2:])
    if any("." in w or "#" in w for w in words):
        raise StataError("factor variables not allowed in random-effects equations; use "
                         "R.varname", 101)
    return (varlist.expand(session.variables, part.varspec) if words else []), None


def _resolve_level(session: Session, name: str) -> str:
    if name == "_all":
        return name
    return varlist.resolve(session.variables, name)


def _sample(session: Session, spec: MixedSpec, used: list[str]) -> np.ndarray:
    mask = row_mask(session, spec.if_, spec.in_)
    for name in used:
        mask &= ~_missing(session.data[name])
    if not mask.any():
        raise StataError("no observations", 2000)
    return mask


def _level_codes(data: pd.DataFrame, name: str) -> np.ndarray:
    if name == "_all":
        return np.zeros(len(data), dtype=np.int64)
    return pd.factorize(data[name], sort=True)[0]


def fit_from_spec(session: Session, spec: MixedSpec, cmdline: str) -> tuple[EResults, list]:
    """Fit ``spec`` on the session's data; return the e() results and the notes/log to show."""
    depvar_word, _, fe_spec = spec.depvar_spec.strip().partition(" ")
    if "." in depvar_word or "#" in depvar_word:
        raise StataError("depvar may not be a factor variable", 198)
    depvar = varlist.resolve(session.variables, depvar_word)
    if session.is_string(depvar):
        raise StataError("string variables not allowed in varlist;\n"
                         f"{depvar} is a string variable", 109)
    fe_vars = fv_variables(fe_spec, session.variables)
    parts = [(p, _resolve_level(session, p.level), *_re_terms(session, p)) for p in spec.equations]
    level_names: list[str] = []
    for _, level, _, _ in parts:
        if level not in level_names:
            level_names.append(level)
    if "_all" in level_names and level_names[0] != "_all":
        raise StataError("_all must be the first level", 198)
    re_vars = [v for _, _, vs, factor in parts for v in (vs + [factor] if factor else vs)]
    for name in re_vars + fe_vars:
        if session.is_string(name):
            raise StataError(f"string variables not allowed in varlist;\n{name} is a string variable", 109)
    used = [depvar, *fe_vars, *re_vars, *[n for n in level_names if n != "_all"]]
    sample = _sample(session, spec, list(dict.fromkeys(used)))
    data = session.data.loc[sample].reset_index(drop=True)

    design = build_design(session.data, fe_spec, constant=not spec.noconstant, rows=sample)
    y = data[depvar].to_numpy(dtype=float)
    ordered = sorted(range(len(parts)), key=lambda k: level_names.index(parts[k][1]))
    equations: list[REEquation] = []
    eq_parts: list[tuple[REPart, str, list[str]]] = []
    factor_codes: dict[int, np.ndarray] = {}
    for k in ordered:
        part, level, names, factor = parts[k]
        if factor is not None:
            codes, values = pd.factorize(data[factor], sort=True)
            if len(data) * len(values) > 5e7:
                raise StataError(f"R.{factor}: too many levels ({len(values):,}) for this data size", 908)
            factor_codes[len(equations)] = codes
            names = [f"{v:g}.{factor}" for v in values]
            Z = (codes[:, None] == np.arange(len(values))[None, :]).astype(float)
            equations.append(REEquation(level_names.index(level), names, Z, "identity"))
            eq_parts.append((part, level, [f"R.{factor}"]))
            continue
        cols = [data[v].to_numpy(dtype=float) for v in names]
        names = list(names)
        if not part.noconstant:
            cols.append(np.ones(len(data)))
            names.append("_cons")
        if not names:
            raise StataError(f"{level}: random-effects equation is empty", 198)
        cov = part.cov or ("identity" if len(names) == 1 else "independent")
        if cov == "exchangeable" and len(names) < 2:
            cov = "identity"
        equations.append(REEquation(level_names.index(level), names, np.column_stack(cols), cov))
        eq_parts.append((part, level, names))
    levels = [_level_codes(data, name) for name in level_names]

    log: list[tuple[int, float]] = []
    fit = fit_mixed(y, design.X, levels, equations, reml=spec.reml, maxiter=spec.iterate,
                    tol=spec.tolerance, on_iteration=lambda i, ll: log.append((i, ll)))
    shown: list = [Text(note) for note in design.notes]
    if spec.log:
        steps = tuple(IterationStep(ll) for _, ll in log)
        shown.append(IterationLog(reml=spec.reml, steps=steps, em=False))
    if not fit.converged:
        shown.append(Text("convergence not achieved"))
    e = post_results(spec, cmdline, depvar, fe_spec, design, fit, level_names, eq_parts, sample)
    e.model.factor_codes = factor_codes
    return e, shown


def _fixed_names(depvar: str, design: Design) -> list[str]:
    return [f"{depvar}:{c.name}" for c in design.columns]


def post_results(spec: MixedSpec, cmdline: str, depvar: str, design_spec: str, design: Design,
                 fit: MixedFit,
                 level_names: list[str], eq_parts: list[tuple[REPart, str, list[str]]],
                 sample: np.ndarray) -> EResults:
    """e() as Stata's ``mixed`` leaves it (names and order as ``ereturn list`` shows them)."""
    k_f = len(design.columns)
    k_r = len(fit.gamma)
    b = np.zeros(k_f + k_r)
    V = np.zeros((k_f + k_r, k_f + k_r))
    est = np.array(design.estimable, dtype=int)
    b[est] = fit.beta
    V[np.ix_(est, est)] = fit.V_beta
    b[k_f:] = fit.gamma
    V[k_f:, k_f:] = fit.V_gamma
    names = _fixed_names(depvar, design) + [f"{g}:_cons" for g in fit.gamma_names]

    tested = [i for i, j in enumerate(design.estimable) if design.columns[j].kind != "constant"]
    if tested:
        R = np.eye(len(fit.beta))[tested]
        wald = wald_test(R, np.zeros(len(tested)), fit.beta, fit.V_beta)
        chi2, df_m, p = wald.chi2, wald.df, wald.p
    else:
        chi2, df_m, p = np.nan, 0, np.nan
    k_rs = sum(1 for g in fit.gamma_names if g.startswith("lns"))  # the lns* and lnsig_e
    e = EResults()
    e.scalars.update({
        "rank": float(len(fit.beta) + k_r), "k_f": float(k_f), "k_r": float(k_r),
        "k": float(k_f + k_r), "k_rs": float(k_rs), "k_rc": float(k_r - k_rs), "k_res": 0.0,
        "converged": float(fit.converged), "ic": float(fit.iterations), "ll": fit.ll,
        "ll_c": fit.ll_c, "df_c": float(fit.df_c), "chi2_c": fit.chi2_c, "p_c": fit.p_c,
        "N": float(fit.n), "nrgroups": 1.0, "small": 0.0, "df_m": float(df_m), "p": p, "chi2": chi2,
        "rc": 0.0,
    })
    title = f"Mixed-effects {fit.method} regression"
    vartypes = " ".join(_vartype(part_cov) for part_cov in fit.eq_covs)
    e.macros.update({
        "cmdline": cmdline,
        "datasignaturevars": " ".join(dict.fromkeys(
            [depvar, *design.variables,
             *[v.removeprefix("R.") for _, _, vs in eq_parts for v in vs if v != "_cons"],
             *[n for n in level_names if n != "_all"]])),
        "chi2type": "Wald", "rstructlab": "Independent", "rstructure": "independent",
        "estat_cmd": "mixed_estat", "predict": "mixed_p" if spec.cmd == "mixed" else "xtmixed_p",
        "redim": " ".join(str(len(names)) for _, _, names in eq_parts),
        "ivars": " ".join(level_names[lv] for lv in fit.eq_levels),
        "vartypes": vartypes,
        "revars": " ".join(" ".join(names) for _, _, names in eq_parts),
        "cmd": spec.cmd, "title": title, "technique": "nr", "ml_method": "d0", "opt": "moptimize",
        "method": fit.method, "optmetric": "matsqrt", "depvar": depvar, "properties": "b V",
    })
    e.matrices["b"] = StataMatrix(b.reshape(1, -1), ["y1"], names)
    e.matrices["V"] = StataMatrix(V, list(names), list(names))
    for key, values in (("g_max", fit.g_max), ("g_avg", fit.g_avg), ("g_min", fit.g_min),
                        ("N_g", fit.n_groups)):
        e.matrices[key] = StataMatrix(np.asarray(values, dtype=float).reshape(1, -1), ["r1"],
                                      list(level_names))
    e.sample = sample
    e.model = MixedModel(spec=spec, fit=fit, design=design, depvar=depvar, design_spec=design_spec,
                         level_names=level_names, eq_parts=eq_parts)
    return e


def _vartype(cov: str) -> str:
    return cov.capitalize()


class MixedModel:
    """What post-estimation needs beyond e(): the fit, the design and how the model was typed."""

    def __init__(self, *, spec: MixedSpec, fit: MixedFit, design: Design, depvar: str, design_spec: str,
                 level_names: list[str], eq_parts: list[tuple[REPart, str, list[str]]]) -> None:
        self.spec = spec
        self.design_spec = design_spec
        self.constant = not spec.noconstant
        self.coef = {design.columns[j].name: float(b) for j, b in zip(design.estimable, fit.beta)}
        self.fit = fit
        self.design = design
        self.depvar = depvar
        self.level_names = level_names
        self.eq_parts = eq_parts
        # equation index → each sample row's level of the factor of an ``R.varname`` equation
        self.factor_codes: dict[int, np.ndarray] = {}

    def display_names(self, k: int) -> list[str]:
        """What equation k's rows are labelled with (``R.sector`` for a factor's identity block)."""
        return self.eq_parts[k][2]

    def equation_starts(self) -> list[int]:
        """Index in γ of each equation's first parameter (equations are in γ order)."""
        starts, pos = [], 0
        for cov, names in zip(self.fit.eq_covs, self.fit.eq_names):
            starts.append(pos)
            pos += n_params(cov, len(names))
        return starts


def _run(session: Session, cmd: Command, name: str) -> list:
    if not cmd.rest.strip():
        if session.e is None or session.e.cmd not in ("mixed", "xtmixed"):
            raise StataError("last estimates not found", 301)
        return mixed_display(session.e)
    spec = parse_mixed(cmd.rest, name)
    cmdline = f"{name} {cmd.rest.strip()}"
    e, shown = fit_from_spec(session, spec, cmdline)
    session.e = e
    return shown + mixed_display(e)


@command("mixed", usage="mixed depvar [fe_vars] [if] [in] [|| level: [re_vars | R.var] "
                        "[, covariance(independent|exchangeable|identity|unstructured) noconstant]] "
                        "... [, ml reml noconstant variance stddeviations level(#) iterate(#) "
                        "nolog noheader nogroup nofetable noretable nolrtest]")
def mixed(session: Session, cmd: Command) -> list:
    """Multilevel mixed-effects linear regression (ML by default)."""
    return _run(session, cmd, "mixed")


@command("xtmixed", usage="xtmixed: as mixed (REML and standard deviations by default)")
def xtmixed(session: Session, cmd: Command) -> list:
    """mixed's older name: REML by default, standard deviations and correlations displayed."""
    return _run(session, cmd, "xtmixed")


register_replay("mixed", lambda session, e: mixed_display(e))
register_replay("xtmixed", lambda session, e: mixed_display(e))
