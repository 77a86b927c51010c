"""Crossed and partially crossed random effects (``|| _all: R.a || _all: R.b``, ``|| _all: R.a || c:
|| b:``, random slopes beside a crossed factor) against lme4 (tests/fixtures/crossed_lme4.json, made
by scripts/make_crossed_fixtures.R on the shipped data; see tests/fixtures/crossed.md), and the
blocked factorisation against a dense numpy computation.

Tolerances: log likelihood 1e-6 absolute (the data are read as doubles, so it is the same
likelihood), fixed effects and their SEs 1e-6 relative, Stata's e(b) variance parameters and their
SEs 2e-4 relative, variance components 2e-4, BLUPs 1e-6 absolute and their SEs 2e-4 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hlmshell.model.multilevel.crossprod import build_levels
from hlmshell.model.multilevel.lmm import REEquation
from hlmshell.model.multilevel.objective import Objective
from hlmshell.model.multilevel.response import Gaussian
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "crossed_lme4.json").read_text())
MODELS = {m["name"]: m for m in FIXTURE["models"]}
BLUPS = {b["model"]: b for b in FIXTURE["blups"]}


def _session(data_file: str):
    out, buf = capture_output()
    s = Session(out=out, cwd=ROOT)
    assert run_line(s, f"import delimited {data_file}, asdouble clear") == 0
    return s, buf


@pytest.fixture(scope="module")
def fits():
    """Each model fitted once (the InstEval-shaped one takes seconds)."""
    cache: dict[str, Session] = {}

    def get(name: str) -> Session:
        if name not in cache:
            m = MODELS[name]
            s, _ = _session(m["data_file"])
            for line in m.get("stata_prepare", []):
                assert run_line(s, line) == 0
            assert run_line(s, f"qui {m['stata_cmd']}{'' if ',' in m['stata_cmd'] else ','} nolog") == 0
            cache[name] = s
        return cache[name]
    return get


@pytest.mark.parametrize("name", list(MODELS))
def test_fits_match_lme4(fits, name):
    m = MODELS[name]
    e = fits(name).e
    assert e.scalars["converged"] == 1.0 and e.scalars["N"] == m["n"]
    assert e.scalars["ll"] == pytest.approx(m["ll"], abs=1e-6)
    names = e.matrices["b"].colnames
    b, se = e.matrices["b"].values[0], np.sqrt(np.diag(e.matrices["V"].values))
    ref = m["stata_b"]
    k_f = len(m["fixed"]["names"])
    # the variance parameters in e(b) order; Stata numbers two _all equations lns1_1_1, lns1_2_1
    # (one level, two equations), where the fixture's names count each || as a level
    anc = [j for j, nm in enumerate(names) if not nm.startswith(m["depvar"] + ":")]
    where = [names.index(nm) for nm in ref["names"][:k_f]] + anc
    assert len(where) == len(ref["names"])
    for k, (j, value, s) in enumerate(zip(where, ref["values"], ref["se"])):
        tol = 1e-6 if k < k_f else 2e-4
        assert b[j] == pytest.approx(value, rel=tol, abs=1e-9), ref["names"][k]
        assert se[j] == pytest.approx(s, rel=tol), ref["names"][k]
    # variance components from e(b): exp(2 lns), and the delta method's SE, for the one-effect
    # equations (the fixture lists them in e(b) order)
    lns = [j for j in anc if names[j].startswith(("lns", "lnsig"))]
    labels = [lab for lab in m["varcomp"] if "cov(" not in lab]
    if len(labels) == len(lns):
        for label, j in zip(labels, lns):
            assert np.exp(2 * b[j]) == pytest.approx(m["varcomp"][label], rel=2e-4), label
            assert 2 * np.exp(2 * b[j]) * se[j] == pytest.approx(m["varcomp_se"][label],
                                                                 rel=2e-4), label


def test_table_shows_crossed_terms(fits):
    s, buf = _session("data/crossed_small.csv")
    assert run_line(s, "mixed y x || _all: R.a || c: || b:, nolog") == 0
    text = buf.getvalue()
    assert "_all: Identity" in text and "var(R.a) |   .5752567" in text
    assert "c: Identity" in text and "b: Identity" in text
    assert "Log likelihood = -7538.3233" in text


@pytest.mark.parametrize("name", list(BLUPS))
def test_blups_and_their_standard_errors(fits, name):
    """predict, reffects / reses: one variable per equation, each row its level's effect (conditional
    SD after ML, comparative SE after REML)."""
    ref = BLUPS[name]
    s = fits(name)
    k = len(ref["levels"])
    u = [f"u{j}" for j in range(k)]
    v = [f"s{j}" for j in range(k)]
    assert run_line(s, f"capture drop {' '.join(u + v)}") == 0
    assert run_line(s, f"predict {' '.join(u)}, reffects") == 0
    assert run_line(s, f"predict {' '.join(v)}, reses") == 0
    data = s.data
    for j, level in enumerate(ref["levels"]):
        key = data[level["key"]].to_numpy()
        for value in list(level["blup"])[:: max(1, len(level["blup"]) // 40)]:
            rows = key == float(value)
            assert rows.any()
            np.testing.assert_allclose(data[u[j]].to_numpy()[rows], level["blup"][value], atol=1e-6)
            np.testing.assert_allclose(data[v[j]].to_numpy()[rows], level[ref["stata_reses"]][value],
                                       rtol=2e-4)


def test_fitted_values_add_every_term(fits):
    """predict, fitted = xb + u_a[a] + u_b[b], with lme4's BLUPs."""
    s = fits("crossed_small_ab_ml")
    assert run_line(s, "capture drop fit xb") == 0
    assert run_line(s, "predict fit, fitted") == 0 and run_line(s, "predict xb, xb") == 0
    ref = BLUPS["crossed_small_ab_ml"]["levels"]
    d = s.data
    ua = np.array([ref[0]["blup"][str(int(a))] for a in d["a"]])
    ub = np.array([ref[1]["blup"][str(int(b))] for b in d["b"]])
    beta = MODELS["crossed_small_ab_ml"]["fixed"]["estimates"]
    np.testing.assert_allclose(d["xb"], beta[0] * d["x"] + beta[1], rtol=1e-7)
    np.testing.assert_allclose(d["fit"], d["xb"] + ua + ub, atol=1e-6)


def _dense_loglik(y, X, Z, lam, reml):
    """-2ℓ profiled, from V = I + Z Λ Λ'Z' (n x n)."""
    n, p = X.shape
    V = np.eye(n) + Z @ np.diag(lam ** 2) @ Z.T
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ y)
    r = y - X @ beta
    d = n - p if reml else n
    r2 = r @ Vi @ r
    out = d * (1 + np.log(2 * np.pi * r2 / d)) + np.linalg.slogdet(V)[1]
    return -0.5 * (out + (np.linalg.slogdet(XtViX)[1] if reml else 0.0))


def _random_design(seed: int, n: int, n_g: int):
    """y = 1 + x + u_a + u_b + e with a (30 levels) crossed with b (12), and groups g (n_g) with a
    random slope on x: the rows, the levels and the equations of ``|| _all: R.a || _all: R.b ||
    g: x, cov(un)``, and the columns (a, b, g, x)."""
    rng = np.random.default_rng(seed)
    a, b, g = rng.integers(0, 30, n), rng.integers(0, 12, n), rng.integers(0, n_g, n)
    x = rng.normal(size=n)
    y = 1 + x + rng.normal(size=30)[a] + rng.normal(size=12)[b] + rng.normal(size=n)
    one = np.ones((n, 1))
    eqs = [REEquation(0, [f"{k}.a" for k in range(30)], one, "identity", a),
           REEquation(0, [f"{k}.b" for k in range(12)], one, "identity", b),
           REEquation(1, ["x", "_cons"], np.column_stack([x, one]), "unstructured")]
    levels = build_levels([np.zeros(n, dtype=int), g], n)
    return y, np.column_stack([x, np.ones(n)]), levels, eqs, (a, b, g, x)


@pytest.mark.parametrize("reml", [False, True])
def test_blocked_factorisation_and_gradient_against_dense(reml):
    """A random crossed design with a random slope: ℓ(θ) equals the dense n x n computation and the
    analytic gradient equals central differences of it."""
    n = 240
    y, X, levels, eqs, (a, b, g, x) = _random_design(7, n, 9)
    one = np.ones((n, 1))
    obj = Objective(y, X, levels, eqs, Gaussian(reml))
    assert obj.crossed is not None and [t.n_groups for t in obj.crossed.terms] == [30, 9, 12]
    theta = np.array([0.3, -0.2, 0.1, 0.4, -0.5])

    def dense(t):
        factors = obj.factors(t)
        Z = np.column_stack([(a[:, None] == np.arange(30)), (b[:, None] == np.arange(12))]
                            + [np.column_stack([x, one[:, 0]])[:, [i]] * (g[:, None] == np.arange(9))
                               for i in range(2)]).astype(float)
        # Λ of the slope term is not diagonal: apply it to the columns directly
        L = factors[2]
        Zg = np.column_stack([x, one[:, 0]])
        Zs = np.zeros((n, 18))
        for h in range(9):
            rows = g == h
            Zs[rows, 2 * h:2 * h + 2] = Zg[rows] @ L
        ZL = np.column_stack([Z[:, :30] * factors[0][0, 0], Z[:, 30:42] * factors[1][0, 0], Zs])
        return _dense_loglik(y, X, ZL, np.ones(ZL.shape[1]), reml)

    value, grad = obj.loglik_gradient(theta)
    assert value == pytest.approx(dense(theta), abs=1e-9)
    h = 1e-5
    fd = [(dense(theta + h * e) - dense(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


def test_trailing_block_too_large_is_refused_and_data_kept():
    """Two crossed factors of 12,001+ levels each would need a dense 12,000² block: r(908), and the
    data and estimates stay as they were."""
    s, _ = _session("data/crossed_small.csv")
    assert run_line(s, "qui mixed y x || _all: R.a, nolog") == 0
    before_ll = s.e.scalars["ll"]
    n = 30000
    rng = np.random.default_rng(3)
    import pandas as pd

    s.set_data(pd.DataFrame({"y": rng.normal(size=n), "p": np.arange(n) % 15000,
                             "q": (np.arange(n) * 7) % 13000}))
    data = s.data.copy()
    assert run_line(s, "mixed y || _all: R.p || _all: R.q") == 908
    pd.testing.assert_frame_equal(s.data, data)
    assert s.e.scalars["ll"] == before_ll


def test_small_sample_methods_refused_for_crossed_terms():
    """Kenward-Roger and Satterthwaite difference the nested factorisation (inference.ddf): with an
    R.varname term they are refused before fitting, and nothing is posted."""
    s, buf = _session("data/crossed_small.csv")
    for method in ("kroger", "satterthwaite"):
        assert run_line(s, f"mixed y x || _all: R.a || _all: R.b, reml dfmethod({method})") == 198
        assert f"option dfmethod({method}) not available with R.varname" in buf.getvalue()
    assert s.e is None
    assert run_line(s, "qui mixed y x || _all: R.a || _all: R.b, reml dfmethod(residual)") == 0


def test_factor_below_all_is_one_effect_per_group_and_level():
    """``|| c: R.a`` has an effect for each (c, a) cell: the model of ``|| _all: R.ca`` with
    ca = group(c a), with the same BLUPs and fitted values."""
    s, _ = _session("data/crossed_small.csv")
    assert run_line(s, "qui mixed y x || c: R.a, nolog") == 0
    ll = s.e.scalars["ll"]
    assert run_line(s, "predict r1, reffects") == 0 and run_line(s, "predict f1, fitted") == 0
    assert run_line(s, "egen ca = group(c a)") == 0
    assert run_line(s, "qui mixed y x || _all: R.ca, nolog") == 0
    assert s.e.scalars["ll"] == pytest.approx(ll, abs=1e-8)
    assert run_line(s, "predict r2, reffects") == 0 and run_line(s, "predict f2, fitted") == 0
    np.testing.assert_allclose(s.data["r1"], s.data["r2"], atol=1e-7)
    np.testing.assert_allclose(s.data["f1"], s.data["f2"], atol=1e-6)


@pytest.mark.parametrize("reml", [False, True])
@pytest.mark.parametrize("first_slope", [False, True])
def test_gram_by_pattern_dense_and_sparse_products_agree(monkeypatch, reml, first_slope):
    """C_c'C_c and the gradient's contraction with Σ three ways — the fixed pattern (GramPattern),
    BLAS on dense copies, scipy's sparse products (crossed.MAX_PAIRS, MAX_DENSE) — give the same
    ℓ(θ) and gradient, with the first term an intercept (Q = 1) or a random slope (Q = 2)."""
    from hlmshell.model.multilevel import crossed

    y, X, levels, eqs, _ = _random_design(11, 400, 50 if first_slope else 9)
    theta = np.array([0.3, -0.2, 0.1, 0.4, -0.5])
    out = []
    for pairs, dense in ((10**7, 10**7), (0, 10**7), (0, 0)):
        monkeypatch.setattr(crossed, "MAX_PAIRS", pairs)
        monkeypatch.setattr(crossed, "MAX_DENSE", dense)
        obj = Objective(y, X, levels, eqs, Gaussian(reml))
        assert (obj.crossed.pattern is None) == (pairs == 0)
        assert obj.crossed.terms[0].Q == (2 if first_slope else 1)
        out.append(obj.loglik_gradient(theta))
    for value, grad in out[1:]:
        assert value == pytest.approx(out[0][0], abs=1e-9)
        np.testing.assert_allclose(grad, out[0][1], rtol=1e-9, atol=1e-9)
