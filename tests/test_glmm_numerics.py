"""The GLMM's numerical pieces against independent computations: the families' densities (scipy's
distributions) and derivatives (central differences), the block solve of penalised IRLS (a dense
solve), and the analytic gradients (central differences of the log likelihood)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hlmshell.model.multilevel.crossprod import build_layout, build_levels
from hlmshell.model.multilevel.factor import eliminate, level_lambdas
from hlmshell.model.multilevel.families import Family
from hlmshell.model.multilevel.glmm import likelihood_problem
from hlmshell.model.multilevel.glmm_gradient import (
    lambda_derivatives,
    laplace_gradient,
    rule_score,
)
from hlmshell.model.multilevel.lmm import REEquation
from hlmshell.model.multilevel.optimise import gradient
from hlmshell.model.multilevel.pirls import back_substitute, solve

ROOT = Path(__file__).resolve().parents[1]
ETA = np.array([-3.1, -0.4, 0.2, 1.7])
Y = np.array([0.0, 2.0, 1.0, 3.0])
N = np.array([3.0, 4.0, 1.0, 3.0])
FAMILIES = [Family("binomial", "logit"), Family("binomial", "probit"),
            Family("binomial", "cloglog"), Family("poisson", "log"),
            Family("nbinomial", "log", "mean"), Family("nbinomial", "log", "constant"),
            Family("gaussian", "identity")]


def _scipy_logpdf(fam: Family, anc: float) -> np.ndarray:
    if fam.binary:
        p = {"logit": 1 / (1 + np.exp(-ETA)), "probit": stats.norm.cdf(ETA),
             "cloglog": 1 - np.exp(-np.exp(ETA))}[fam.link]
        return stats.binom.logpmf(Y, N, p)
    mu = np.exp(ETA)
    if fam.name == "poisson":
        return stats.poisson.logpmf(Y, mu)
    if fam.name == "nbinomial" and fam.dispersion == "mean":
        a = np.exp(anc)
        return stats.nbinom.logpmf(Y, 1 / a, 1 / (1 + a * mu))
    if fam.name == "nbinomial":
        d = np.exp(anc)
        return stats.nbinom.logpmf(Y, mu / d, 1 / (1 + d))
    return stats.norm.logpdf(Y, ETA, np.exp(anc))


@pytest.mark.parametrize("fam", FAMILIES, ids=lambda f: f"{f.name}-{f.link}-{f.dispersion}")
def test_family_density_and_derivatives(fam: Family) -> None:
    anc = 0.3
    ll, d1, d2 = fam.derivatives(ETA, Y, N, anc)
    np.testing.assert_allclose(ll, _scipy_logpdf(fam, anc), rtol=1e-12, atol=1e-12)
    h = 1e-5
    up, dn = fam.loglik(ETA + h, Y, N, anc), fam.loglik(ETA - h, Y, N, anc)
    np.testing.assert_allclose(d1, (up - dn) / (2 * h), atol=1e-8)
    g_up, g_dn = fam.derivatives(ETA + h, Y, N, anc)[1], fam.derivatives(ETA - h, Y, N, anc)[1]
    np.testing.assert_allclose(d2, (g_up - g_dn) / (2 * h), atol=1e-8)
    a_up, a_dn = fam.loglik(ETA, Y, N, anc + h), fam.loglik(ETA, Y, N, anc - h)
    np.testing.assert_allclose(fam.d_ancillary(ETA, Y, anc), (a_up - a_dn) / (2 * h), atol=1e-8)
    # the η-free constant and the kernel add up to the density
    kernel = fam.derivatives(ETA, Y, N, anc, order=0, constant=False)[0]
    np.testing.assert_allclose(kernel + fam.constant(Y, N, anc), ll, rtol=1e-13, atol=1e-13)


def test_block_solve_equals_a_dense_solve() -> None:
    """M⁻¹r through the nested elimination (vector effects at the outer level) = a dense solve."""
    rng = np.random.default_rng(0)
    n = 200
    a, b = rng.integers(0, 5, n), rng.integers(0, 4, n)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    levels = build_levels([a, b], n)
    x = rng.normal(size=n)
    Z0, Z1 = np.column_stack([x, np.ones(n)]), np.ones((n, 1))
    w, z = rng.uniform(0.5, 2, n), rng.normal(size=n)
    layout = build_layout(z, np.zeros((n, 0)), levels, [0, 1], [Z0, Z1], weights=w)
    factors = [np.array([[0.7, 0.0], [0.3, 0.5]]), np.array([[0.9]])]
    el = eliminate(layout, factors)
    G0, G1 = levels[0].n_groups, levels[1].n_groups
    Zd = np.zeros((n, 2 * G0 + G1))
    for i in range(n):
        Zd[i, 2 * a[i]:2 * a[i] + 2] = Z0[i] @ factors[0]
        Zd[i, 2 * G0 + levels[1].row_group[i]] = 0.9
    M = Zd.T @ (w[:, None] * Zd) + np.eye(Zd.shape[1])
    u = back_substitute(el, layout)
    np.testing.assert_allclose(np.r_[u[0].ravel(), u[1].ravel()], np.linalg.solve(M, Zd.T @ (w * z)),
                               atol=1e-12)
    r0, r1 = rng.normal(size=(G0, 2, 3)), rng.normal(size=(G1, 1, 3))
    xs = solve(el, layout, [r0, r1])
    dense = np.linalg.solve(M, np.vstack([r0.reshape(-1, 3), r1.reshape(-1, 3)]))
    np.testing.assert_allclose(np.vstack([xs[0].reshape(-1, 3), xs[1].reshape(-1, 3)]), dense,
                               atol=1e-12)


def _contraception(method: str, family: Family, slope: bool):
    d = pd.read_csv(ROOT / "data" / "contraception.csv")
    X = np.column_stack([d.age, d.age ** 2, d.urban, d.livch == 1, d.livch == 2, d.livch == 3,
                         np.ones(len(d))]).astype(float)
    Z = np.column_stack([d.urban, np.ones(len(d))]).astype(float) if slope else np.ones((len(d), 1))
    eq = REEquation(0, ["urban", "_cons"] if slope else ["_cons"], Z,
                    "unstructured" if slope else "identity")
    prob, _, _ = likelihood_problem(d.use, X, [d.district], [eq], family, None, None, method, 7)
    return prob


def _grouseticks(method: str, family: Family):
    d = pd.read_csv(ROOT / "data" / "grouseticks.csv")
    X = np.column_stack([d.year == 96, d.year == 97, d.cheight, np.ones(len(d))]).astype(float)
    eqs = [REEquation(0, ["_cons"], np.ones((len(d), 1)), "identity"),
           REEquation(1, ["_cons"], np.ones((len(d), 1)), "identity")]
    prob, _, _ = likelihood_problem(d.ticks, X, [d.location, d.brood], eqs, family, None, None,
                                    method, 5)
    return prob


CASES = [
    ("laplace logit slope", lambda: _contraception("laplace", Family("bernoulli", "logit"), True),
     [0.0, -0.004, 0.7, 1.2, 1.3, 1.3, -1.6, -0.2, -0.7, 0.3]),
    ("laplace cloglog", lambda: _contraception("laplace", Family("bernoulli", "cloglog"), False),
     [0.0, -0.004, 0.5, 0.6, 0.7, 0.7, -1.2, -1.0]),
    ("laplace nested NB2", lambda: _grouseticks("laplace", Family("nbinomial", "log", "mean")),
     [1.1, -1.0, -0.02, 0.4, -0.8, -0.5, -0.3]),
    ("laplace nested NB1", lambda: _grouseticks("laplace", Family("nbinomial", "log", "constant")),
     [1.1, -1.0, -0.02, 0.4, 0.5, -0.5, -0.3]),
    ("ghermite nested Poisson", lambda: _grouseticks("ghermite", Family("poisson", "log")),
     [1.1, -1.0, -0.02, 0.4, -0.5, -0.3]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_exact_gradients_equal_central_differences(case) -> None:
    """The exact Laplace gradient (through the modes and the curvature) and the Fisher identity of
    non-adaptive quadrature are the log likelihood's gradient."""
    _, make, point = case
    prob = make()
    psi = np.asarray(point, dtype=float)
    beta, anc, theta = prob.split(psi)
    factors = prob.factors_theta(theta)
    lams = level_lambdas(prob.re.skeleton, factors)
    dlams = lambda_derivatives(prob.re, prob.equations, prob.slices, theta)
    a = anc if prob.has_anc else None
    if prob.method == "laplace":
        modes = prob.find_modes(prob.eta0(beta), lams, factors, anc)
        analytic = laplace_gradient(modes, prob.resp, prob.re, prob.X, lams, dlams, a)
    else:
        res = prob.evaluate(prob.eta0(beta), factors, anc, score=True)
        analytic = rule_score(res, prob.resp, prob.re, prob.X, dlams, a)
    # central differences extrapolated over h and h/2 (error O(h⁴))
    numeric = (4 * gradient(prob.loglik, psi, h=5e-5) - gradient(prob.loglik, psi, h=1e-4)) / 3
    scale = np.maximum(1.0, np.abs(numeric))
    assert np.max(np.abs(analytic - numeric) / scale) < 1e-6


def test_mean_variance_optimum_and_standard_errors_on_skewed_posteriors() -> None:
    """toenail at Stata's default (mvaghermite, 7 points), where the posteriors are very skewed and
    the mean-variance fixed point matters: the fit's estimates are where the log likelihood —
    evaluated afresh at each point, the fixed point started from the modes — has zero gradient,
    and its standard errors (variance component included) are that function's Hessian's, both
    by central differences extrapolated over h and h/2 here.  (Differencing the fixed point
    warm-started, or stopped after one step, put the SE of treatment 5% off: 0.7189, 0.7268.)"""
    from hlmshell.model.multilevel.glmm import fit_glmm, marginal_loglik
    from hlmshell.model.multilevel.optimise import hessian

    d = pd.read_csv(ROOT / "data" / "toenail.csv")
    t = d.visit.to_numpy(float)
    X = np.column_stack([d.treatment, t, d.treatment * t, np.ones(len(d))]).astype(float)
    eq = REEquation(0, ["_cons"], np.ones((len(d), 1)), "identity")
    family = Family("bernoulli", "logit")
    fit = fit_glmm(d.outcome, X, [d.patientid], [eq], family)
    assert fit.converged and fit.gamma_names == ["lns1_1_1"]

    def ll(phi: np.ndarray) -> float:     # φ = (β, ln sd), Stata's estimation metric
        return marginal_loglik(d.outcome, X, [d.patientid], [eq], family, phi[:4],
                               [np.array([[np.exp(2 * phi[4])]])])

    phi = np.r_[fit.beta, fit.gamma]
    assert ll(phi) == pytest.approx(fit.ll, abs=1e-8)
    H = hessian(ll, phi, h=1e-3)
    g = (4 * gradient(ll, phi, h=5e-5) - gradient(ll, phi, h=1e-4)) / 3
    assert float(g @ np.linalg.solve(-H, g)) < 1e-9          # the scaled gradient: at the top
    np.testing.assert_allclose(np.sqrt(np.diag(fit.V)), np.sqrt(np.diag(np.linalg.inv(-H))),
                               rtol=1e-4)
