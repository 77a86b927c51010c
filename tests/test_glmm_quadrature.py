"""The integration methods against brute-force integrals and against R's quadrature.

* At fixed parameters, every method with 30 points (and the Laplace approximation, where R's
  Laplace is exact) agrees with the marginal likelihood integrated by ``integrate()`` in R (the cbpp
  and toenail fixtures) or by a fine trapezoidal grid here (nested levels, random slopes), to 1e-4.
* mode-curvature quadrature with k points equals the fixtures' own k-point values (lme4's nAGQ with
  the saturated log likelihood added back), and fits with k points reproduce glmer's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from hlmshell.model.multilevel.families import Family
from hlmshell.model.multilevel.glmm import fit_glmm, marginal_loglik
from hlmshell.model.multilevel.lmm import REEquation

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CBPP = json.loads((FIXTURES / "glmm_cbpp.json").read_text())
TOENAIL = json.loads((FIXTURES / "glmm_toenail.json").read_text())
GROUSE = json.loads((FIXTURES / "glmm_grouseticks.json").read_text())
CONTRA = json.loads((FIXTURES / "glmm_contraception.json").read_text())


def _cbpp():
    d = pd.read_csv(ROOT / "data" / "cbpp.csv")
    X = np.column_stack([d.period == 2, d.period == 3, d.period == 4, np.ones(len(d))]).astype(float)
    eq = REEquation(0, ["_cons"], np.ones((len(d), 1)), "identity")
    return d, X, eq


@pytest.mark.parametrize("method", ["mvaghermite", "mcaghermite", "ghermite"])
def test_thirty_points_equal_the_integral(method: str) -> None:
    d, X, eq = _cbpp()
    check = CBPP["quadrature_check"]
    ll = marginal_loglik(d.incidence, X, [d.herd], [eq], Family("binomial", "logit"),
                         np.array(check["beta"]), [np.array([[check["var_cons"]]])],
                         trials=d["size"], method=method, intpoints=30)
    assert ll == pytest.approx(check["ll_integrate"], abs=1e-4)
    if method != "ghermite":        # adaptive rules are far closer than that
        assert ll == pytest.approx(check["ll_integrate"], abs=1e-8)


def test_mode_curvature_points_equal_r_own_quadrature() -> None:
    d, X, eq = _cbpp()
    check = CBPP["quadrature_check"]
    for k, ref in zip(check["intpoints"], check["ll_aghq_own"]):
        method = "laplace" if k == 1 else "mcaghermite"
        ll = marginal_loglik(d.incidence, X, [d.herd], [eq], Family("binomial", "logit"),
                             np.array(check["beta"]), [np.array([[check["var_cons"]]])],
                             trials=d["size"], method=method, intpoints=k)
        assert ll == pytest.approx(ref, abs=1e-9), k


@pytest.mark.parametrize("tvar", ["visit", "time"])
def test_fits_by_number_of_points_match_glmer(tvar: str) -> None:
    """toenail: glmer's fits with k = 3 and 15 points, and the exact integral at the 30-point
    estimates.  Its posteriors are very skewed (the patients without a moderate or severe visit,
    with var(_cons) ≈ 20: Lesaffre and Spiessens's example of too few points), so that 30 points
    are still 4e-4 (mode-curvature) and 1e-2 (mean-variance) off; 60 points are within 1e-4."""
    quad = TOENAIL["quadrature_ll"][tvar]
    d = pd.read_csv(ROOT / "data" / "toenail.csv")
    t = d[tvar].to_numpy(float)
    X = np.column_stack([d.treatment, t, d.treatment * t, np.ones(len(d))]).astype(float)
    eq = REEquation(0, ["_cons"], np.ones((len(d), 1)), "identity")
    for k in (3, 15):
        i = quad["intpoints"].index(k)
        fit = fit_glmm(d.outcome, X, [d.patientid], [eq], Family("bernoulli", "logit"),
                       method="mcaghermite", intpoints=k)
        assert fit.ll == pytest.approx(quad["ll"][i], abs=1e-5), k
        np.testing.assert_allclose(fit.beta, quad["fixed_estimates"][i], rtol=2e-5, atol=1e-6)
        assert fit.Sigma[0][0, 0] == pytest.approx(quad["var_cons"][i], rel=2e-5)
    i = quad["intpoints"].index(30)
    beta, var = np.array(quad["fixed_estimates"][i]), quad["var_cons"][i]
    exact = quad["ll_exact_integral_at_estimates"][i]
    for method in ("mvaghermite", "mcaghermite"):
        ll = marginal_loglik(d.outcome, X, [d.patientid], [eq], Family("bernoulli", "logit"),
                             beta, [np.array([[var]])], method=method, intpoints=60)
        assert ll == pytest.approx(exact, abs=1e-4), method
    ll = marginal_loglik(d.outcome, X, [d.patientid], [eq], Family("bernoulli", "logit"),
                         beta, [np.array([[var]])], method="mcaghermite", intpoints=30)
    assert ll == pytest.approx(quad["ll"][i], abs=1e-8)       # the fixture's own 30-point rule


def _grid(sd: float, points: int = 241, width: float = 9.0) -> tuple[np.ndarray, np.ndarray]:
    """A trapezoidal rule for ∫ g(u) φ(u; 0, sd²) du over ±width sd."""
    u = np.linspace(-width * sd, width * sd, points)
    w = np.full(points, u[1] - u[0])
    w[[0, -1]] /= 2
    return u, w * np.exp(-0.5 * (u / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


def test_nested_levels_integrated_level_by_level() -> None:
    """grouseticks, broods within locations (Poisson): the nested rules with 20 points against a
    two-level trapezoidal integral computed here, at the fixture's Laplace estimates."""
    m = GROUSE["models"][0]
    d = pd.read_csv(ROOT / "data" / "grouseticks.csv")
    X = np.column_stack([d.year == 96, d.year == 97, d.cheight, np.ones(len(d))]).astype(float)
    beta = np.array(m["fixed"]["estimates"])
    var_loc, var_brood = (m["random"][0]["cov"][0][0], m["random"][1]["cov"][0][0])
    eta0 = X @ beta
    y = d.ticks.to_numpy(float)
    u, wu = _grid(np.sqrt(var_loc))
    v, wv = _grid(np.sqrt(var_brood))
    total = 0.0
    for loc in np.unique(d.location):
        rows = d.location.to_numpy() == loc
        log_inner = np.zeros(len(u))
        for brood in np.unique(d.brood[rows]):
            r = rows & (d.brood.to_numpy() == brood)
            eta = eta0[r][:, None, None] + u[None, :, None] + v[None, None, :]
            ll = np.sum(y[r][:, None, None] * eta - np.exp(eta) - special.gammaln(y[r] + 1)[:, None, None],
                        axis=0)
            top = ll.max(axis=1, keepdims=True)
            log_inner += (top + np.log(np.exp(ll - top) @ wv[:, None]))[:, 0]
        top = log_inner.max()
        total += top + np.log(np.exp(log_inner - top) @ wu)
    eqs = [REEquation(0, ["_cons"], np.ones((len(d), 1)), "identity"),
           REEquation(1, ["_cons"], np.ones((len(d), 1)), "identity")]
    for method in ("mvaghermite", "mcaghermite"):
        ll = marginal_loglik(y, X, [d.location, d.brood], eqs, Family("poisson", "log"), beta,
                             [np.array([[var_loc]]), np.array([[var_brood]])], method=method,
                             intpoints=20)
        assert ll == pytest.approx(total, abs=1e-4), method
    laplace = marginal_loglik(y, X, [d.location, d.brood], eqs, Family("poisson", "log"), beta,
                              [np.array([[var_loc]]), np.array([[var_brood]])], method="laplace")
    assert laplace == pytest.approx(m["ll"], abs=1e-6)        # the joint Laplace of glmer/glmmTMB


def test_vector_random_effects_product_rule() -> None:
    """contraception with a random urban slope (unstructured): the 15 x 15 product rules against a
    two-dimensional trapezoidal integral per district, at the fixture's estimates."""
    m = next(x for x in CONTRA["models"] if x["name"] == "contraception_logit_rslope_laplace")
    d = pd.read_csv(ROOT / "data" / "contraception.csv")
    X = np.column_stack([d.age, d.age ** 2, d.urban, d.livch == 1, d.livch == 2, d.livch == 3,
                         np.ones(len(d))]).astype(float)
    beta = np.array(m["fixed"]["estimates"])
    S = np.array(m["random"][0]["cov"])
    L = np.linalg.cholesky(S)
    t, wt = _grid(1.0, 161, 8.0)
    T1, T2 = np.meshgrid(t, t, indexing="ij")
    W = np.outer(wt, wt).ravel()
    B = np.column_stack([T1.ravel(), T2.ravel()]) @ L.T            # (urban, _cons) effects
    eta0 = X @ beta
    y = d.use.to_numpy(float)
    total = 0.0
    for dist in np.unique(d.district):
        r = d.district.to_numpy() == dist
        eta = eta0[r][:, None] + d.urban.to_numpy(float)[r][:, None] * B[None, :, 0] + B[None, :, 1]
        ll = np.sum(y[r][:, None] * eta - np.logaddexp(0, eta), axis=0)
        top = ll.max()
        total += top + np.log(np.exp(ll - top) @ W)
    eq = REEquation(0, ["urban", "_cons"], np.column_stack([d.urban, np.ones(len(d))]).astype(float),
                    "unstructured")
    for method in ("mvaghermite", "mcaghermite"):
        ll = marginal_loglik(y, X, [d.district], [eq], Family("bernoulli", "logit"), beta, [S],
                             method=method, intpoints=15)
        assert ll == pytest.approx(total, abs=1e-4), method
    laplace = marginal_loglik(y, X, [d.district], [eq], Family("bernoulli", "logit"), beta, [S],
                              method="laplace")
    assert laplace == pytest.approx(m["ll"], abs=1e-6)
