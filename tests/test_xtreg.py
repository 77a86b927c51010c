"""xtset, xtreg (re, re sa, fe, mle) and xtsum, checked against the R fixtures
(tests/fixtures/xtreg_*.json: Stata's formulas recomputed in R, plm and lme4) and pandas."""

import json

import numpy as np
import pytest
from conftest import FIXTURES
from runner import runner

HSB = json.loads((FIXTURES / "xtreg_hsb.json").read_text())
EXAM = json.loads((FIXTURES / "xtreg_exam.json").read_text())


@pytest.fixture(scope="module")
def hsb():
    run = runner()
    run("use hsb")
    run("encode id, gen(school)")
    assert run("xtset school").splitlines() == ["", "Panel variable: school (unbalanced)"]
    return run


@pytest.fixture(scope="module")
def exam():
    run = runner()
    run("import delimited exam.csv, asdouble")      # R read the file in double precision
    run("xtset school")
    return run


def _coefs(e, names):
    b = dict(zip(e.matrices["b"].colnames, e.matrices["b"].values[0]))
    V = e.matrices["V"]
    se = {n: np.sqrt(V.values[i, i]) for i, n in enumerate(V.colnames)}
    return [b[n] for n in names], [se[n] for n in names]


@pytest.mark.parametrize("data, fx, x", [("hsb", HSB, "ses"), ("exam", EXAM, "standlrt")])
def test_random_effects_gls_matches_the_fixture(request, data, fx, x):
    run = request.getfixturevalue(data)
    run(f"xtreg {fx['depvar']} {x}, re")
    e, want = run.session.e, fx["re"]
    b, se = _coefs(e, [x, "_cons"])
    np.testing.assert_allclose(b, want["coef"]["estimates"], rtol=1e-10)
    np.testing.assert_allclose(se, want["coef"]["se"], rtol=1e-10)
    np.testing.assert_allclose(e.matrices["V"].values, want["coef"]["vcov"], rtol=1e-9)
    for ours, theirs in (("sigma_u", "sigma_u"), ("sigma_e", "sigma_e"), ("rho", "rho"),
                         ("chi2", "chi2"), ("Tbar", "Tbar"), ("rmse", "rmse")):
        assert e.scalars[ours] == pytest.approx(want[theirs], rel=1e-10)
    for ours, theirs in (("r2_w", "within"), ("r2_b", "between"), ("r2_o", "overall")):
        assert e.scalars[ours] == pytest.approx(want["r2"][theirs], rel=1e-10)
    for ours, theirs in (("thta_min", "min"), ("thta_5", "p5"), ("thta_50", "p50"),
                         ("thta_95", "p95"), ("thta_max", "max")):
        assert e.scalars[ours] == pytest.approx(want["theta"][theirs], rel=1e-10)
    np.testing.assert_allclose(np.sort(e.model.fit.theta), np.sort(want["theta_by_panel"]),
                               rtol=1e-10)
    run(f"xtreg {fx['depvar']} {x}, re sa")
    b, se = _coefs(run.session.e, [x, "_cons"])
    np.testing.assert_allclose(b, fx["re_sa"]["coef"]["estimates"], rtol=1e-10)
    np.testing.assert_allclose(se, fx["re_sa"]["coef"]["se"], rtol=1e-10)
    assert run.session.e.scalars["sigma_u"] == pytest.approx(fx["re_sa"]["sigma_u"], rel=1e-10)


@pytest.mark.parametrize("data, fx, x", [("hsb", HSB, "ses"), ("exam", EXAM, "standlrt")])
def test_fixed_effects_matches_the_fixture(request, data, fx, x):
    run = request.getfixturevalue(data)
    run(f"xtreg {fx['depvar']} {x}, fe")
    e, want = run.session.e, fx["fe"]
    b, se = _coefs(e, [x, "_cons"])
    np.testing.assert_allclose(b, want["coef"]["estimates"], rtol=1e-10)
    np.testing.assert_allclose(se, want["coef"]["se"], rtol=1e-10)
    s = e.scalars
    assert (s["df_r"], s["df_a"]) == (want["df_r"], want["df_a"])
    for ours, theirs in (("F", "F"), ("F_f", "F_u"), ("sigma_u", "sigma_u"),
                         ("sigma_e", "sigma_e"), ("rho", "rho"), ("corr", "corr_u_xb"),
                         ("rss", "rss"), ("tss", "tss"), ("sigma", "sigma")):
        assert s[ours] == pytest.approx(want[theirs], rel=1e-9), ours
    assert s["r2"] == pytest.approx(want["r2"]["within"], rel=1e-9)
    np.testing.assert_allclose(e.model.fit.u, want["u_i"], rtol=1e-9, atol=1e-12)
    out = run(f"xtreg {fx['depvar']} {x}, fe").splitlines()
    d1, d2 = want["F_u_df"]
    assert out[-1] == (f"F test that all u_i=0: F({d1}, {d2}) = {want['F_u']:.2f}".ljust(61)
                       + f"Prob > F = {want['p_F_u']:.4f}")


@pytest.mark.parametrize("data, fx, x", [("hsb", HSB, "ses"), ("exam", EXAM, "standlrt")])
def test_ml_random_effects_matches_the_fixture(request, data, fx, x):
    run = request.getfixturevalue(data)
    run(f"xtreg {fx['depvar']} {x}, mle nolog")
    e, want = run.session.e, fx["mle"]
    assert e.matrices["b"].colnames == [f"{fx['depvar']}:{x}", f"{fx['depvar']}:_cons",
                                        "sigma_u:_cons", "sigma_e:_cons"]
    np.testing.assert_allclose(e.matrices["b"].values[0], want["coef"]["estimates"], rtol=1e-7)
    # the OIM in (β, σ_u, σ_e); the fixture's is a numerical Hessian (numDeriv)
    np.testing.assert_allclose(np.sqrt(np.diag(e.matrices["V"].values)), want["coef"]["se"],
                               rtol=1e-6)
    np.testing.assert_allclose(e.matrices["V"].values, want["coef"]["vcov"], rtol=1e-5, atol=1e-10)
    for ours, theirs in (("ll", "ll"), ("ll_0", "ll_0"), ("ll_c", "ll_c")):
        assert e.scalars[ours] == pytest.approx(want[theirs], rel=1e-9), ours
    assert e.scalars["rho"] == pytest.approx(want["rho"], rel=1e-6)    # lme4 stops at |g| ~ 4e-6
    assert e.scalars["chi2"] == pytest.approx(want["lr_chi2"], rel=1e-6)
    assert e.scalars["chi2_c"] == pytest.approx(want["lr_sigma_u"]["chibar2"], rel=1e-6)
    out = run(f"xtreg {fx['depvar']} {x}, mle nolog").splitlines()
    rows = {ln.split("|")[0].strip(): ln for ln in out if "|" in ln}
    lo, hi = want["rho_ci"]
    assert [float(v) for v in rows["rho"].split()[-2:]] == pytest.approx([lo, hi], rel=1e-6)
    lo, hi = want["sigma_e_ci"]
    assert [float(v) for v in rows["/sigma_e"].split()[-2:]] == pytest.approx([lo, hi], rel=1e-6)
    assert out[-1].startswith(f"LR test of sigma_u=0: chibar2(01) = "
                              f"{want['lr_sigma_u']['chibar2']:.2f}")


def test_hsb_printed_tables(hsb):
    out = hsb("xtreg mathach ses").splitlines()        # re is the default
    assert out[1:13] == [
        "Random-effects GLS regression                   Number of obs     =      7,185",
        "Group variable: school                          Number of groups  =        160",
        "",
        "R-squared:                                      Obs per group:",
        "     Within  = 0.0547                                         min =         14",
        "     Between = 0.6157                                         avg =       44.9",
        "     Overall = 0.1301                                         max =         67",
        "",
        "                                                Wald chi2(1)      =     560.66",
        "corr(u_i, X) = 0 (assumed)                      Prob > chi2       =     0.0000",
        "",
        "------------------------------------------------------------------------------"]
    assert out[-4:] == ["     sigma_u |  1.6905235", "     sigma_e |  6.0831188",
                        "         rho |  .07169372   (fraction of variance due to u_i)",
                        "-" * 78]
    fe = hsb("xtreg mathach ses, fe").splitlines()
    assert fe[9:11] == ["                                                F(1,7024)         =     406.75",
                        "corr(u_i, Xb) = 0.3278                          Prob > F          =     0.0000"]
    assert fe[-1] == "F test that all u_i=0: F(159, 7024) = 6.07                   Prob > F = 0.0000"
    assert hsb("xtreg").splitlines()[1] == fe[1]               # replay


def test_xtsum_against_pandas(hsb):
    out = hsb("xtsum mathach").splitlines()
    d = hsb.session.data
    g = d.groupby("school")["mathach"]
    within = d["mathach"] - g.transform("mean") + d["mathach"].mean()
    assert out[1] == "Variable         |      Mean  Std. dev.        Min        Max |    Observations"
    r = hsb.session.r.scalars
    assert r["sd_b"] == pytest.approx(g.mean().std(), rel=1e-12)
    assert r["sd_w"] == pytest.approx(within.std(), rel=1e-12)
    assert (r["min_w"], r["max_w"]) == pytest.approx((within.min(), within.max()), rel=1e-12)
    assert (r["N"], r["n"]) == (7185, 160)
    assert out[5] == ("         within  |             " + f"{within.std():.6f}"
                      + f"  {within.min():9.7g}   {within.max():.7g} | T-bar =  44.906")


def test_predict_after_xtreg(hsb):
    hsb("xtreg mathach ses, fe")
    hsb("predict u, u")
    hsb("predict xb")
    hsb("predict ue, ue")
    d = hsb.session.data
    b = hsb.session.e.matrices["b"].values[0]
    resid = d["mathach"] - b[0] * d["ses"] - b[1]
    np.testing.assert_allclose(d["xb"], (b[0] * d["ses"] + b[1]).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(d["ue"], resid.astype(np.float32), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(d["u"], resid.groupby(d["school"]).transform("mean"), rtol=1e-5,
                               atol=1e-6)
    hsb("drop u xb ue")


@pytest.mark.parametrize("line, message, rc", [
    ("xtreg mathach ses, re fe", "options re and fe may not be combined", 198),
    ("xtreg mathach ses, fe sa", "option sa allowed only with re", 198),
    ("xtset id", "string variables not allowed in varlist;\nid is a string variable", 109),
])
def test_errors(hsb, line, message, rc):
    assert hsb(line, rc=rc) == f"{message}\nr({rc});\n"
    assert hsb.session.chars["xt"].panel == "school"


def test_xtreg_needs_xtset():
    run = runner()
    run("use hsb")
    assert run("xtreg mathach ses", rc=459).splitlines()[0] == \
        "panel variable not set; use xtset varname ..."
