"""``nlcom`` and ``predictnl``: nonlinear combinations of the coefficients and nonlinear predictions,
with delta-method standard errors ([R] nlcom, [R] predictnl).

Expressions are Stata expressions (:mod:`hlmshell.lang.expr`) in ``_b[...]``; ``predictnl`` also
takes ``predict(...)`` and ``xb()``.  The derivative with respect to e(b) is by central differences
of the expression evaluated at moved coefficients; a ``predict()`` term moves through the model's
Jacobian (the chain rule), so predictions are asked of the model only at the estimates.  As in
Stata 13 and later, the statistics are z (or t with ``df()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from hlmshell.commands.postestimation.margins import PostedMargins, checked_df
from hlmshell.errors import StataError, syntax_error
from hlmshell.inference.distributions import chi2_sf, f_sf, normal_ppf, t_ppf
from hlmshell.inference.nonlinear import delta_variance, gradient
from hlmshell.inference.wald import coef_stats
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import evaluate, evaluate_node_scalar, parse, row_mask
from hlmshell.lang.scan import top_level_positions
from hlmshell.model.protocol import statistic
from hlmshell.results.shell import Text
from hlmshell.results.estimation import CoefRow, CoefTable
from hlmshell.results.nlcom import NlcomOutput
from hlmshell.results.stored import EResults, Results, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")


class _AtCoefficients:
    """The session as expressions see it, with e(b) replaced (for the derivatives) and, for
    ``predictnl``, with the data replaced."""

    def __init__(self, session: Session, b: np.ndarray, data: Any = None) -> None:
        self._session = session
        src = session.e
        self.e = EResults(matrices={"b": StataMatrix(b.reshape(1, -1), ["y1"],
                                                     list(src.matrices["b"].colnames)),
                                    "V": src.matrices["V"]})
        self.e.macros = src.macros
        self.e.scalars = src.scalars
        if data is not None:
            self.data = data
            self.nobs = len(data)
            self.by_rows = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _active(session: Session) -> EResults:
    e = session.e
    if e is None or "b" not in e.matrices or "V" not in e.matrices:
        raise StataError("last estimates not found", 301)
    return e


def _split_name(text: str) -> tuple[str | None, str]:
    """``ratio: _b[a]/_b[b]`` → ("ratio", "_b[a]/_b[b]"); ``:`` inside brackets is an equation."""
    for i, ch in top_level_positions(text):
        if ch == ":":
            name, exp = text[:i].strip(), text[i + 1:].strip()
            if not name:
                raise StataError("invalid name", 198)
            if not _NAME.match(name):
                raise StataError(f"invalid name: {name}", 198)
            return name, exp
    return None, text.strip()


def _equations(text: str) -> list[tuple[str, str]]:
    text = text.strip()
    if not text:
        raise syntax_error()
    groups: list[str] = []
    if text.startswith("("):
        depth, start = 0, 0
        for i, ch in enumerate(text):
            if ch == "(":
                depth += 1
                if depth == 1:
                    start = i
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    groups.append(text[start + 1:i])
            elif depth == 0 and not ch.isspace():
                groups = []
                break
    if not groups:
        groups = [text]
    out = []
    for k, group in enumerate(groups, start=1):
        name, exp = _split_name(group)
        if re.search(r"(?<![<>!~=])=(?!=)", exp):
            raise StataError('"=" not allowed in expression', 198)
        out.append((name or f"_nl_{k}", exp))
    return out


def _uses_variables(node: Any, variables: set[str]) -> str | None:
    if isinstance(node, tuple):
        if node and node[0] == "name" and node[1] in variables:
            return node[1]
        for part in node[1:]:
            found = _uses_variables(part, variables) if isinstance(part, (tuple, list)) else None
            if found:
                return found
    elif isinstance(node, list):
        for part in node:
            found = _uses_variables(part, variables)
            if found:
                return found
    return None


@command("NLcom", "anything [, Level(cilevel) POST noHEADer DF(real)]")
def nlcom(session: Session, args: Args) -> list:
    """Point estimates, standard errors, tests and intervals of nonlinear combinations."""
    e = _active(session)
    checked_df(args.df)
    equations = _equations(args.anything)
    b = e.matrices["b"].values.reshape(-1)
    V = e.matrices["V"].values
    free = np.diag(V) > 0
    nodes = []
    for _, exp in equations:
        node = parse(exp)
        var = _uses_variables(node, set(session.variables))
        if var is not None:
            raise StataError(f"expression ({exp}) contains reference to {var} rather than "
                             f"_b[{var}]", 198)
        value = evaluate_node_scalar(session, node)
        if isinstance(value, str) or not np.isfinite(value):
            raise StataError(f"expression ({exp}) evaluates to missing", 498)
        nodes.append(node)

    def values(at: np.ndarray) -> np.ndarray:
        view = _AtCoefficients(session, at)
        return np.array([float(evaluate_node_scalar(view, node)) for node in nodes])

    est = values(b)
    G = gradient(values, b, free)
    Vn = G @ V @ G.T
    names = [name for name, _ in equations]
    se = np.sqrt(np.maximum(np.diag(Vn), 0.0))
    rows = []
    for name, value, s in zip(names, est, se):
        st = coef_stats(float(value), float(s), level=args.level, df=args.df)
        rows.append(CoefRow(name, st.estimate, st.se, st.stat, st.p, st.lower, st.upper))
    depvar = e.macros.get("depvar", "")
    depvar = depvar if len(depvar.split()) == 1 else ""
    out = NlcomOutput(tuple(equations) if args.header else (), CoefTable(depvar, tuple(rows),
                                                                          args.level),
                      t=args.df is not None)
    res = Results()
    if "N" in e.scalars:
        res.scalars["N"] = e.scalars["N"]
    if args.df is not None:
        res.scalars["df_r"] = float(args.df)
    res.matrices["b"] = StataMatrix(est.reshape(1, -1), ["y1"], names)
    res.matrices["V"] = StataMatrix(Vn, list(names), list(names))
    if args.post:
        posted = EResults()
        posted.scalars.update(res.scalars)
        posted.macros.update({"cmd": "nlcom", "predict": "nlcom_p", "properties": "b V",
                              **({"depvar": depvar} if depvar else {})})
        posted.matrices.update({"b": res.matrices["b"], "V": res.matrices["V"]})
        posted.sample = e.sample
        posted.model = PostedMargins(args.df)
        posted.show = lambda e, display: [out]
        session.e = posted
    session.r = res
    return [out]


# -- predictnl --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Prediction:
    """A ``predict(...)``/``xb()`` of the expression: its statistic and the temporary name."""

    stat: str
    name: str


def _predictions(text: str, model: Any, variables: list[str]) -> tuple[str, list[_Prediction]]:
    """The expression with each ``predict(...)`` / ``xb()`` replaced by a temporary name."""
    out, found = "", []
    i = 0
    pattern = re.compile(r"\b(predict|xb)\s*\(")
    while True:
        m = pattern.search(text, i)
        if m is None:
            out += text[i:]
            return out, found
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        if depth:
            raise syntax_error()
        inner = text[m.end():j - 1].strip()
        if m.group(1) == "xb":
            if inner:
                raise StataError(f"xb({inner}) invalid", 198)
            stat = "xb"
        else:
            stat = inner.lower() or model.statistics[0].name
        if statistic(model, stat) is None:
            raise StataError(f"{m.group(0)}{inner}) invalid", 198)
        name = f"__pnl{len(found) + 1}"
        while name in variables:
            name += "_"
        found.append(_Prediction(stat, name))
        out += text[i:m.start()] + name
        i = j


@command("PREDICTNL", "newvarname =exp [if] [in] [, SE(name) VARiance(name) Wald(name) P(name) "
         "CI(string) Level(cilevel) DF(real)]")
def predictnl(session: Session, args: Args) -> list:
    """Nonlinear predictions with delta-method standard errors, tests and intervals."""
    e = _active(session)
    model = e.model
    if model is None or isinstance(model, PostedMargins):
        raise StataError("last estimates not found", 301)
    newvar = args.newvars[0]
    extra = [n for n in (args.se, args.variance, args.wald, args.p) if n]
    ci = args.ci.split() if args.ci else []
    if args.ci is not None and len(ci) != 2:
        raise StataError("ci() requires two new variable names", 198)
    names = [newvar, *extra, *ci]
    for name in names:
        if name in session.variables:
            raise StataError(f"variable {name} already defined", 110)
    if len(set(names)) != len(names):
        raise StataError("variable names must be distinct", 198)
    checked_df(args.df)
    rows = row_mask(session, args.if_, args.in_)
    text, preds = _predictions(args.exp, model, session.variables)
    data = session.data.loc[rows].reset_index(drop=True)
    b = e.matrices["b"].values.reshape(-1)
    V = e.matrices["V"].values
    base = data.copy()
    jacobians = []
    for p in preds:
        base[p.name] = model.predict(p.stat, data)[0]
        try:
            jacobians.append(np.asarray(model.jacobian(p.stat, data), dtype=float))
        except ValueError:
            raise StataError("expression is a function of possibly stochastic quantities other "
                             "than e(b)", 498) from None
    def at(coef: np.ndarray, frame: Any) -> np.ndarray:
        value = evaluate(_AtCoefficients(session, coef, frame), text)
        if isinstance(value, str):
            raise StataError("type mismatch", 109)
        return np.broadcast_to(np.asarray(value, dtype=float), (len(frame),)).copy()

    fbeta = at(b, base)
    needed = bool(extra or ci)
    var = None
    if needed:
        G = gradient(lambda coef: at(coef, base), b, np.diag(V) > 0)
        for p, J in zip(preds, jacobians):          # the chain rule through each predict()
            h = 1e-6 * np.maximum(np.abs(base[p.name].to_numpy(dtype=float)), 1e-2)
            up, down = base.copy(), base.copy()
            up[p.name] = base[p.name] + h
            down[p.name] = base[p.name] - h
            dg = (at(b, up) - at(b, down)) / (2 * h)
            G = G + dg[:, None] * J
        var = delta_variance(G, V)
    return _store(session, args, rows, newvar, fbeta, var, ci)


def _store(session: Session, args: Args, rows: np.ndarray, newvar: str, fbeta: np.ndarray,
           var: np.ndarray | None, ci: list[str]) -> list:
    stored = "double" if args.storage_type == "double" else "float"
    n = session.nobs
    frame = session.data.copy()
    shown: list = []

    def put(name: str, values: np.ndarray, label: str) -> None:
        full = np.full(n, np.nan)
        full[rows] = values
        if stored != "double":
            full = full.astype(np.float32).astype(np.float64)
        frame[name] = full
        session.var_labels[name] = label

    put(newvar, fbeta, "Prediction")
    missing = int(n - np.isfinite(frame[newvar].to_numpy(dtype=float)).sum())
    if missing:
        shown.append(Text(f"({missing:,} missing value{'s' if missing != 1 else ''} generated)"))
    finite = fbeta[np.isfinite(fbeta)]
    if len(finite) and finite.min() == finite.max():
        shown.append(Text("Warning: prediction constant over observations; perhaps you meant to "
                          "run nlcom."))
    if var is not None:
        if args.variance:
            put(args.variance, var, f"Variance: {newvar}")
        if args.se:
            put(args.se, np.sqrt(var), f"Standard error: {newvar}")
        with np.errstate(divide="ignore", invalid="ignore"):
            wald = np.where(var == 0, np.nan, fbeta ** 2 / var)
        if args.wald:
            put(args.wald, wald, f"Wald test statistic: {newvar}")
        if args.p:
            if args.df is None:
                shown.append(Text("note: p-values are with respect to the chi-squared(1) "
                                  "distribution"))
                put(args.p, chi2_sf(wald, 1), f"Level of significance: {newvar}")
            else:
                shown.append(Text(f"note: p-values are with respect to the F(1,{args.df:g}) "
                                  "distribution"))
                put(args.p, f_sf(wald, 1, args.df), f"Level of significance: {newvar}")
        if ci:
            if args.df is None:
                shown.append(Text("note: confidence intervals calculated using Z critical values"))
                crit = float(normal_ppf((100 + args.level) / 200))
            else:
                shown.append(Text(f"note: confidence intervals calculated using t({args.df:g}) "
                                  "critical values"))
                crit = float(t_ppf((100 + args.level) / 200, args.df))
            level = f"{args.level:g}"
            put(ci[0], fbeta - crit * np.sqrt(var), f"{level}% lower bound: {newvar}")
            put(ci[1], fbeta + crit * np.sqrt(var), f"{level}% upper bound: {newvar}")
        if np.all(var[np.isfinite(var)] == 0):
            shown.insert(0, Text("Warning: prediction doesn't vary with respect to e(b)."))
    session.set_data(frame)
    return shown
