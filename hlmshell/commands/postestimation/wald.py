"""``test``, ``testparm`` and ``lincom``: Wald tests and linear combinations of coefficients.

After ``regress`` the tests are F tests with the residual degrees of freedom and ``lincom`` uses t;
after ``mixed`` they are chi2 tests and z, as in Stata.  ``test ..., accumulate`` adds the new
constraints to those of the previous test on the same estimation results.
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np

from hlmshell.errors import StataError, syntax_error
from hlmshell.inference.distributions import f_sf
from hlmshell.inference.wald import coef_stats, wald_test
from hlmshell.lang import varlist
from hlmshell.lang.coefnames import Coefficients, constraint_text, linear_form
from hlmshell.lang.declaration import Args
from hlmshell.lang.scan import split_top_level
from hlmshell.model.protocol import small_sample
from hlmshell.results.estimation import CoefRow, CoefTable
from hlmshell.results.tests import LincomOutput, WaldTestOutput
from hlmshell.shell.registry import command
from hlmshell.shell.session import EResults, Results, Session

Constraint = tuple[np.ndarray, float]   # weights w and constant c of the hypothesis w'b + c = 0


def _active(session: Session) -> EResults:
    if session.e is None or "b" not in session.e.matrices:
        raise StataError("last estimates not found", 301)
    return session.e


def _df_resid(e: EResults) -> float | None:
    """Residual df for F and t (after regress); None for chi2 and z (after mixed)."""
    return e.model.df_resid if e.model is not None else None


def _coefficients(e: EResults) -> tuple[Coefficients, np.ndarray, np.ndarray]:
    b = e.matrices["b"]
    return Coefficients.from_colnames(b.colnames), b.values.reshape(-1), e.matrices["V"].values


def _equation_constraints(spec: str, coefs: Coefficients) -> list[Constraint]:
    """``test lhs = rhs [= ...]`` or ``test (a = b) (c = d)``: one constraint per ``=``."""
    groups = [g.strip()[1:-1] for g in _paren_groups(spec)] if spec.lstrip().startswith("(") else [spec]
    out: list[Constraint] = []
    for group in groups:
        sides = split_top_level(group, "=")
        if len(sides) == 1:
            sides.append("0")
        if any(not side.strip() for side in sides):
            raise syntax_error()
        forms = [linear_form(side, coefs) for side in sides]
        first_w, first_c = forms[0]
        for w, c in forms[1:]:
            out.append((first_w - w, first_c - c))
    return out


def _paren_groups(text: str) -> list[str]:
    groups, depth, start = [], 0, None
    for i, ch in enumerate(text):
        if ch == "(":
            if depth == 0:
                start = i
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and start is not None:
                groups.append(text[start:i + 1])
                start = None
        elif depth == 0 and not ch.isspace():
            raise syntax_error()
    if depth:
        raise syntax_error()
    return groups


def _coeflist_constraints(spec: str, coefs: Coefficients) -> list[Constraint]:
    """``test ses sector`` or ``test [eq]``: each named coefficient equals zero."""
    out: list[Constraint] = []
    for word in spec.split():
        if word.startswith("[") and word.endswith("]"):
            eq = word[1:-1].strip()
            columns = [j for j, e in enumerate(coefs.equations) if e == eq]
            if not columns:
                raise StataError(f"equation [{eq}] not found", 303)
        else:
            columns = [coefs.find(word)]
        for j in columns:
            w = np.zeros(len(coefs.names))
            w[j] = 1.0
            out.append((w, 0.0))
    return out


def _small_sample(e: EResults, small: bool):
    """The model's small-sample inference when ``small`` is given (Stata's checks), else None."""
    if not small:
        return None
    ss = small_sample(e.model)
    if ss is None:
        if getattr(e.model, "kind", "") != "multilevel":
            raise StataError("option small not allowed", 198)
        raise StataError("option small is allowed only if option dfmethod() was used with the "
                         "mixed command during estimation", 198)
    return ss


def _run_test(session: Session, e: EResults, constraints: list[Constraint],
              accumulate: bool, small: bool = False) -> WaldTestOutput:
    coefs, b, V = _coefficients(e)
    ss = _small_sample(e, small)
    if accumulate:
        constraints = list(e.test_constraints) + constraints
    R = np.array([w for w, _ in constraints])
    r = np.array([-c for _, c in constraints])
    estimable = np.diag(V) > 0
    kept = [i for i, w in enumerate(R) if np.any(w[estimable]) or abs(r[i]) > 0]
    dropped = tuple(i + 1 for i in range(len(constraints)) if i not in kept)
    texts = tuple(constraint_text(w, c, coefs) for w, c in constraints)
    res = Results()
    if ss is not None:
        out = _small_test(ss, R[kept], r[kept], b, texts, [i + 1 for i in kept], dropped, res)
        e.test_constraints = constraints
        session.r = res
        return out
    result = wald_test(R[kept], r[kept], b, V)
    df_r = _df_resid(e)
    if df_r is not None:
        F = result.chi2 / result.df
        p = float(f_sf(F, result.df, df_r))
        res.scalars.update({"drop": float(bool(dropped)), "df_r": float(df_r), "F": F,
                            "df": float(result.df), "p": p})
        out = WaldTestOutput(texts, None, result.df, p, F, int(df_r), dropped)
    else:
        res.scalars.update({"drop": float(bool(dropped)), "chi2": result.chi2,
                            "df": float(result.df), "p": result.p})
        out = WaldTestOutput(texts, result.chi2, result.df, result.p, None, None, dropped)
    e.test_constraints = constraints
    session.r = res
    return out


def _small_test(ss, R: np.ndarray, r: np.ndarray, b: np.ndarray, texts: tuple[str, ...],
                numbers: list[int], dropped: tuple[int, ...], res: Results) -> WaldTestOutput:
    """``test ..., small``: F on the method's denominator df (``test.ado``'s WaldTest_ddf)."""
    try:
        ft = ss.test(R, r, b)
    except ValueError:
        raise StataError("only expressions of fixed effects may be tested when option small is "
                         "specified", 198) from None
    dropped = tuple(sorted(dropped + tuple(numbers[i - 1] for i in ft.dropped)))
    res.scalars.update({"drop": float(bool(dropped)), "df_r": ft.ddf, "F": ft.F,
                        "df": float(ft.df), "p": ft.p})
    return WaldTestOutput(texts, None, ft.df, ft.p, ft.F, None, dropped, ddf=ft.ddf)


@command("TEst", "anything [, Accumulate SMALL]")
def test(session: Session, args: Args) -> WaldTestOutput:
    """Wald tests of linear hypotheses about the estimated coefficients."""
    e = _active(session)
    spec = args.anything
    if not spec.strip():
        raise syntax_error()
    coefs, _, _ = _coefficients(e)
    if "=" in spec or spec.lstrip().startswith("("):
        constraints = _equation_constraints(spec, coefs)
    else:
        constraints = _coeflist_constraints(spec, coefs)
    return _run_test(session, e, constraints, args.accumulate, args.small)


_FACTOR_PART = re.compile(r"^\d+[bno]*\.(\w+)$")
_CONTINUOUS_PART = re.compile(r"^(?:co?|o)\.(\w+)$")
_PREFIX = re.compile(r"^(i|ib\d+|ibn|ib\(\w+\)|c)\.(.+)$")


def _testparm_terms(word: str, variables: list[str]) -> list[list[tuple[str, str]]]:
    """``i.a#c.b`` → [[("i", "a"), ("c", "b")]]; ``a##b`` → main effects and the interaction.

    A bare name is a factor inside an interaction (``a#b``), as in factor-variable notation, and
    either kind alone (``testparm x`` tests x or all of i.x's levels).
    """
    if "##" in word:
        parts = word.split("##")
        out: list[list[tuple[str, str]]] = []
        for r in range(1, len(parts) + 1):
            for combo in combinations(parts, r):
                out += _testparm_terms("#".join(combo), variables)
        return out
    components = word.split("#")
    expanded: list[list[tuple[str, str]]] = [[]]
    for comp in components:
        m = _PREFIX.match(comp)
        kind, names = ("c" if m.group(1) == "c" else "i", m.group(2)) if m else (
            "i" if len(components) > 1 else "", comp)
        expanded = [e + [(kind, v)] for e in expanded for v in varlist.expand(variables, names)]
    return expanded


def _matches(term: list[tuple[str, str]], col: str) -> bool:
    parts = col.split("#")
    if len(parts) != len(term):
        return False
    for (kind, var), part in zip(term, parts):
        factor = _FACTOR_PART.match(part)
        continuous = _CONTINUOUS_PART.match(part)
        if factor and factor.group(1) == var and kind in ("i", ""):
            continue
        if (continuous and continuous.group(1) == var or part == var) and kind in ("c", ""):
            continue
        return False
    return True


@command("TESTParm", "anything [, SMALL]")
def testparm(session: Session, args: Args) -> WaldTestOutput:
    """Test that all coefficients of the listed variables are zero (``i.x`` for all its levels,
    ``i.a#c.b`` for the interaction's)."""
    e = _active(session)
    coefs, _, V = _coefficients(e)
    eq = coefs.default_equation
    constraints: list[Constraint] = []
    for word in args.anything.split():
        for term in _testparm_terms(word, session.variables):
            for j, (e_name, col) in enumerate(zip(coefs.equations, coefs.names)):
                if e_name == eq and V[j, j] > 0 and _matches(term, col):
                    w = np.zeros(len(coefs.names))
                    w[j] = 1.0
                    if not any(np.array_equal(w, c[0]) for c in constraints):
                        constraints.append((w, 0.0))
    if not constraints:
        raise StataError("no such variables;\nthe specified varlist does not identify any "
                         "testable coefficients", 111)
    return _run_test(session, e, constraints, False, args.small)


@command("LINcom", "anything [, LEVel(cilevel) SMALL]")
def lincom(session: Session, args: Args) -> LincomOutput:
    """A linear combination of coefficients with its standard error, test and confidence interval;
    ``small``: t with the dfmethod()'s degrees of freedom (Kenward–Roger: its adjusted covariance)."""
    e = _active(session)
    spec, level = args.anything, args.level
    if args.small and getattr(e.model, "kind", "") != "multilevel":
        raise StataError("option small is allowed only after command mixed", 198)
    ss = _small_sample(e, args.small)
    coefs, b, V = _coefficients(e)
    w, c = linear_form(spec, coefs)
    estimate = float(w @ b + c)
    se = float(np.sqrt(max(w @ V @ w, 0.0)))
    df_r = _df_resid(e)
    if ss is not None:
        try:
            var, df_r = ss.lincom(w)
        except ValueError:
            raise StataError("only expressions of fixed effects may be tested when option small "
                             "is specified", 198) from None
        se = float(np.sqrt(max(var, 0.0)))
    st = coef_stats(estimate, se, level=level, df=df_r)
    session.r = Results(scalars={"estimate": estimate, "se": se, "level": level,
                                 "t" if df_r is not None else "z": st.stat, "p": st.p,
                                 "lb": st.lower, "ub": st.upper,
                                 **({"df": float(df_r)} if df_r is not None else {})})
    depvar = e.macros.get("depvar", "")
    row = CoefRow("(1)", st.estimate, st.se, st.stat, st.p, st.lower, st.upper)
    return LincomOutput(constraint_text(w, c, coefs), CoefTable(depvar, (row,), level),
                        t=df_r is not None)
