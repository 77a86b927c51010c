"""The me commands as a user meets them: output, e(), replay, predict, estat, lrtest, test and lincom,
and what bad input gets (Stata's messages and return codes, the session unchanged).

Layouts follow ``_me_display.ado`` (Stata's header code) and a Stata 17 log of ``mestreg``, which
prints through the same code::

    Mixed-effects exponential PH regression         Number of obs     =     90,000
    Group variable: cluster                         Number of groups  =        300
    <blank>
                                                    Obs per group:
                                                                  min =        300
                                                                  avg =      300.0
                                                                  max =        300
    <blank>
    Integration method: mvaghermite                 Integration pts.  =          7
    <blank>
                                                    Wald chi2(1)      =    5490.19
    Log likelihood = -110626.52                     Prob > chi2       =     0.0000
    ------------------------------------------------------------------------------
              _t | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]
    -------------+----------------------------------------------------------------
              X1 |  -.4956912   .0066899   -74.10   0.000    -.5088031   -.4825793
           _cons |   .0288104   .0840111     0.34   0.732    -.1358484    .1934692
    -------------+----------------------------------------------------------------
    cluster      |
       var(_cons)|   2.113091   .1727567                       1.80023    2.480325
    ------------------------------------------------------------------------------
    LR test vs. exponential model: chibar2(01) = 1.9e+05  Prob >= chibar2 = 0.0000

Numbers are checked against the R fixtures (``tests/fixtures/glmm_*.json``) or computed here.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from runner import FIXTURES, bundled_csv, fixture_models, runner

CBPP = fixture_models("glmm_cbpp.json")
CONTRA = fixture_models("glmm_contraception.json")
GROUSE = fixture_models("glmm_grouseticks.json")


@pytest.fixture(scope="module")
def cbpp():
    session, run = bundled_csv("cbpp")
    text = run("melogit incidence i.period || herd:, binomial(size) intmethod(mcaghermite) nolog")
    return session, run, text


def test_header_table_and_lr_test_layout(cbpp) -> None:
    session, run, text = cbpp
    lines = text.splitlines()
    m = CBPP["cbpp_aghq7"]
    e = session.e
    assert lines[:14] == [
        "",
        "Mixed-effects logistic regression               Number of obs     =         56",
        "Binomial variable:         size",
        "Group variable: herd                            Number of groups  =         15",
        "",
        "                                                Obs per group:",
        "                                                              min =          1",
        "                                                              avg =        3.7",
        "                                                              max =          4",
        "",
        "Integration method: mcaghermite                 Integration pts.  =          7",
        "",
        f"                                                Wald chi2(3)      =      {e.scalars['chi2']:.2f}",
        "Log likelihood = -91.983354                     Prob > chi2       =     0.0000",
    ]
    assert m["ll"] == pytest.approx(-91.983354, abs=5e-7)
    assert lines[14:17] == [
        "-" * 78,
        "   incidence | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]",
        "-------------+" + "-" * 64,
    ]
    assert lines[17] == "      period |"
    assert lines[18].startswith("          2  |  -.9914027    .306768    -3.23   0.001")
    assert lines[23:26] == ["-------------+" + "-" * 64, "herd         |",
                            lines[25]]
    assert lines[25].startswith("   var(_cons)|   .4192827   .2337867" + " " * 17)
    chi2 = 2 * (m["ll"] - CBPP["cbpp_glm_logit"]["ll"])
    assert lines[26] == "-" * 78
    assert lines[27] == (f"LR test vs. logistic model: chibar2(01) = {chi2:.2f}".ljust(54)
                         + "Prob >= chibar2 = 0.0001")


def test_stored_results(cbpp) -> None:
    session, run, _ = cbpp
    e = session.e
    m = CBPP["cbpp_aghq7"]
    assert e.macros["cmd"] == "meglm" and e.macros["cmd2"] == "melogit"
    assert e.macros["model"] == "logistic" and e.macros["family"] == "binomial"
    assert e.macros["binomial"] == "size" and e.macros["intmethod"] == "mcaghermite"
    assert e.macros["n_quad"] == "7" and e.macros["link"] == "logit"
    assert e.matrices["b"].colnames[-1] == "/:var(_cons[herd])"
    assert e.scalars["ll_c"] == pytest.approx(CBPP["cbpp_glm_logit"]["ll"], abs=1e-6)
    assert e.scalars["df_c"] == 1 and e.scalars["rank"] == 5 and e.scalars["k_r"] == 1
    chi2 = 2 * (m["ll"] - CBPP["cbpp_glm_logit"]["ll"])
    assert e.scalars["chi2_c"] == pytest.approx(chi2, abs=1e-5)
    from scipy import stats
    assert e.scalars["p_c"] == pytest.approx(0.5 * stats.chi2.sf(chi2, 1), rel=1e-5)
    listing = run("ereturn list")
    assert "e(mecmd)" not in listing and "e(iccok)" not in listing    # hidden, as in Stata
    assert 'e(cmd2) : "melogit"' in listing


def test_replay_with_odds_ratios(cbpp) -> None:
    session, run, _ = cbpp
    text = run("melogit, or")
    lines = text.splitlines()
    assert "   incidence | Odds ratio   Std. err.      z    P>|z|     [95% conf. interval]" in lines
    b, se = -0.991402710995344, 0.306767980495263
    row = next(x for x in lines if x.startswith("          2  |"))
    assert float(row.split()[2]) == pytest.approx(math.exp(b), rel=1e-6)
    assert float(row.split()[3]) == pytest.approx(math.exp(b) * se, rel=1e-5)
    assert lines[-2:] == ["Note: Estimates are transformed only in the first equation to odds ratios.",
                          "Note: _cons estimates baseline odds (conditional on zero random effects)."]
    assert run("mepoisson, irr", rc=301).startswith("last estimates not found")
    assert "option irr not allowed" in run("melogit, irr", rc=198)
    text = run("melogit, noheader nolrtest level(90)")
    assert text.splitlines()[0] == "-" * 78 and "LR test" not in text
    assert "[90% conf. interval]" in text


def test_predict_through_the_model(cbpp) -> None:
    """Empirical Bayes modes and their SDs equal lme4's conditional modes; the means (7-point
    mean-variance quadrature) the posterior means by integrate() to 1e-4."""
    session, run, _ = cbpp
    pred = CBPP["cbpp_aghq7"]["predictions"]
    assert run("predict double p").splitlines() == [
        "(option mu assumed)",
        "(predictions based on fixed effects and posterior means of random effects)",
        "(using 7 quadrature points)"]
    run("predict double m, reffects ebmodes reses(ms)")
    text = run("predict double u, reffects reses(us)")
    assert text.splitlines() == ["(calculating posterior means of random effects)",
                                 "(using 7 quadrature points)"]
    run("predict double muf, mu fixedonly")
    run("predict double mc, mu conditional(ebmodes)")
    data = session.data
    first = [int(np.flatnonzero(data.herd.to_numpy() == h)[0]) for h in pred["ids"]]
    np.testing.assert_allclose(data.m.to_numpy()[first], pred["ebmodes"], atol=1e-7)
    np.testing.assert_allclose(data.ms.to_numpy()[first], pred["ebmodes_sd"], atol=1e-7)
    np.testing.assert_allclose(data.u.to_numpy()[first], pred["ebmeans"], atol=1e-4)
    np.testing.assert_allclose(data.us.to_numpy()[first], pred["ebmeans_sd"], atol=1e-4)
    np.testing.assert_allclose(data.mc.to_numpy(), pred["mu_count"], rtol=1e-6)
    xb = np.array(pred["xb"])
    np.testing.assert_allclose(data.muf.to_numpy(), data["size"] / (1 + np.exp(-xb)), rtol=1e-7)
    # the default: the count mean at the posterior means of the random effects
    u = data.u.to_numpy()
    np.testing.assert_allclose(data.p.to_numpy(), data["size"] / (1 + np.exp(-(xb + u))), rtol=1e-7)
    assert "option ebmodes requires the reffects option" in run("predict x, mu ebmodes", rc=198)
    assert run("predict x, pr", rc=198).startswith("option pr not allowed")


def test_residuals_as_meglm_p_computes_them(cbpp) -> None:
    session, run, _ = cbpp
    run("predict double mu0, mu")
    run("predict double pe, pearson")
    run("predict double de, deviance")
    run("predict double an, anscombe")
    d = session.data
    y, n, mu = d.incidence.to_numpy(float), d["size"].to_numpy(float), d.mu0.to_numpy()
    np.testing.assert_allclose(d.pe, (y - mu) / np.sqrt(mu * (1 - mu / n)), rtol=1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * (np.where(y > 0, y * np.log(y / mu), 0)
                   + np.where(n > y, (n - y) * np.log((n - y) / (n - mu)), 0))
    np.testing.assert_allclose(d.de, np.sign(y - mu) * np.sqrt(dev), rtol=1e-9, atol=1e-12)
    from scipy.integrate import quad

    def A(x, m):    # ∫_0^x t^(-1/3)(1 - t/m)^(-1/3) dt, Anscombe's transform for binomial counts
        return quad(lambda t: t ** (-1 / 3) * (1 - t / m) ** (-1 / 3), 0, x)[0] if x > 0 else 0.0
    for i in (0, 7, 20):
        expect = (A(y[i], n[i]) - A(mu[i], n[i])) / (mu[i] * (1 - mu[i] / n[i])) ** (1 / 6)
        assert d.an[i] == pytest.approx(expect, rel=1e-6)


def test_estat_after_melogit() -> None:
    """estat icc: var/(var + π²/3) with the delta-method SE and the logit-scale CI."""
    session, run = bundled_csv("contraception")
    run("qui melogit use c.age##c.age i.urban i.livch || district:, intmethod(mcaghermite)")
    m = CONTRA["contraception_logit_aghq7"]
    var, se_var = m["stata_b"]["values"][-1], m["stata_b"]["se"][-1]
    text = run("estat icc")
    icc = var / (var + math.pi ** 2 / 3)
    se = se_var * (math.pi ** 2 / 3) / (var + math.pi ** 2 / 3) ** 2
    assert session.r.scalars["icc2"] == pytest.approx(icc, rel=1e-5)
    assert session.r.scalars["se2"] == pytest.approx(se, rel=1e-4)
    assert text.splitlines()[1] == "Residual intraclass correlation"
    logit, s = math.log(icc / (1 - icc)), se / (icc * (1 - icc))
    low = 1 / (1 + math.exp(-(logit - 1.959963984540054 * s)))
    assert session.r.matrices["ci2"].values[0, 0] == pytest.approx(low, rel=1e-4)
    text = run("estat recovariance")
    assert float(text.splitlines()[-1].split()[-1]) == pytest.approx(var, rel=1e-5)
    ic = run("estat ic")
    assert session.r.matrices["S"].values[0, 3] == 8
    assert session.r.matrices["S"].values[0, 4] == pytest.approx(-2 * m["ll"] + 16, abs=1e-3)
    text = run("estat sd")
    sd_line = next(x for x in text.splitlines() if "sd(_cons)" in x)
    assert float(sd_line.split()[2]) == pytest.approx(math.sqrt(var), rel=1e-5)
    assert "Residual" not in text
    assert ic and run("estat group").splitlines()[5].split()[:2] == ["district", "|"]


def test_estat_icc_per_link_and_refused_for_counts() -> None:
    session, run = bundled_csv("contraception")
    run("qui meprobit use c.age##c.age i.urban i.livch || district:, intmethod(mcaghermite)")
    var = CONTRA["contraception_probit_aghq7"]["stata_b"]["values"][-1]
    run("estat icc")
    assert session.r.scalars["icc2"] == pytest.approx(var / (var + 1), rel=1e-5)
    run("qui mecloglog use c.age##c.age i.urban i.livch || district:, intmethod(mcaghermite)")
    var = CONTRA["contraception_cloglog_aghq7"]["stata_b"]["values"][-1]
    run("estat icc")
    assert session.r.scalars["icc2"] == pytest.approx(var / (var + math.pi ** 2 / 6), rel=1e-5)
    session, run = bundled_csv("grouseticks")
    run("qui mepoisson ticks i.year cheight || brood:, intmethod(mcaghermite)")
    before = dict(session.r.scalars)
    assert run("estat icc", rc=321).startswith(
        "requested action not valid after most recent estimation command")
    assert session.r.scalars == before


def test_lrtest_test_and_lincom() -> None:
    session, run = bundled_csv("contraception")
    run("qui melogit use c.age##c.age i.urban i.livch || district:, intmethod(laplace)")
    run("est store ri")
    run("qui melogit use c.age##c.age i.urban i.livch || district: urban, cov(un) "
        "intmethod(laplace)")
    lr = run("lrtest ri .")
    ri, rs = CONTRA["contraception_logit_laplace"], CONTRA["contraception_logit_rslope_laplace"]
    assert session.r.scalars["chi2"] == pytest.approx(2 * (rs["ll"] - ri["ll"]), abs=1e-5)
    assert session.r.scalars["df"] == 2
    assert "reported test is conservative" in lr          # e(mecmd): the boundary note
    run("test 1.urban")
    b = dict(zip(rs["stata_b"]["names"], zip(rs["stata_b"]["values"], rs["stata_b"]["se"])))
    z = b["use:1.urban"][0] / b["use:1.urban"][1]
    assert session.r.scalars["chi2"] == pytest.approx(z * z, rel=1e-5)
    run("lincom 1.livch - 2.livch")
    V = np.array(rs["fixed"]["vcov"])
    names = rs["fixed"]["names"]
    w = np.zeros(len(names))
    w[names.index("1.livch")], w[names.index("2.livch")] = 1, -1
    assert session.r.scalars["se"] == pytest.approx(math.sqrt(w @ V @ w), rel=1e-5)
    text = run("test [/]var(urban[district]) = 0")
    assert "chi2(  1)" in text


def test_negative_binomial_and_nested_output() -> None:
    session, run = bundled_csv("grouseticks")
    text = run("menbreg ticks i.year cheight || location: || brood:, intmethod(laplace) nolog")
    lines = text.splitlines()
    m = GROUSE["grouseticks_nbinom2_nested_laplace"]
    assert lines[2] == "Overdispersion:            mean"
    assert lines[4:8] == ["-" * 61, "                |     No. of       Observations per group",
                          " Group variable |     groups    Minimum    Average    Maximum",
                          "----------------+" + "-" * 44]
    alpha_row = next(x for x in lines if "/lnalpha" in x)
    bar = lines[lines.index("-" * 79) + 1].index("|")    # the table is 13 wide for location>brood
    assert alpha_row[:bar + 1] == "/lnalpha".rjust(bar - 1) + " |"
    assert float(alpha_row.split()[2]) == pytest.approx(m["dispersion"]["value"], abs=1e-5)
    assert "location>brood|" in lines
    assert lines[-3].startswith("LR test vs. nbinomial model: chi2(2) = ")
    assert lines[-1] == "Note: LR test is conservative and provided only for reference."
    names = session.e.matrices["b"].colnames
    assert names[len(session.e.model.design.columns)] == "/:lnalpha"
    assert names[-2:] == ["/:var(_cons[location])", "/:var(_cons[location>brood])"]


def test_xtmelogit_is_meqrlogit() -> None:
    """The old name: mode-curvature quadrature, standard deviations in a separate table, e(b) in
    the estimation metric."""
    session, run = bundled_csv("cbpp")
    text = run("xtmelogit incidence i.period || herd:, binomial(size) nolog")
    m = CBPP["cbpp_aghq7"]
    e = session.e
    assert e.macros["cmd"] == "xtmelogit" and e.macros["intmethod"] == "mcaghermite"
    assert e.scalars["ll"] == pytest.approx(m["ll"], abs=1e-6)
    assert e.matrices["b"].colnames[-1] == "lns1_1_1:_cons"
    assert e.matrices["b"].values[0, -1] == pytest.approx(m["gamma"]["values"][0], abs=1e-6)
    assert "Integration points =   7" in text
    sd_line = next(x for x in text.splitlines() if "sd(_cons)" in x)
    assert float(sd_line.split()[2]) == pytest.approx(math.sqrt(m["varcomp"]["herd: var(_cons)"]),
                                                      rel=1e-6)


def test_bad_input_gets_statas_messages_and_changes_nothing() -> None:
    session, run = bundled_csv("grouseticks")
    run("gen zero = 0")
    run("gen neg = ticks - 5")
    data, e_before = session.data.copy(), session.e
    text = run("melogit zero cheight || brood:", rc=2000)
    assert text.startswith("outcome does not vary; remember:")
    assert run("mepoisson neg cheight || brood:", rc=459).startswith(
        "neg must be greater than or equal to zero")
    assert "option binomial() not allowed" in run("mepoisson ticks || brood:, binomial(2)", rc=198)
    assert run("melogit ticks || brood:, intmethod(bogus)", rc=198).startswith(
        "intmethod(bogus) not allowed")
    assert run("menbreg ticks || brood:, dispersion(odd)", rc=198).startswith(
        "option dispersion(odd) invalid")
    assert run("meglm ticks || brood:, family(poisson) link(logit)", rc=198).startswith(
        "link(logit) is not allowed with family(poisson)")
    assert run("melogit ticks || brood:, intmethod(laplace) intpoints(3)", rc=198).startswith(
        "option intpoints() not allowed with intmethod(laplace)")
    assert session.data.equals(data) and session.e is e_before


def test_perfect_prediction_is_dropped_as_logit_does() -> None:
    """A variable whose nonzero values all have the outcome 1: omitted with its observations."""
    session, run = bundled_csv("contraception")
    run("gen flag = (woman <= 20)")
    run("replace use = 1 if flag")
    text = run("melogit use age flag || district:, nolog")
    n_flag = int((session.data.woman <= 20).sum())
    assert text.splitlines()[0] == "note: flag != 0 predicts success perfectly;"
    assert text.splitlines()[1] == f"      flag omitted and {n_flag} obs not used."
    assert session.e.scalars["N"] == 1934 - n_flag
    names = session.e.matrices["b"].colnames
    assert "use:o.flag" in names


def test_gaussian_family_is_mixed_by_ml() -> None:
    """meglm, family(gaussian): the linear mixed model by maximum likelihood (the integral is
    exact), so its estimates are mixed, ml's; var(e.depvar) from ln σ.  The SEs of β come from the
    full observed information (meglm's) rather than mixed's (X'V⁻¹X)⁻¹, which drops the β-θ cross
    derivatives (zero only in expectation): 1e-4 apart here.  A variance at the boundary
    (cbpp's herds) shows its upper limit as missing instead of failing."""
    session, run = bundled_csv("grouseticks")
    run("gen lt = ln(ticks + 1)")
    run("qui mixed lt i.year cheight || brood:, ml")
    ref = session.e
    ref_b = ref.matrices["b"].values.reshape(-1)
    ref_se = np.sqrt(np.diag(ref.matrices["V"].values))
    text = run("meglm lt i.year cheight || brood:, family(gaussian) nolog")
    e = session.e
    assert e.scalars["ll"] == pytest.approx(ref.scalars["ll"], abs=1e-7)
    names = e.matrices["b"].colnames
    b = e.matrices["b"].values.reshape(-1)
    se = np.sqrt(np.diag(e.matrices["V"].values))
    np.testing.assert_allclose(b[:5], ref_b[:5], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(se[:5], ref_se[:5], rtol=5e-4)
    var = b[names.index("/:var(_cons[brood])")]
    assert var == pytest.approx(math.exp(2 * ref_b[names.index("lt:_cons") + 1]), rel=1e-5)
    sigma2 = math.exp(2 * ref_b[-1])
    row = next(x for x in text.splitlines() if x.startswith("    var(e.lt)|"))
    assert float(row.split("|")[1].split()[0]) == pytest.approx(sigma2, rel=1e-5)
    session, run = bundled_csv("cbpp")
    text = run("meglm incidence i.period || herd:, family(gaussian) nolog")
    row = next(x for x in text.splitlines() if "var(_cons)" in x)
    assert row.split()[-2:] == ["0", "."]


def test_iterate_and_tolerances_are_honoured() -> None:
    """Stata's rule ([R] maximize): converged when the scaled gradient is below nrtolerance and
    the last step changed the parameters by less than tolerance or the log likelihood by less
    than ltolerance; iterate() caps the iterations."""
    session, run = bundled_csv("cbpp")
    cmd = "melogit incidence i.period || herd:, binomial(size) intmethod(mcaghermite) nolog"
    text = run(f"{cmd} iterate(3)")
    assert "convergence not achieved" in text
    assert session.e.scalars["converged"] == 0 and session.e.scalars["ic"] == 3
    run(f"{cmd} tolerance(1e-300) ltolerance(1e-300) nrtolerance(1e-300) iterate(25)")
    assert session.e.scalars["converged"] == 0 and session.e.scalars["ic"] == 25
    run(f"qui {cmd}")
    assert session.e.scalars["converged"] == 1
    assert session.e.scalars["ll"] == pytest.approx(CBPP["cbpp_aghq7"]["ll"], abs=1e-6)


ALLZERO = json.loads((FIXTURES / "glmm_hsb_allzero.json").read_text())


@pytest.mark.parametrize("method, key", [("mcaghermite", "aghq7"), ("laplace", "laplace")])
def test_a_group_of_all_zeros_and_one_of_all_ones_fit_as_glmer(method, key) -> None:
    """No error and no lost group: a school whose outcomes are all 0 (and one all 1) keeps its
    observations, and the fit is glmer's (scripts/make_glmm_allzero_fixture.R)."""
    run = runner()
    run("use hsb")
    run("gen hi = mathach >= 13")
    run('replace hi = 0 if id == "1224"')
    run('replace hi = 1 if id == "1288"')
    run(f"melogit hi ses || id:, intmethod({method}) nolog")
    e, ref = run.session.e, ALLZERO[key]
    assert e.scalars["N"] == 7185 and e.scalars["converged"] == 1
    assert e.scalars["ll"] == pytest.approx(ref["ll"], abs=1e-3)
    names = e.matrices["b"].colnames
    b = e.matrices["b"].values.reshape(-1)
    se = np.sqrt(np.diag(e.matrices["V"].values))
    assert names[:2] == ["hi:ses", "hi:_cons"]
    beta, ref_beta, ref_se = b[[1, 0]], np.array(ref["beta"]), np.array(ref["se"])
    # 2e-4 relative, of the standard error where the coefficient is near 0 (_cons is .002)
    assert np.all(np.abs(beta - ref_beta) <= 2e-4 * np.maximum(np.abs(ref_beta), ref_se))
    np.testing.assert_allclose(se[[1, 0]], ref_se, rtol=2e-3)
    assert b[names.index("/:var(_cons[id])")] == pytest.approx(ref["var_cons"], rel=2e-3)
    run("predict double m, reffects ebmodes")
    modes = run.session.data.groupby("id")["m"].first()
    assert modes["1224"] == pytest.approx(ref["mode_1224"], rel=2e-3)
    assert modes["1288"] == pytest.approx(ref["mode_1288"], rel=2e-3)
