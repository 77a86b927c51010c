"""``logit``, ``probit`` and ``poisson``: single-level GLMs by maximum likelihood (Newton–Raphson).

``logit depvar [indepvars] [if] [in] [, noconstant offset() asis or level() nolog]`` (``probit``
without ``or``; ``poisson`` with ``exposure()`` and ``irr`` instead of ``asis`` and ``or``).  The
outcome of logit and probit is 0 against any other value; a variable whose nonzero values predict
one outcome perfectly is omitted with its observations (``asis`` keeps it), as ``logit.ado`` does.
The log starts from the constant-only model (e(ll_0)), the header gives the LR test against it and
McFadden's pseudo R²; e() as Stata's ``ereturn list`` shows it.  Typed without a varlist a command
redisplays its results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from hlmshell.commands.estimation.coefrows import coef_rows, offset_rows
from hlmshell.commands.estimation.me_display import eform_rows
from hlmshell.errors import StataError
from hlmshell.inference.distributions import chi2_sf
from hlmshell.lang import varlist
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.lang.fvnotation import parse_terms, variables_of
from hlmshell.results.shell import Text
from hlmshell.results.estimation import CoefTable
from hlmshell.results.me import GLMHeader, GLMIterationLog
from hlmshell.results.stored import EResults, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@dataclass(frozen=True)
class GLMCommand:
    name: str
    family: str
    link: str
    title: str
    eform: str                       # "or" | "irr" | ""
    extra: str                       # the command's own options

    @property
    def display(self) -> str:
        return f"{self.eform.upper()} Level(cilevel)".strip()

    @property
    def syntax(self) -> str:
        return (f"[varlist(fv default=none)] [if] [in] [, NOConstant OFFset(varname) {self.extra} "
                f"{self.display} noLOg]")


COMMANDS = {
    "logit": GLMCommand("logit", "bernoulli", "logit", "Logistic regression", "or", "ASis"),
    "probit": GLMCommand("probit", "bernoulli", "probit", "Probit regression", "", "ASis"),
    "poisson": GLMCommand("poisson", "poisson", "log", "Poisson regression", "irr",
                          "EXPosure(varname)"),
}


@dataclass(frozen=True)
class GLMDisplay:
    eform: bool = False
    level: float = 95.0


def glm_output(e: EResults, display: GLMDisplay) -> list:
    model = e.model
    fit = model.fit
    header = GLMHeader(e.macros["title"], fit.n, int(e.scalars["df_m"]), e.scalars["chi2"],
                       e.scalars["p"], e.scalars["r2_p"], fit.ll)
    k = len(fit.beta)
    rows = coef_rows(model.design, fit.beta, fit.V[:k, :k], display.level)
    title = "Coefficient"
    notes: list = []
    if display.eform:
        rows = eform_rows(rows)
        logit = e.macros["cmd"] == "logit"
        title = "Odds ratio" if logit else "IRR"
        if any(c.kind == "constant" for c in model.design.columns):
            notes.append(Text("Note: _cons estimates baseline "
                              + ("odds." if logit else "incidence rate.")))
    rows += offset_rows(model.offset, model.exposure)
    return [header, CoefTable(model.depvar, rows, display.level, coef_title=title), *notes]


def _run(session: Session, args: Args, cmd: GLMCommand) -> list:
    from hlmshell.model.design import build_design
    from hlmshell.model.glm import GLMModel, check_response, constant_only, fit_glm
    from hlmshell.model.multilevel.families import Family

    if not args.varlist_text:
        e = session.e
        if e is None or e.cmd != cmd.name:
            raise StataError("last estimates not found", 301)
        if args.if_ is not None or args.in_ is not None:
            raise StataError("varlist required", 100)
        return glm_output(e, _display(args, e.display, cmd))
    depvar_word, *rest = args.varlist_text.split(None, 1)
    if any(ch in depvar_word for ch in ".#("):
        raise StataError("depvar may not be a factor variable", 198)
    variables = session.variables
    depvar = varlist.resolve(variables, depvar_word)
    if session.is_string(depvar):
        raise StataError(f"string variables not allowed in varlist;\n{depvar} is a string variable",
                         109)
    terms = parse_terms(rest[0] if rest else "", variables)
    offset = varlist.resolve(variables, args.offset) if args.offset else ""
    exposure = varlist.resolve(variables, args.exposure) if getattr(args, "exposure", None) else ""
    if offset and exposure:
        raise StataError("only one of offset() or exposure() can be specified", 198)
    data = session.data
    sample = row_mask(session, args.if_, args.in_)
    for name in dict.fromkeys([depvar, *variables_of(terms), *(v for v in (offset, exposure) if v)]):
        sample &= data[name].notna().to_numpy()
    if exposure:
        sample &= data[exposure].to_numpy(dtype=float, na_value=np.nan) > 0
    if not sample.any():
        raise StataError("no observations", 2000)
    family = Family(cmd.family, cmd.link)
    y = data[depvar].to_numpy(dtype=float, na_value=np.nan)
    if family.binary:
        y = (y != 0).astype(float)
    notes: list[str] = []
    if family.binary and not args.asis:
        from hlmshell.commands.estimation.me import perfect_predictors

        sample, notes = perfect_predictors(data, terms, sample, y)
    check_response(y[sample], family, None, depvar)
    design = build_design(data, terms, constant=not args.noconstant, rows=sample)
    n = int(sample.sum())
    if n <= len(design.estimable):
        raise StataError("insufficient observations", 2001)
    off = None
    if offset:
        off = data.loc[sample, offset].to_numpy(dtype=float)
    elif exposure:
        off = np.log(data.loc[sample, exposure].to_numpy(dtype=float))
    ys = y[sample]
    base = constant_only(ys, family, offset=off)
    start = None
    if design.columns[-1].kind == "constant":        # Stata's iteration 0: the constant-only fit
        start = np.zeros(design.X.shape[1])
        start[-1] = base.beta[0]
    fit = fit_glm(ys, design.X, family, offset=off, start=start)
    model = GLMModel(depvar, design, fit, offset=offset, exposure=exposure)
    display = _display(args, GLMDisplay(), cmd)
    session.e = _post(session, cmd, f"{cmd.name} {args.text.strip()}", model, sample, base, display)
    shown: list = [Text(note) for note in (*notes, *design.notes)]
    if args.log:
        shown.append(GLMIterationLog(tuple(ll for _, ll in fit.log)))
    if not fit.converged:
        shown.append(Text("convergence not achieved"))
    return shown + glm_output(session.e, display)


def _display(args: Args, default: GLMDisplay, cmd: GLMCommand) -> GLMDisplay:
    eform = bool(cmd.eform) and bool(getattr(args, cmd.eform, False))
    return replace(default, eform=eform or default.eform,
                   level=args.level if "level" in args.given else default.level)


def _post(session: Session, cmd: GLMCommand, cmdline: str, model, sample: np.ndarray, base,
          display: GLMDisplay) -> EResults:
    """e() in the order Stata's ``ereturn list`` shows after logit, probit and poisson."""
    fit, design = model.fit, model.design
    has_cons = any(c.kind == "constant" for c in design.columns)
    ll_0 = base.ll if has_cons else float("nan")
    df_m = len(design.estimable) - int(has_cons)
    chi2 = 2.0 * (fit.ll - ll_0) if has_cons else float("nan")
    e = EResults()
    e.scalars.update({
        "N": float(fit.n), "ll_0": ll_0, "ll": fit.ll, "df_m": float(df_m), "chi2": chi2,
        "p": float(chi2_sf(chi2, df_m)) if df_m and has_cons else float("nan"),
        "r2_p": 1.0 - fit.ll / ll_0 if has_cons else float("nan"),
        "k": float(len(design.columns)), "k_eq": 1.0, "k_dv": 1.0,
        "converged": float(fit.converged), "rc": 0.0, "ic": float(fit.iterations),
        "rank": float(len(design.estimable)),
    })
    e.macros.update({
        "cmd": cmd.name, "cmdline": cmdline, "depvar": model.depvar,
        "estat_cmd": f"{cmd.name}_estat", "predict": f"{cmd.name}_p",
        "title": cmd.title, "chi2type": "LR", "opt": "moptimize", "vce": "oim",
        "ml_method": "d2", "technique": "nr", "which": "max", "properties": "b V",
    })
    if model.offset or model.exposure:
        e.macros["offset"] = model.offset or f"ln({model.exposure})"
    names = model.coef_names
    e.matrices["b"] = StataMatrix(model.coef.reshape(1, -1), ["y1"], list(names))
    e.matrices["V"] = StataMatrix(model.vcov, list(names), list(names))
    e.sample = session.sample_keys(sample)
    e.model = model
    e.show, e.display = glm_output, display
    return e


@command("logit", COMMANDS["logit"].syntax, byable="recall")
def logit(session: Session, args: Args) -> list:
    """Logistic regression (maximum likelihood)."""
    return _run(session, args, COMMANDS["logit"])


@command("probit", COMMANDS["probit"].syntax, byable="recall")
def probit(session: Session, args: Args) -> list:
    """Probit regression (maximum likelihood)."""
    return _run(session, args, COMMANDS["probit"])


@command("poisson", COMMANDS["poisson"].syntax, byable="recall")
def poisson(session: Session, args: Args) -> list:
    """Poisson regression (maximum likelihood)."""
    return _run(session, args, COMMANDS["poisson"])
