"""The me commands: ``melogit``, ``meprobit``, ``mecloglog``, ``mepoisson``, ``menbreg``, ``meglm``
and the older names ``xtmelogit``, ``xtmepoisson``.

Each reads its line (:mod:`.me_syntax`), resolves the variables and the sample as ``mixed`` does
(:func:`.mixed.model_inputs`), checks the response for its family, drops perfect predictors of a
binary outcome as ``logit`` does (unless ``asis``), fits through
:func:`hlmshell.model.multilevel.glmm_model.fit_glmm_model`, and posts e() in Stata's names (the
me commands run ``gsem``: e(cmd) is ``meglm`` and e(cmd2) the command).  Typed with nothing but
display options, a command redisplays the active results, as in Stata.

``xtmelogit`` and ``xtmepoisson`` are Stata's ``meqrlogit``/``meqrpoisson`` under their old names:
mode-curvature adaptive quadrature by default (``laplace`` for the Laplace approximation), standard
deviations and correlations in a separate random-effects table, e(b) in the estimation metric
(``lns1_1_1:_cons``).
"""

from __future__ import annotations

import numpy as np

from hlmshell.commands.estimation.me_display import me_display, title
from hlmshell.commands.estimation.me_syntax import COMMANDS, Command, MESpec, display_options, parse_me
from hlmshell.commands.estimation.mixed import model_inputs
from hlmshell.errors import StataError
from hlmshell.inference.lrtest import lr_vs_linear
from hlmshell.inference.wald import fixed_effects_test
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args, parse_declaration
from hlmshell.results.shell import Text
from hlmshell.results.me import MEIterationLog
from hlmshell.results.stored import EResults, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


def _trials(session: Session, spec: MESpec) -> tuple[str | float | None, tuple[str, ...]]:
    """binomial(): a variable (abbreviations allowed) or a number of trials."""
    if spec.family != "binomial" or spec.binomial is None:
        return None, ()
    try:
        n = float(spec.binomial)
    except ValueError:
        name = varlist.resolve(session.variables, spec.binomial)
        return name, (name,)
    if not n >= 1 or n == float("inf") or n != int(n):
        raise StataError(f"binomial({spec.binomial}) invalid", 198)
    return n, ()


def _offset_names(session: Session, spec: MESpec) -> tuple[str, str]:
    offset = varlist.resolve(session.variables, spec.offset) if spec.offset else ""
    exposure = varlist.resolve(session.variables, spec.exposure) if spec.exposure else ""
    return offset, exposure


def fit(session: Session, spec: MESpec):
    """The fitted model, the estimation sample and the notes of the fit (perfect predictors)."""
    from hlmshell.model.glm import check_response
    from hlmshell.model.multilevel.families import Family
    from hlmshell.model.multilevel.glmm_model import fit_glmm_model

    trials, trial_vars = _trials(session, spec)
    offset, exposure = _offset_names(session, spec)
    extra = tuple(v for v in (offset, exposure, *trial_vars) if v)
    inputs = model_inputs(session, spec.depvar_spec, spec.equations, spec.if_, spec.in_, extra)
    if any(eq.factor for eq in inputs.equations):
        raise StataError("R.varname (crossed random effects) is not available with the me "
                         "commands here; use mixed for a linear model", 198)
    family = Family("bernoulli" if spec.family == "bernoulli" else spec.family, spec.link,
                    spec.dispersion)
    sample = inputs.sample
    data = session.data
    if exposure:
        bad = sample & ~(data[exposure].to_numpy(dtype=float, na_value=np.nan) > 0)
        sample = sample & ~bad
    notes: list[str] = []
    y = data[inputs.depvar].to_numpy(dtype=float, na_value=np.nan)
    if family.binary and trials is None:
        y = (y != 0).astype(float)
    ntr = None if trials is None else (data[trials].to_numpy(dtype=float, na_value=np.nan)
                                       if isinstance(trials, str) else np.full(len(data), trials))
    if family.binary and not spec.asis and trials is None:
        sample, notes = perfect_predictors(data, inputs.terms, sample, y)
    check_response(y[sample], family, None if ntr is None else ntr[sample], inputs.depvar)
    frame = data.loc[sample].copy()
    frame[inputs.depvar] = y[sample]
    model = fit_glmm_model(frame, inputs.depvar, inputs.terms, inputs.levels, inputs.equations,
                           family, constant=not spec.noconstant, offset=offset, exposure=exposure,
                           trials=trials, method=spec.intmethod, intpoints=spec.intpoints,
                           maxiter=spec.iterate, tolerance=spec.tolerance,
                           ltolerance=spec.ltolerance, nrtolerance=spec.nrtolerance)
    return model, sample, notes


def perfect_predictors(data, terms, sample: np.ndarray, y: np.ndarray
                       ) -> tuple[np.ndarray, list[str]]:
    """``logit``'s rule: a design column whose nonzero values all go with one outcome predicts it
    perfectly; it is omitted and those observations are not used (repeated until none is left)."""
    from hlmshell.model.design import build_design

    notes: list[str] = []
    sample = sample.copy()
    while True:
        design = build_design(data, terms, rows=sample)
        ys = y[sample]
        found = None
        for k, j in enumerate(design.estimable):
            col = design.columns[j]
            if col.kind == "constant":
                continue
            nz = design.X[:, k] != 0
            if nz.all() or not nz.any():
                continue
            if np.all(ys[nz] == 1) or np.all(ys[nz] == 0):
                found = (col, nz, "success" if np.all(ys[nz] == 1) else "failure")
                break
        if found is None:
            return sample, notes
        col, nz, outcome = found
        rows = np.flatnonzero(sample)[nz]
        sample[rows] = False
        notes.append(f"note: {col.label} != 0 predicts {outcome} perfectly;\n"
                     f"      {col.label} omitted and {len(rows)} obs not used.")


def post_results(session: Session, spec: MESpec, command_: Command, cmdline: str, model,
                 sample: np.ndarray) -> EResults:
    """e() as the me commands leave it (names and order as Stata's ``ereturn list`` shows them)."""
    fit, design, structure = model.fit, model.design, model.structure
    xt = command_.xt
    names = model.coef_names
    params = model.re_parameters()
    chi2, df_m, p = fixed_effects_test(design, fit.beta, fit.V_beta)
    rank = fit.p + fit.k_anc + len(fit.gamma)
    lr = lr_vs_linear(fit.ll, fit.comparison.ll, len(fit.gamma)) if fit.gamma.size else None
    k_rs = sum(1 for par in params if par.kind == "var")
    e = EResults()
    k_eq = 1 + int(len(names) > len(design.columns))
    e.scalars.update({
        "N": float(fit.n), "k": float(len(names)), "k_dv": 1.0, "k_eq": float(k_eq),
        "k_eq_model": 1.0, "k_f": float(len(design.columns)), "k_r": float(len(params)),
        "k_rs": float(k_rs), "k_rc": float(len(params) - k_rs), "ll": fit.ll, "chi2": chi2,
        "p": p, **({} if lr is None else {"ll_c": fit.comparison.ll, "chi2_c": lr.chi2,
                                          "df_c": float(lr.df), "p_c": lr.p}),
        "df_m": float(df_m), "rank": float(rank), "ic": float(fit.optimiser.iterations),
        "rc": 0.0, "converged": float(fit.converged),
    })
    levels = list(structure.levels)
    family = model.family
    fam_name = family.name
    binomial = "" if model.trials is None else (
        model.trials if isinstance(model.trials, str) else f"{model.trials:g}")
    e.macros.update({
        "cmd": spec.cmd if xt else "meglm", "cmd2": spec.cmd, "cmdline": cmdline,
        "depvar": model.depvar,
        "covariates": " ".join(c.name for c in design.columns if c.kind != "constant") or "_cons",
        "ivars": " ".join(levels[eq.level] for eq in structure.equations),
        "model": family.model, "title": title(model, spec.cmd), "link": family.link,
        "family": fam_name,
    })
    if model.offset or model.exposure:
        e.macros["offset"] = model.offset or f"ln({model.exposure})"
    if binomial:
        e.macros["binomial"] = binomial
    if family.name == "nbinomial":
        e.macros["dispersion"] = family.dispersion
    e.macros.update({
        "intmethod": fit.method, "n_quad": "" if fit.method == "laplace" else str(fit.intpoints),
        "chi2type": "Wald", "vce": "oim", "opt": "moptimize", "which": "max",
        "ml_method": "d0" if xt else "gf0", "technique": "nr",
        "datasignaturevars": " ".join(dict.fromkeys(
            [model.depvar, *design.variables,
             *[v for eq in structure.equations for v in eq.spec.variables],
             *[v for v in levels if v != "_all"],
             *[v for v in (model.offset, model.exposure,
                           model.trials if isinstance(model.trials, str) else "") if v]])),
        "properties": "b V", "estat_cmd": f"{spec.cmd}_estat", "predict": f"{spec.cmd}_p",
        "marginsnotok": "stdp reffects scores",
    })
    labels = model.level_labels
    hidden = {"labels": " ".join(labels[eq.level] for eq in structure.equations),
              "revars": " ".join(" ".join(eq.names) for eq in structure.equations),
              "redim": " ".join(str(eq.q) for eq in structure.equations), "mecmd": "1"}
    if family.binary and family.link in ("logit", "probit", "cloglog"):
        hidden.update(iccok="ok", icctype=family.link)
    elif family.name == "gaussian":
        hidden.update(iccok="ok", icctype="linear")
    e.macros.update(hidden)
    e.hidden.update(hidden)
    if xt:
        b_names = [f"{model.depvar}:{c.name}" for c in design.columns] + \
                  [f"{g}:_cons" for g in fit.gamma_names]
        k_f = len(design.columns)
        V = np.zeros((len(b_names), len(b_names)))
        V[:k_f, :k_f] = design.expand_matrix(fit.V_beta)
        V[k_f:, k_f:] = fit.V_gamma
        b = np.concatenate([design.expand(fit.beta), fit.gamma])
    else:
        b_names, b, V = names, model.coef, model.vcov
    e.matrices["b"] = StataMatrix(b.reshape(1, -1), ["y1"], list(b_names))
    e.matrices["V"] = StataMatrix(V, list(b_names), list(b_names))
    groups = structure.groups
    for key, values in (("N_g", [g.n_groups for g in groups]), ("g_min", [g.g_min for g in groups]),
                        ("g_avg", [g.g_avg for g in groups]), ("g_max", [g.g_max for g in groups])):
        e.matrices[key] = StataMatrix(np.asarray(values, dtype=float).reshape(1, -1), ["r1"],
                                      list(levels))
    e.sample = session.sample_keys(sample)
    e.model = model
    e.show, e.display = me_display, spec.display
    return e


def _iteration_log(spec: MESpec, model) -> MEIterationLog:
    fit = model.fit
    return MEIterationLog(glm=tuple(ll for _, ll in fit.comparison.log), grid=tuple(fit.grid),
                          steps=tuple(ll for _, ll in fit.optimiser.log))


def _replay(session: Session, command_: Command, text: str) -> list:
    e = session.e
    if e is None or e.macros.get("cmd2") != command_.name:
        raise StataError("last estimates not found", 301)
    args = parse_declaration(command_.replay_syntax).parse(text, session.variables)
    return me_display(e, display_options(args, e.display, command_))


def _run(session: Session, args: Args, command_: Command) -> list:
    text = args.anything
    if not text or text.startswith(","):
        return _replay(session, command_, text)
    spec = parse_me(text, command_, session.variables)
    model, sample, notes = fit(session, spec)
    session.e = post_results(session, spec, command_, f"{command_.name} {text}", model, sample)
    shown: list = [Text(note) for note in (*notes, *model.design.notes)]
    if spec.log and model.structure.equations:
        shown.append(_iteration_log(spec, model))
    if not model.fit.converged:
        shown.append(Text("convergence not achieved"))
    return shown + me_display(session.e, spec.display)


@command("melogit", COMMANDS["melogit"].syntax)
def melogit(session: Session, args: Args) -> list:
    """Multilevel mixed-effects logistic regression."""
    return _run(session, args, COMMANDS["melogit"])


@command("meprobit", COMMANDS["meprobit"].syntax)
def meprobit(session: Session, args: Args) -> list:
    """Multilevel mixed-effects probit regression."""
    return _run(session, args, COMMANDS["meprobit"])


@command("mecloglog", COMMANDS["mecloglog"].syntax)
def mecloglog(session: Session, args: Args) -> list:
    """Multilevel mixed-effects complementary log-log regression."""
    return _run(session, args, COMMANDS["mecloglog"])


@command("mepoisson", COMMANDS["mepoisson"].syntax)
def mepoisson(session: Session, args: Args) -> list:
    """Multilevel mixed-effects Poisson regression."""
    return _run(session, args, COMMANDS["mepoisson"])


@command("menbreg", COMMANDS["menbreg"].syntax)
def menbreg(session: Session, args: Args) -> list:
    """Multilevel mixed-effects negative binomial regression."""
    return _run(session, args, COMMANDS["menbreg"])


@command("meglm", COMMANDS["meglm"].syntax)
def meglm(session: Session, args: Args) -> list:
    """Multilevel mixed-effects generalized linear models (family(), link())."""
    return _run(session, args, COMMANDS["meglm"])


@command("xtmelogit", COMMANDS["xtmelogit"].syntax)
def xtmelogit(session: Session, args: Args) -> list:
    """melogit's older name (meqrlogit): mode-curvature quadrature, sd and corr displayed."""
    return _run(session, args, COMMANDS["xtmelogit"])


@command("xtmepoisson", COMMANDS["xtmepoisson"].syntax)
def xtmepoisson(session: Session, args: Args) -> list:
    """mepoisson's older name (meqrpoisson): mode-curvature quadrature, sd and corr displayed."""
    return _run(session, args, COMMANDS["xtmepoisson"])
