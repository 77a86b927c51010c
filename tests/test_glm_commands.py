"""``logit``, ``probit`` and ``poisson`` as commands: numbers against R's glm (the fixtures), the LR
test and pseudo R² against the constant-only likelihood computed here, Stata 17's compact header::

    Logistic regression                                     Number of obs =     74
                                                            LR chi2(1)    =  11.49
                                                            Prob > chi2   = 0.0007
    Log likelihood = -39.28864                              Pseudo R2     = 0.1276

(``logit foreign mpg`` on the auto data, Stata 17), and what bad input gets.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from runner import bundled_csv, fixture_models

CONTRA = fixture_models("glmm_contraception.json")
GROUSE = fixture_models("glmm_grouseticks.json")


@pytest.mark.parametrize("cmd,name", [("logit", "contraception_glm_logit"),
                                      ("probit", "contraception_glm_probit")])
def test_binary_commands(cmd: str, name: str) -> None:
    session, run = bundled_csv("contraception")
    text = run(f"{cmd} use c.age##c.age i.urban i.livch")
    m = CONTRA[name]
    e = session.e
    y = session.data.use.to_numpy(float)
    p = y.mean()
    ll0 = float(np.sum(y * math.log(p) + (1 - y) * math.log(1 - p)))
    assert e.scalars["ll"] == pytest.approx(m["ll"], abs=1e-7)
    assert e.scalars["ll_0"] == pytest.approx(ll0, abs=1e-8)
    chi2 = 2 * (m["ll"] - ll0)
    assert e.scalars["chi2"] == pytest.approx(chi2, abs=1e-6)
    assert e.scalars["p"] == pytest.approx(stats.chi2.sf(chi2, 6), rel=1e-6)
    assert e.scalars["r2_p"] == pytest.approx(1 - m["ll"] / ll0, rel=1e-9)
    b = dict(zip(e.matrices["b"].colnames, e.matrices["b"].values[0]))
    se = dict(zip(e.matrices["b"].colnames, np.sqrt(np.diag(e.matrices["V"].values))))
    for k, v, s in zip(m["fixed"]["names"], m["fixed"]["estimates"], m["fixed"]["se"]):
        assert b[k] == pytest.approx(v, rel=1e-7, abs=1e-10) and se[k] == pytest.approx(s, rel=1e-6)
    lines = text.splitlines()
    start = lines.index(next(x for x in lines if x.startswith(("Logistic", "Probit"))))
    title = "Logistic regression" if cmd == "logit" else "Probit regression"
    assert lines[start:start + 4] == [
        title.ljust(56) + "Number of obs =  1,934",
        " " * 56 + f"LR chi2(6)    = {chi2:6.2f}",
        " " * 56 + "Prob > chi2   = 0.0000",
        f"Log likelihood = {m['ll']:.8g}".ljust(56) + f"Pseudo R2     = {1 - m['ll'] / ll0:.4f}"]
    assert lines[start - 1] == "" and lines[start + 4] == ""
    assert lines[1].startswith("Iteration 0:   log likelihood = ")
    assert float(lines[1].split("=")[1]) == pytest.approx(ll0, abs=5e-5)   # from the constant-only fit


def test_odds_ratios_and_incidence_rate_ratios() -> None:
    session, run = bundled_csv("contraception")
    run("qui logit use c.age##c.age i.urban i.livch")
    text = run("logit, or")
    row = next(x for x in text.splitlines() if x.lstrip().startswith("1.urban"))
    m = CONTRA["contraception_glm_logit"]
    b, se = m["fixed"]["estimates"][2], m["fixed"]["se"][2]
    assert float(row.split()[2]) == pytest.approx(math.exp(b), rel=1e-6)
    assert float(row.split()[3]) == pytest.approx(math.exp(b) * se, rel=1e-5)
    assert text.splitlines()[-1] == "Note: _cons estimates baseline odds."
    session, run = bundled_csv("grouseticks")
    run("qui poisson ticks i.year cheight")
    assert session.e.scalars["ll"] == pytest.approx(GROUSE["grouseticks_glm_poisson"]["ll"], abs=1e-7)
    text = run("poisson, irr")
    assert "       ticks |        IRR   Std. err.      z    P>|z|     [95% conf. interval]" in text
    assert "option or not allowed" in run("poisson, or", rc=198)


def test_exposure_is_an_offset_of_its_log() -> None:
    session, run = bundled_csv("grouseticks")
    run("gen t = 1 + mod(_n, 3)")
    run("gen double lnt = ln(t)")
    run("qui poisson ticks cheight, exposure(t)")
    ll_exp = session.e.scalars["ll"]
    assert session.e.macros["offset"] == "ln(t)"
    run("qui poisson ticks cheight, offset(lnt)")
    assert session.e.scalars["ll"] == pytest.approx(ll_exp, abs=1e-9)
    run("predict n")
    run("predict xb, xb")
    d = session.data
    np.testing.assert_allclose(d.n, np.exp(d.xb), rtol=1e-6)


def test_offset_and_exposure_rows_as_stata_prints_them() -> None:
    """Below _cons, the variable that enters with coefficient 1: ``lnt |  1  (offset)``,
    ``ln(t) |  1  (exposure)``, left as 1 in an IRR table; the same after mepoisson."""
    session, run = bundled_csv("grouseticks")
    run("gen t = 1 + mod(_n, 3)")
    run("gen double lnt = ln(t)")
    text = run("poisson ticks cheight, offset(lnt) nolog")
    assert "         lnt |          1  (offset)" in text.splitlines()
    text = run("poisson ticks cheight, exposure(t) irr nolog")
    lines = text.splitlines()
    assert lines[lines.index("       ln(t) |          1  (exposure)") + 1] == "-" * 78
    text = run("mepoisson ticks cheight, exposure(t) || brood:, irr intmethod(laplace) nolog")
    lines = text.splitlines()
    row = lines.index("       ln(t) |          1  (exposure)")
    assert lines[row - 1].startswith("       _cons |") and lines[row + 1].startswith("-------------+")


def test_bad_input() -> None:
    session, run = bundled_csv("contraception")
    run("gen zero = 0")
    data = session.data.copy()
    assert run("logit zero age", rc=2000).startswith("outcome does not vary")
    assert "option irr not allowed" in run("logit use age, irr", rc=198)
    run("gen flag = woman <= 20")
    run("replace use = 0 if flag")
    text = run("logit use age flag, nolog")
    n = int(session.data.flag.sum())
    assert text.splitlines()[:2] == ["note: flag != 0 predicts failure perfectly;",
                                     f"      flag omitted and {n} obs not used."]
    assert session.e.scalars["N"] == 1934 - n
    session, run = bundled_csv("grouseticks")
    run("gen neg = ticks - 3")
    before = session.data.copy()
    assert run("poisson neg cheight", rc=459) == "neg must be greater than or equal to zero\nr(459);\n"
    assert session.data.equals(before)
    assert data is not None
