"""``nlcom`` and ``predictnl`` against their closed-form delta methods (analytic gradients of the
same functions), and Stata's layout and messages (nlcom.ado, predictnl.ado)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from runner import runner

from hlmshell.inference.distributions import chi2_sf, normal_ppf, normal_sf, t_sf

ROOT = Path(__file__).resolve().parents[1]


def _hsb(estimation: str):
    run = runner(cwd=ROOT)
    run("use data/hsb.dta")
    run("quietly " + estimation)
    return run.session, run


def _bV(session) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    names = session.e.matrices["b"].colnames
    return ({n: i for i, n in enumerate(names)}, session.e.matrices["b"].values[0],
            session.e.matrices["V"].values)


def test_nlcom_ratio_and_exp_after_regress() -> None:
    session, run = _hsb("regress mathach i.sector##c.ses")
    i, b, V = _bV(session)
    text = run("nlcom (ratio: _b[ses]/_b[_cons]) (_b[1.sector]*exp(_b[ses]/10))")
    s, c, x = b[i["ses"]], b[i["_cons"]], b[i["1.sector"]]
    g1 = np.zeros(len(b))
    g1[i["ses"]], g1[i["_cons"]] = 1 / c, -s / c ** 2
    g2 = np.zeros(len(b))
    g2[i["1.sector"]], g2[i["ses"]] = np.exp(s / 10), x * np.exp(s / 10) / 10
    G = np.array([g1, g2])
    assert session.r.matrices["b"].values[0] == pytest.approx([s / c, x * np.exp(s / 10)],
                                                              rel=1e-12)
    assert np.allclose(session.r.matrices["V"].values, G @ V @ G.T, rtol=1e-7)
    assert session.r.matrices["b"].colnames == ["ratio", "_nl_2"]
    assert session.r.scalars["N"] == 7185
    lines = text.splitlines()
    se = np.sqrt(g1 @ V @ g1)
    z = (s / c) / se
    assert lines[:9] == [
        "", "       ratio:  _b[ses]/_b[_cons]", "       _nl_2:  _b[1.sector]*exp(_b[ses]/10)",
        "", "------------------------------------------------------------------------------",
        "     mathach | Coefficient  Std. err.      z    P>|z|     [95% conf. interval]",
        "-------------+----------------------------------------------------------------",
        lines[7], lines[8]]
    assert lines[7].startswith("       ratio |    .291518   .0110469")
    assert f"{z:.2f}" in lines[7]
    assert 2 * normal_sf(abs(z)) < 1e-100       # z, not t(df_r): Stata 13+'s nlcom


def test_nlcom_df_post_and_noheader() -> None:
    session, run = _hsb("mixed mathach i.sector##c.ses || id:")
    i, b, V = _bV(session)
    e = session.e
    text = run("nlcom _b[ses]*exp(_b[lns1_1_1:_cons]), df(20)")
    assert session.e is e
    assert session.r.scalars["df_r"] == 20
    assert "      t    P>|t|" in text.splitlines()[-4]
    text = run("nlcom (sd: exp(_b[lns1_1_1:_cons])), post noheader")
    assert text.splitlines()[1].startswith("-----")
    assert session.e.cmd == "nlcom" and session.e.matrices["b"].colnames == ["sd"]
    sd = np.exp(b[i["lns1_1_1:_cons"]])
    assert session.e.matrices["V"].values[0, 0] == pytest.approx(
        sd ** 2 * V[i["lns1_1_1:_cons"], i["lns1_1_1:_cons"]], rel=1e-7)
    run("test sd = 2")
    assert session.r.scalars["chi2"] == pytest.approx(
        (sd - 2) ** 2 / session.e.matrices["V"].values[0, 0], rel=1e-10)


@pytest.mark.parametrize("line, message, rc", [
    ("nlcom ses", "expression (ses) contains reference to ses rather than _b[ses]", 198),
    ("nlcom _b[ses]/0", "expression (_b[ses]/0) evaluates to missing", 498),
    ("nlcom _b[nosuch]", "[nosuch] not found", 111),
    ("nlcom (1x: _b[ses])", "invalid name: 1x", 198),
    ("nlcom _b[ses] = 1", '"=" not allowed in expression', 198),
    ("predictnl p = predict(residuals), se(s)", ("expression is a function of possibly "
                                                 "stochastic quantities other than e(b)"), 498),
    ("predictnl ses = predict(xb)", "variable ses already defined", 110),
    ("predictnl p = predict(bogus)", "predict(bogus) invalid", 198),
    ("predictnl p = predict(xb), ci(lo)", "ci() requires two new variable names", 198),
])
def test_bad_input(line: str, message: str, rc: int) -> None:
    session, run = _hsb("regress mathach i.sector##c.ses")
    data, e, r = session.data.copy(), session.e, session.r
    assert message in run(line, rc)
    assert session.e is e and session.r is r
    pd.testing.assert_frame_equal(session.data, data)


def test_predictnl_linear_and_nonlinear_predictions() -> None:
    session, run = _hsb("mixed mathach i.sector##c.ses || id:")
    run("predict double xb, xb")
    run("predict double stdp, stdp")
    text = run("predictnl double f = exp(predict(xb)/10) if sector == 1, se(s) variance(v) "
               "wald(w) p(pv) ci(lo hi) level(90)")
    assert "(3,642 missing values generated)" in text
    assert "note: p-values are with respect to the chi-squared(1) distribution" in text
    assert "note: confidence intervals calculated using Z critical values" in text
    d = session.data
    on = d["sector"] == 1
    f = np.exp(d["xb"] / 10)
    se = f / 10 * d["stdp"]
    assert np.allclose(d.loc[on, "f"], f[on], rtol=1e-12)
    assert d.loc[~on, "f"].isna().all()
    assert np.allclose(d.loc[on, "s"], se[on], rtol=1e-7)
    assert np.allclose(d.loc[on, "v"], se[on] ** 2, rtol=1e-7)
    assert np.allclose(d.loc[on, "w"], (f / se)[on] ** 2, rtol=1e-6)
    assert np.allclose(d.loc[on, "pv"], chi2_sf((f / se)[on] ** 2, 1), rtol=1e-5, atol=1e-300)
    crit = normal_ppf(0.95)
    assert np.allclose(d.loc[on, "lo"], (f - crit * se)[on], rtol=1e-7)
    assert session.var_labels["f"] == "Prediction"
    assert session.var_labels["s"] == "Standard error: f"
    assert session.var_labels["lo"] == "90% lower bound: f"
    text = run("predictnl g = predict(xb) * _b[ses], se(sg) df(30) p(pg)")
    i, b, V = _bV(session)
    d = session.data
    X = np.column_stack([d["sector"], d["ses"], d["sector"] * d["ses"], np.ones(len(d))])
    cols = [i[f"mathach:{n}"] for n in ("1.sector", "ses", "1.sector#c.ses", "_cons")]
    G = X * b[i["mathach:ses"]]
    G[:, 1] += d["xb"]
    Vf = V[np.ix_(cols, cols)]
    se = np.sqrt(np.einsum("ij,jk,ik->i", G, Vf, G))
    assert np.allclose(d["sg"], se, rtol=1e-5)                  # float storage
    assert d["g"].dtype == np.float64 and d["g"].iloc[0] == np.float32(d["g"].iloc[0])
    w = (d["xb"] * b[i["mathach:ses"]] / se) ** 2
    assert np.allclose(d["pg"], 2 * t_sf(np.sqrt(w), 30), rtol=1e-3)
    assert "note: p-values are with respect to the F(1,30) distribution" in text
