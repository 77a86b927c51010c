"""``contrast`` and ``pwcompare``: contrasts, joint Wald tests and pairwise comparisons of the
marginal linear predictions (asbalanced) of the factor terms of the active model.

After ``regress`` the tests are F with the residual df and the contrasts t; after ``mixed`` chi2 and
z; with ``small`` after ``mixed, dfmethod()``, F and t with the method's denominator df (Kenward–
Roger: with its adjusted covariance), as ``test, small``.  Only r() changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.commands.postestimation.margins import PostedMargins
from hlmshell.commands.postestimation.margins_spec import (
    Covariates,
    level_text,
    not_covariate,
)
from hlmshell.commands.postestimation.rtable import statistics, table_matrix
from hlmshell.commands.postestimation.wald import _small_sample
from hlmshell.errors import StataError
from hlmshell.inference.contrast import (
    adjusted,
    kron_rows,
    marginal_rows,
    operator_rows,
    pairwise_rows,
    two_sided_p,
)
from hlmshell.inference.distributions import f_sf
from hlmshell.inference.wald import wald_test
from hlmshell.lang.abbrev import match
from hlmshell.lang.contrastops import ContrastTerm, parse_termlist
from hlmshell.lang.declaration import Args
from hlmshell.results.contrast import (
    Comparisons,
    ContrastOutput,
    EffectsTable,
    WaldRow,
    WaldTable,
)
from hlmshell.results.estimation import CoefRow, CoefTable
from hlmshell.results.stored import EResults, Results, StataMatrix
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

MCOMPARE = ("NOADJust", "BONferroni", "SIDak", "SCHeffe")
ADJUSTMENT_TITLES = {"noadjust": "Unadjusted", "bonferroni": "Bonferroni", "sidak": "Sidak",
                     "scheffe": "Scheffe"}


@dataclass
class Setup:
    """The active model's estimates and what the terms need."""

    e: EResults
    model: object
    b: np.ndarray
    V: np.ndarray
    covariates: Covariates
    equation: str
    df_r: float | None
    small: object | None


def _setup(session: Session, args: Args) -> Setup:
    e = session.e
    if e is None or e.model is None or isinstance(e.model, PostedMargins):
        raise StataError("last estimates not found", 301)
    model = e.model
    ss = _small_sample(e, args.small)
    colnames = e.matrices["b"].colnames
    equation = colnames[0].split(":", 1)[0] if ":" in colnames[0] else ""
    return Setup(e, model, e.matrices["b"].values.reshape(-1), e.matrices["V"].values,
                 Covariates.of(model.design), equation, model.df_resid, ss)


def _terms(session: Session, text: str, cov: Covariates, design) -> list[ContrastTerm]:
    terms = parse_termlist(text, session.variables)
    keys = {tuple(sorted(var for var, _ in col.parts)) for col in design.columns}
    for term in terms:
        for f in term.factors:
            if not cov.is_factor(f.var):
                raise not_covariate(f.var, factor=True)
            if f.base is not None and f.base not in cov.levels[f.var]:
                raise StataError(f"level {level_text(f.base)} of factor {f.var} not found", 111)
        if term.continuous is not None and term.continuous not in cov.continuous:
            raise not_covariate(term.continuous)
        names = tuple(sorted([f.var for f in term.factors] + ([term.continuous]
                                                            if term.continuous else [])))
        if names not in keys:
            raise StataError(f"{term.name} not found in list of covariates", 322)
    return terms


def _label(session: Session, var: str, level: float) -> str:
    return session.value_label(var, level) or level_text(level)


def _cells(setup: Setup, term: ContrastTerm) -> np.ndarray:
    return marginal_rows(setup.model, setup.covariates.levels, [f.var for f in term.factors],
                         term.continuous, list(setup.model.design.variables))


def _stats(setup: Setup, W: np.ndarray, level: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Estimates, SEs and each contrast's df (None: z) of the rows W over e(b)."""
    est = W @ setup.b
    if setup.small is not None:
        pairs = [setup.small.lincom(w) for w in W]
        return est, np.sqrt(np.maximum([v for v, _ in pairs], 0.0)), np.array([d for _, d in pairs])
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", W, setup.V, W), 0.0))
    df = None if setup.df_r is None else np.full(len(est), setup.df_r)
    return est, se, df


def _test(setup: Setup, W: np.ndarray) -> tuple[int, float, float, float | None]:
    """(df, chi2 or F, p, ddf) of W b = 0."""
    if setup.small is not None:
        ft = setup.small.test(W, np.zeros(len(W)), setup.b)
        return ft.df, ft.F, ft.p, ft.ddf
    wt = wald_test(W, np.zeros(len(W)), setup.b, setup.V)
    if setup.df_r is None:
        return wt.df, wt.chi2, wt.p, None
    F = wt.chi2 / wt.df if wt.df else float("nan")
    return wt.df, F, float(f_sf(F, wt.df, setup.df_r)) if wt.df else float("nan"), None


def _effects_table(setup: Setup, rows: list[tuple[str, str]], est, se, df, level: float,
                   p: np.ndarray | None = None, crit: np.ndarray | None = None) -> CoefTable:
    stat, p, crit = statistics(est, se, df, level, p, crit)
    coef_rows = tuple(CoefRow(label, float(b), float(s), float(z), float(pv), float(b - c * s),
                              float(b + c * s), term=term)
                      for (term, label), b, s, z, pv, c in zip(rows, est, se, stat, p, crit))
    if setup.equation:
        return CoefTable("", (), level, ((setup.equation, coef_rows),))
    return CoefTable("", coef_rows, level)


def _columns(args: Args, default: str | None) -> str | None:
    if args.effects:
        return "full"
    if args.pveffects:
        return "pv"
    if args.cieffects:
        return "ci"
    return default


# -- contrast --------------------------------------------------------------------------------------
def _contrast_rows(session: Session, setup: Setup, term: ContrastTerm
                   ) -> tuple[np.ndarray, list[str], list[str]]:
    """The term's contrast rows over its cells, their labels and r(b) names."""
    blocks, labels, names = [], [[]], [[]]
    for f in term.factors:
        levels = setup.covariates.levels[f.var]
        base = levels.index(f.base if f.base is not None else setup.covariates.bases[f.var])
        rows, pairs = operator_rows(f.operator, len(levels), base)
        blocks.append(rows)
        texts, codes = [], []
        for k, other in pairs:
            right = ("mean" if other is None else
                     "base" if not f.operator else _label(session, f.var, levels[other]))
            texts.append(f"({_label(session, f.var, levels[k])} vs {right})")
            op = f.operator or "r"
            codes.append(f"{op}{level_text(levels[k])}" + (
                "" if other is None else f"vs{level_text(levels[other])}") + f".{f.var}")
        labels = [a + [t] for a in labels for t in texts]
        names = [a + [c] for a in names for c in codes]
    suffix = f"#c.{term.continuous}" if term.continuous else ""
    return (kron_rows(blocks), [" ".join(parts) for parts in labels],
            ["#".join(parts) + suffix for parts in names])


@command("contrast", "anything [, EFFects CIeffects PVeffects noWALD Level(cilevel) SMALL]")
def contrast(session: Session, args: Args) -> list:
    """Contrasts and ANOVA-style joint tests of the factor terms' marginal linear predictions."""
    setup = _setup(session, args)
    terms = _terms(session, args.anything, setup.covariates, setup.model.design)
    wald_rows: list[WaldRow] = []
    all_W, row_names, row_labels = [], [], []
    for term in terms:
        C, labels, names = _contrast_rows(session, setup, term)
        W = C @ _cells(setup, term)
        if term.has_operators:
            for w, label in zip(W, labels):
                df, stat, p, ddf = _test(setup, w[None, :])
                wald_rows.append(WaldRow(term.name, label, "contrast", df, stat, p, ddf))
            if len(W) > 1:
                df, stat, p, ddf = _test(setup, W)
                wald_rows.append(WaldRow(term.name, "Joint", "joint", df, stat, p, ddf))
        else:
            df, stat, p, ddf = _test(setup, W)
            wald_rows.append(WaldRow(term.name, "", "term", df, stat, p, ddf))
        all_W.append(W)
        row_names += names
        row_labels += [(term.name, label) for label in labels]
    W = np.vstack(all_W)
    est, se, df = _stats(setup, W, args.level)
    F = setup.df_r is not None or setup.small is not None
    wald = None if not args.wald else WaldTable(setup.equation, tuple(wald_rows), F, setup.df_r,
                                                setup.small is not None)
    columns = _columns(args, "ci" if any(t.has_operators for t in terms) else None)
    effects = None
    if columns:
        effects = EffectsTable(_effects_table(setup, row_labels, est, se, df, args.level),
                               columns, t=df is not None)
    res = Results()
    res.scalars["level"] = args.level
    if setup.df_r is not None:
        res.scalars["df_r"] = float(setup.df_r)
    res.macros["cmd"] = "contrast"
    res.matrices["b"] = StataMatrix(est.reshape(1, -1), ["r1"], row_names)
    V = W @ setup.V @ W.T
    res.matrices["V"] = StataMatrix(V, list(row_names), list(row_names))
    res.matrices["L"] = StataMatrix(W, list(row_names), list(setup.e.matrices["b"].colnames))
    res.matrices["table"] = table_matrix(row_names, est, se, df, args.level)
    key = "F" if F else "chi2"
    res.matrices[key] = StataMatrix(np.array([[r.stat for r in wald_rows]]), ["r1"],
                                    [r.term for r in wald_rows])
    res.matrices["df"] = StataMatrix(np.array([[float(r.df) for r in wald_rows]]), ["r1"],
                                     [r.term for r in wald_rows])
    res.matrices["p"] = StataMatrix(np.array([[r.p for r in wald_rows]]), ["r1"],
                                    [r.term for r in wald_rows])
    session.r = res
    return [ContrastOutput("Contrasts of marginal linear predictions", wald=wald, effects=effects)]


# -- pwcompare -------------------------------------------------------------------------------------
@command("pwcompare", "anything [, EFFects CIeffects PVeffects MCOMPare(string) Level(cilevel) "
         "SMALL]")
def pwcompare(session: Session, args: Args) -> list:
    """Pairwise comparisons of the marginal linear predictions of the factor terms' levels."""
    setup = _setup(session, args)
    method = "noadjust"
    if args.mcompare:
        method = match(args.mcompare.strip(), MCOMPARE) or ""
        if not method:
            raise StataError(f"option mcompare() invalid;\nmethod {args.mcompare.strip()} not "
                             "allowed", 198)
    terms = _terms(session, args.anything, setup.covariates, setup.model.design)
    if any(term.has_operators for term in terms):
        raise StataError("contrast operators are not allowed with pwcompare", 198)
    labels, names, counts, margins_rows, margin_names = [], [], [], [], []
    est_all, se_all, df_all, p_all, crit_all, W_all = [], [], [], [], [], []
    for term in terms:
        L = _cells(setup, term)
        cells = [()]
        for f in term.factors:
            cells = [c + (lv,) for c in cells for lv in setup.covariates.levels[f.var]]
        cell_text = ["#".join(_label(session, f.var, v) for f, v in zip(term.factors, cell))
                     for cell in cells]
        cell_code = ["#".join(f"{level_text(v)}.{f.var}" for f, v in zip(term.factors, cell))
                     for cell in cells]
        P, pairs = pairwise_rows(len(cells))
        W = P @ L
        est, se, df = _stats(setup, W, args.level)
        stat = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.nan)
        q = int(np.linalg.matrix_rank(W, tol=1e-10))
        p, crit = adjusted(stat, two_sided_p(stat, df), df, args.level, method, len(pairs), q)
        suffix = f"#c.{term.continuous}" if term.continuous else ""
        for k, j in pairs:
            labels.append((term.name, f"{cell_text[k]} vs {cell_text[j]}"))
            names.append(_vs_name(cells[k], cells[j], term) + suffix)
        counts.append((term.name, len(pairs)))
        margins_rows.append(L)
        margin_names += [c + suffix for c in cell_code]
        est_all.append(est)
        se_all.append(se)
        df_all.append(df)
        p_all.append(p)
        crit_all.append(crit)
        W_all.append(W)
    est, se, p, crit = (np.concatenate(x) for x in (est_all, se_all, p_all, crit_all))
    df = None if df_all[0] is None else np.concatenate(df_all)
    columns = _columns(args, "ci")
    effects = EffectsTable(_effects_table(setup, labels, est, se, df, args.level, p, crit),
                           columns, t=df is not None, adjustment=ADJUSTMENT_TITLES[method])
    comparisons = None if method == "noadjust" else Comparisons(setup.equation, tuple(counts))
    W = np.vstack(W_all)
    L = np.vstack(margins_rows)
    res = Results()
    res.scalars.update({"level": args.level, "k_terms": float(len(terms))})
    if setup.df_r is not None:
        res.scalars["df_r"] = float(setup.df_r)
    res.macros.update({"cmd": "pwcompare", "mcmethod_vs": method})
    res.matrices["b"] = StataMatrix((L @ setup.b).reshape(1, -1), ["r1"], margin_names)
    res.matrices["V"] = StataMatrix(L @ setup.V @ L.T, list(margin_names), list(margin_names))
    res.matrices["b_vs"] = StataMatrix(est.reshape(1, -1), ["r1"], names)
    res.matrices["V_vs"] = StataMatrix(W @ setup.V @ W.T, list(names), list(names))
    res.matrices["table_vs"] = table_matrix(names, est, se, df, args.level, p, crit)
    session.r = res
    return [ContrastOutput("Pairwise comparisons of marginal linear predictions",
                           comparisons=comparisons, effects=effects)]


def _vs_name(cell: tuple, other: tuple, term: ContrastTerm) -> str:
    """r(b_vs)'s column name: ``1vs0.sector``, ``1vs0.sector#0vs0.minority``."""
    return "#".join(f"{level_text(a)}vs{level_text(c)}.{f.var}"
                    for f, a, c in zip(term.factors, cell, other))
