"""``mixed`` and ``xtmixed``: fit a linear mixed model and post Stata's e() results.

The command reads the data (sample, fixed-effects terms, random-effects equations), fits through
:func:`hlmshell.model.multilevel.mixed_model.fit_mixed_model`, posts e() in Stata's names and order,
and returns the results that :mod:`hlmshell.render` prints.  Typing ``mixed`` with nothing but
display options redisplays the active results, as in Stata.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hlmshell.commands.estimation.mixed_display import mixed_display
from hlmshell.commands.estimation.mixed_syntax import (
    REPLAY,
    SYNTAX,
    MixedSpec,
    REPart,
    dfmethod_spec,
    display_options,
    parse_mixed,
)
from hlmshell.commands.estimation.posting import coef_table_results
from hlmshell.errors import StataError
from hlmshell.inference.lrtest import lr_vs_linear
from hlmshell.inference.wald import fixed_effects_test
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.fvnotation import parse_terms, variables_of
from hlmshell.results.shell import Text
from hlmshell.results.estimation import IterationLog, IterationStep
from hlmshell.results.stored import EResults, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


def _missing(session: Session, name: str) -> np.ndarray:
    values = session.data[name]
    if session.is_string(name):
        return values.isna().to_numpy() | (values.astype(str).to_numpy() == "")
    return values.isna().to_numpy()


def _equation(session: Session, part: REPart, level: str):
    """An ``|| level: ...`` equation as an EquationSpec (``R.varname`` for a factor's identity block,
    used for crossed effects with ``_all``)."""
    from hlmshell.model.multilevel.structure import EquationSpec

    words = part.varspec.split()
    factors = [w for w in words if w[:2] in ("R.", "r.")]
    if factors:
        if len(words) != 1:
            raise StataError("R.varname may not be combined with other variables in an equation", 198)
        if part.cov not in (None, "identity"):
            raise StataError("R.varname implies covariance(identity)", 198)
        return EquationSpec(level, factor=varlist.resolve(session.variables, factors[0][2:]))
    if any("." in w or "#" in w for w in words):
        raise StataError("factor variables not allowed in random-effects equations; use "
                         "R.varname", 101)
    names = varlist.expand(session.variables, part.varspec) if words else []
    if not names and part.noconstant:
        raise StataError(f"{level}: random-effects equation is empty", 198)
    return EquationSpec(level, tuple(names), not part.noconstant, part.cov)


@dataclass
class ModelInputs:
    """What a multilevel command line names, resolved on the data in memory."""

    depvar: str
    terms: list
    levels: list[str]
    equations: list                   # EquationSpec, as typed
    sample: np.ndarray                # rows with none of the variables missing (and if/in)


def model_inputs(session: Session, depvar_spec: str, parts: list[REPart], if_: str | None,
                 in_: str | None, extra: tuple[str, ...] = ()) -> ModelInputs:
    """The dependent variable, fixed-effects terms, levels and equations of ``depvar_spec`` and
    ``parts``, with the estimation sample (``extra``: more variables that must not be missing)."""
    depvar_word, _, fe_spec = depvar_spec.strip().partition(" ")
    if "." in depvar_word or "#" in depvar_word:
        raise StataError("depvar may not be a factor variable", 198)
    variables = session.variables
    depvar = varlist.resolve(variables, depvar_word)
    if session.is_string(depvar):
        raise StataError("string variables not allowed in varlist;\n"
                         f"{depvar} is a string variable", 109)
    terms = parse_terms(fe_spec, variables)
    levels: list[str] = []
    for part in parts:
        name = part.level if part.level == "_all" else varlist.resolve(variables, part.level)
        if name not in levels:
            levels.append(name)
    if "_all" in levels and levels[0] != "_all":
        raise StataError("_all must be the first level", 198)
    equations = [_equation(session, part, level) for part, level in
                 zip(parts, [p.level if p.level == "_all" else
                             varlist.resolve(variables, p.level) for p in parts])]
    re_vars = [v for eq in equations for v in (*eq.variables, *([eq.factor] if eq.factor else []))]
    for name in dict.fromkeys(c.var for t in terms for c in t.comps if c.factor):
        if session.is_string(name):
            raise StataError(f"{name}: string variables may not be used as factor variables", 109)
    for name in re_vars + variables_of(terms) + list(extra):
        if session.is_string(name):
            raise StataError(f"string variables not allowed in varlist;\n{name} is a string variable",
                             109)
    used = dict.fromkeys([depvar, *variables_of(terms), *re_vars, *extra,
                          *[v for v in levels if v != "_all"]])
    sample = row_mask(session, if_, in_)
    for name in used:
        sample &= ~_missing(session, name)
    if not sample.any():
        raise StataError("no observations", 2000)
    return ModelInputs(depvar, terms, levels, equations, sample)


def fit(session: Session, spec: MixedSpec):
    """The fitted model and the estimation sample."""
    from hlmshell.model.multilevel.mixed_model import fit_mixed_model

    if spec.using is not None:
        from hlmshell.commands.estimation.mixed_stream import fit_using

        return fit_using(session, spec)
    inputs = model_inputs(session, spec.depvar_spec, spec.equations, spec.if_, spec.in_)
    if inputs.sample.all():     # every row: a view of one True for the sample, not n booleans kept
        inputs = replace(inputs, sample=np.broadcast_to(np.True_, inputs.sample.shape))
    data = session.data if inputs.sample.all() else session.data.loc[inputs.sample]  # no copy
    model = fit_mixed_model(data, inputs.depvar, inputs.terms,
                            inputs.levels, inputs.equations, constant=not spec.noconstant,
                            reml=spec.reml, maxiter=spec.iterate, tolerance=spec.tolerance,
                            ltolerance=spec.ltolerance, nrtolerance=spec.nrtolerance)
    return model, inputs.sample


def post_results(session: Session, spec: MixedSpec, cmdline: str, model, sample: np.ndarray
                 ) -> EResults:
    """e() as Stata's ``mixed`` leaves it (names and order as ``ereturn list`` shows them)."""
    fit, design, structure = model.fit, model.design, model.structure
    k_f, k_r = len(design.columns), len(fit.gamma)
    names = model.coef_names
    chi2, df_m, p = fixed_effects_test(design, fit.beta, fit.V_beta)
    lr = lr_vs_linear(fit.ll, fit.ll_linear, k_r - 1)
    k_rs = sum(1 for g in fit.gamma_names if g.startswith("lns"))  # the lns* and lnsig_e
    e = EResults()
    e.scalars.update({
        "rank": float(len(fit.beta) + k_r), "k_f": float(k_f), "k_r": float(k_r),
        "k": float(k_f + k_r), "k_rs": float(k_rs), "k_rc": float(k_r - k_rs), "k_res": 0.0,
        "converged": float(fit.converged), "ic": float(fit.optimiser.iterations), "ll": fit.ll,
        "ll_c": fit.ll_linear, "df_c": float(lr.df), "chi2_c": lr.chi2, "p_c": lr.p,
        "N": float(fit.n), "nrgroups": 1.0, "small": 0.0, "df_m": float(df_m), "p": p, "chi2": chi2,
        "rc": 0.0,
    })
    levels = list(structure.levels)
    e.macros.update({
        "cmdline": cmdline,
        "datasignaturevars": " ".join(dict.fromkeys(
            [model.depvar, *design.variables,
             *[v for eq in structure.equations for v in (*eq.spec.variables, eq.spec.factor) if v],
             *[v for v in levels if v != "_all"]])),
        "chi2type": "Wald", "rstructlab": "Independent", "rstructure": "independent",
        "estat_cmd": "mixed_estat", "predict": "mixed_p" if spec.cmd == "mixed" else "xtmixed_p",
        "redim": " ".join(str(eq.q if eq.spec.factor is None else 1) for eq in structure.equations),
        "ivars": " ".join(levels[eq.level] for eq in structure.equations),
        "vartypes": " ".join(eq.cov.capitalize() for eq in structure.equations),
        "revars": " ".join(f"R.{eq.spec.factor}" if eq.spec.factor else " ".join(eq.names)
                           for eq in structure.equations),
        "cmd": spec.cmd, "title": f"Mixed-effects {fit.method} regression", "technique": "nr",
        "ml_method": "d0", "opt": "moptimize", "method": fit.method, "optmetric": "matsqrt",
        "depvar": model.depvar, "properties": "b V",
    })
    e.matrices["b"] = StataMatrix(model.coef.reshape(1, -1), ["y1"], names)
    e.matrices["V"] = StataMatrix(model.vcov, list(names), list(names))
    groups = structure.groups
    for key, values in (("g_max", [g.g_max for g in groups]), ("g_avg", [g.g_avg for g in groups]),
                        ("g_min", [g.g_min for g in groups]), ("N_g", [g.n_groups for g in groups])):
        e.matrices[key] = StataMatrix(np.asarray(values, dtype=float).reshape(1, -1), ["r1"],
                                      list(levels))
    if model.small_sample is not None:
        post_small_sample(e, model)
    e.sample = session.sample_keys(sample)
    e.model = model
    e.show, e.display = mixed_display, spec.display
    return e


def post_small_sample(e: EResults, model) -> None:
    """e() of a dfmethod() fit (``_mixed_ddf``'s ``Post``): the method, each coefficient's df, the
    DF summary, the model F test of the fixed effects but _cons, and for Kenward–Roger the
    adjusted covariance e(V_df)."""
    from hlmshell.inference.ddf import model_test, summary

    ss = model.small_sample
    design = model.design
    names = model.coef_names
    df = np.zeros(len(names))
    df[list(ss.columns)] = ss.df
    tested = [j for j in design.estimable if design.columns[j].kind != "constant"]
    test = model_test(ss, tested, model.coef)
    low, avg, high = summary(ss)
    e.scalars.update({"small": 1.0, "df_min": low, "df_avg": avg, "df_max": high,
                      "ddf_m": test.ddf, "F": test.F})
    e.macros.update({"dfmethod": ss.method, "dftitle": ss.title})
    e.matrices["df"] = StataMatrix(df.reshape(1, -1), [ss.method], list(names))
    if ss.method == "kroger":
        V = model.vcov.copy()
        k_f = len(design.columns)
        V[:k_f, :k_f] = design.expand_matrix(ss.V)
        e.matrices["V_df"] = StataMatrix(V, list(names), list(names))


def _notes(spec: MixedSpec, model) -> list:
    shown: list = [Text(note) for note in model.design.notes]
    if spec.log:
        steps = tuple(IterationStep(ll) for _, ll in model.fit.optimiser.log)
        shown.append(IterationLog(reml=spec.reml, steps=steps, em=False))
    if not model.fit.converged:
        shown.append(Text("convergence not achieved"))
    return shown


def _replay(session: Session, text: str) -> list:
    from hlmshell.model.multilevel.mixed_model import MixedModel

    e = session.e
    if e is None or not isinstance(e.model, MixedModel):
        raise StataError("last estimates not found", 301)
    args = REPLAY.parse(text)
    if args.small:
        if e.model.small_sample is None:
            raise StataError("option small requires that option dfmethod() is specified with "
                             "mixed during estimation", 198)
        if args.nofetable:
            raise StataError("option nofetable may not be combined with option small", 198)
    return mixed_display(e, display_options(args, e.display))


def _run(session: Session, args: Args, name: str) -> list:
    text = args.anything
    if not text or text.startswith(","):
        return _replay(session, text)
    spec = parse_mixed(text, name, session.variables)
    ddf = dfmethod_spec(spec)
    if ddf is not None and ddf[0] in ("kroger", "satterthwaite") and any(
            part.varspec.strip()[:2] in ("R.", "r.") for part in spec.equations):
        # the REML derivatives difference the nested factorisation; crossed designs have another
        raise StataError(f"option dfmethod({ddf[0]}) not available with R.varname random effects",
                         198)
    model, sample = fit(session, spec)
    if ddf is not None:
        from hlmshell.inference.ddf import fit_small_sample

        model.small_sample = fit_small_sample(model, *ddf, session.data.loc[sample])
    session.e = post_results(session, spec, f"{name} {text}", model, sample)
    session.r = coef_table_results(session.e, spec.display.level)
    shown = replace(spec.display, small=ddf is not None)
    return _notes(spec, model) + mixed_display(session.e, shown)


@command("mixed", SYNTAX)
def mixed(session: Session, args: Args) -> list:
    """Multilevel mixed-effects linear regression (ML by default)."""
    return _run(session, args, "mixed")


@command("xtmixed", SYNTAX)
def xtmixed(session: Session, args: Args) -> list:
    """mixed's older name: REML by default, standard deviations and correlations displayed."""
    return _run(session, args, "xtmixed")
