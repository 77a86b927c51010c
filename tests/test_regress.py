"""regress: OLS numbers from first principles, Stata's layout and e() results."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.model.linear import fit_ols
from hlmshell.render.regress import header_lines
from hlmshell.results.regress import RegressHeader
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    return pd.read_stata(DATA / "hsb.dta")


def _session(*lines: str):
    out, buf = capture_output()
    s = Session(out=out, cwd=DATA)
    rcs = [run_line(s, line) for line in ("use hsb", *lines)]
    return s, buf.getvalue(), rcs


def test_fit_ols_against_lstsq(hsb):
    y = hsb["mathach"].to_numpy()
    X = np.column_stack([hsb["ses"], hsb["sector"], np.ones(len(hsb))])
    fit = fit_ols(y, X)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    n, k = X.shape
    s2 = resid @ resid / (n - k)
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-12)
    np.testing.assert_allclose(fit.V, s2 * np.linalg.inv(X.T @ X), rtol=1e-9)
    tss = ((y - y.mean()) ** 2).sum()
    assert fit.rss == pytest.approx(resid @ resid, rel=1e-12)
    assert fit.r2 == pytest.approx(1 - (resid @ resid) / tss, rel=1e-12)
    assert fit.r2_a == pytest.approx(1 - (1 - fit.r2) * (n - 1) / (n - k), rel=1e-12)
    assert fit.rmse == pytest.approx(np.sqrt(s2), rel=1e-12)
    assert fit.F == pytest.approx((fit.mss / 2) / s2, rel=1e-12)
    assert (fit.df_m, fit.df_r, fit.n) == (2, n - 3, n)
    # normal log likelihood at the ML variance, summed observation by observation
    sigma2 = resid @ resid / n
    ll = np.sum(-0.5 * np.log(2 * np.pi * sigma2) - resid ** 2 / (2 * sigma2))
    assert fit.ll == pytest.approx(ll, rel=1e-12)


def test_fit_ols_noconstant_uses_raw_sums(hsb):
    y = hsb["mathach"].to_numpy()
    fit = fit_ols(y, hsb[["ses"]].to_numpy(), constant=False)
    assert fit.df_m == 1 and fit.df_r == len(y) - 1
    assert fit.r2 == pytest.approx(fit.mss / (y @ y))
    assert fit.mss + fit.rss == pytest.approx(y @ y)


@pytest.mark.parametrize("rhs, ll_mixed, chi2", [
    # The LR test of mixed is against the linear regression: ll(regress) = ll(mixed) - chi2/2.
    ("ses", -23320.502, 456.94),
    ("sector", -23539.553, 715.25),
    ("c.ses##i.sector", -23284.091, 338.63),
])
def test_ll_matches_mixed_lr_test(rhs, ll_mixed, chi2):
    s, _, rcs = _session(f"quietly regress mathach {rhs}")
    assert rcs == [0, 0]
    assert s.e.scalars["ll"] == pytest.approx(ll_mixed - chi2 / 2, abs=0.006)


def test_constant_only_ll_is_mixed_ll_c():
    # mixed mathach || id:  e(ll_c) = -24049.86601856097 (reference log)
    s, _, rcs = _session("quietly regress mathach")
    assert rcs == [0, 0]
    assert s.e.scalars["ll"] == pytest.approx(-24049.86601856097, abs=1e-4)
    assert s.e.scalars["ll_0"] == pytest.approx(-24049.86601856097, abs=1e-4)
    assert s.e.matrices["b"].values[0, 0] == pytest.approx(12.74785, abs=5e-6)  # mean in `sum`


def test_regress_output_and_e(hsb):
    s, text, rcs = _session("reg mathach ses")
    assert rcs == [0, 0]
    lines = text.splitlines()
    assert lines[1] == "      Source |       SS           df       MS      Number of obs   =     7,185"
    assert lines[2].startswith("-------------+----------------------------------   F(1, 7183)      =")
    assert "     mathach | Coefficient  Std. err.      t    P>|t|     [95% conf. interval]" in lines
    e = s.e
    assert e.cmd == "regress"
    assert e.macros["cmdline"] == "regress mathach ses"
    assert e.macros["depvar"] == "mathach"
    assert list(e.scalars) == ["N", "df_m", "df_r", "F", "r2", "rmse", "mss", "rss", "r2_a", "ll",
                               "ll_0", "rank"]
    assert e.scalars["N"] == 7185 and e.scalars["rank"] == 2
    assert e.matrices["b"].colnames == ["ses", "_cons"]
    assert e.matrices["b"].rownames == ["y1"]
    assert e.matrices["V"].rownames == ["ses", "_cons"]
    assert s.in_sample(e).all()
    X = np.column_stack([hsb["ses"], np.ones(len(hsb))])
    beta, *_ = np.linalg.lstsq(X, hsb["mathach"].to_numpy(), rcond=None)
    np.testing.assert_allclose(e.matrices["b"].values[0], beta, rtol=1e-12)
    ses_row = next(line for line in lines if line.strip().startswith("ses |"))
    assert ses_row.split()[2:4] == ["3.18387", ".0971209"]


def test_factor_variables_and_sample(hsb):
    s, text, rcs = _session("regress mathach c.ses##i.sector if himinty == 0")
    assert rcs == [0, 0]
    e = s.e
    assert e.matrices["b"].colnames == ["ses", "0b.sector", "1.sector", "0b.sector#co.ses",
                                        "1.sector#c.ses", "_cons"]
    b = e.matrices["b"].values[0]
    assert b[1] == 0 and b[3] == 0
    V = e.matrices["V"].values
    assert not V[1].any() and not V[:, 3].any()
    keep = (hsb["himinty"] == 0).to_numpy()
    assert (s.in_sample(e) == keep).all() and e.scalars["N"] == keep.sum()
    d = hsb[keep]
    X = np.column_stack([d["ses"], d["sector"] == 1, (d["sector"] == 1) * d["ses"], np.ones(len(d))])
    beta, *_ = np.linalg.lstsq(X.astype(float), d["mathach"].to_numpy(), rcond=None)
    np.testing.assert_allclose(b[[0, 2, 4, 5]], beta, rtol=1e-10)
    assert "    1.sector |" in text and "sector#c.ses |" in text and "          1  |" in text


def test_collinear_note_and_omitted_row():
    s, text, rcs = _session("generate ses2 = 2*ses", "regress mathach ses ses2")
    assert rcs == [0, 0, 0]
    assert "note: ses2 omitted because of collinearity." in text
    assert "        ses2 |          0  (omitted)" in text
    assert s.e.matrices["b"].colnames == ["ses", "o.ses2", "_cons"]
    assert s.e.scalars["rank"] == 2 and s.e.scalars["df_m"] == 1


def test_noconstant_level_and_replay():
    s, text, rcs = _session("regress mathach ses, noconstant", "regress, level(90)")
    assert rcs == [0, 0, 0]
    assert s.e.matrices["b"].colnames == ["ses"]
    assert "F(1, 7184)" in text and "[90% conf. interval]" in text
    assert "_cons" not in text


def test_in_range():
    s, _, rcs = _session("regress mathach ses in 1/10")
    assert rcs == [0, 0] and s.e.scalars["N"] == 10
    assert s.in_sample(s.e)[:10].all() and not s.in_sample(s.e)[10:].any()


@pytest.mark.parametrize("line, message, rc", [
    ("regress mathach sess", "variable sess not found", 111),
    ("regress mathach i.id", "id: string variables may not be used as factor variables", 109),
    ("regress i.sector ses", "depvar may not be a factor variable", 198),
    ("regress mathach ses if ses > 100", "no observations", 2000),
    ("regress mathach ses, bogus", "option bogus not allowed", 198),
])
def test_errors(line, message, rc):
    s, text, rcs = _session(line)
    assert rcs == [0, rc]
    assert message in text
    assert s.e is None


def test_replay_without_estimates():
    _, text, rcs = _session("regress")
    assert rcs == [0, 301] and "last estimates not found" in text


def test_header_layout_matches_stata():
    # Stata 17, sysuse auto: regress mpg weight foreign
    h = RegressHeader(mss=1619.287698167387, rss=824.1717612920727, df_m=2, df_r=71, n_obs=74,
                      F=69.74846262000308, p_F=3.0e-18, r2=.6627029116028815, r2_a=.6532015034705233,
                      rmse=3.407059285651584)
    assert header_lines(h) == [
        "      Source |       SS           df       MS      Number of obs   =        74",
        "-------------+----------------------------------   F(2, 71)        =     69.75",
        "       Model |   1619.2877         2  809.643849   Prob > F        =    0.0000",
        "    Residual |  824.171761        71   11.608053   R-squared       =    0.6627",
        "-------------+----------------------------------   Adj R-squared   =    0.6532",
        "       Total |  2443.45946        73  33.4720474   Root MSE        =    3.4071",
    ]
    # a Stata 16 log: small sums of squares and Root MSE .0478
    h = RegressHeader(mss=.026396014, rss=.251283445, df_m=3, df_r=110, n_obs=114, F=3.8517,
                      p_F=.0115, r2=.0951, r2_a=.0704, rmse=(.251283445 / 110) ** .5)
    lines = header_lines(h)
    assert lines[2] == "       Model |  .026396014         3  .008798671   Prob > F        =    0.0115"
    assert lines[5] == "       Total |  .277679459       113   .00245734   Root MSE        =     .0478"


def test_baselevels_and_noheader_on_replay():
    _, text, rcs = _session("quietly regress mathach c.ses##i.sector", "regress, baselevels noheader")
    assert rcs == [0, 0, 0]
    assert "Source |" not in text
    lines = text.splitlines()
    i = lines.index("      sector |")
    assert lines[i + 1] == "          0  |          0  (base)"
    assert lines[i + 2].startswith("          1  |   1.949726")
    assert "          0  |          0  (base)" in lines[i + 4:i + 6]


def test_predict_and_estimates_replay(hsb):
    s, text, rcs = _session("quietly regress mathach c.ses##i.sector", "predict double yhat",
                            "predict double r, residuals", "estimates store ols",
                            "estimates replay ols", "predict yf")
    assert rcs == [0] * 7
    X = np.column_stack([hsb["ses"], hsb["sector"] == 1, (hsb["sector"] == 1) * hsb["ses"],
                         np.ones(len(hsb))]).astype(float)
    beta, *_ = np.linalg.lstsq(X, hsb["mathach"].to_numpy(), rcond=None)
    np.testing.assert_allclose(s.data["yhat"], X @ beta, rtol=1e-10)
    np.testing.assert_allclose(s.data["r"], hsb["mathach"] - X @ beta, atol=1e-10)
    # without a type, predict stores float, as Stata does
    np.testing.assert_array_equal(s.data["yf"], (X @ beta).astype(np.float32).astype(float))
    replayed = text.split("Model ols")[-1]
    assert "      Source |       SS           df       MS      Number of obs   =     7,185" in replayed
    assert "sector#c.ses |" in replayed
