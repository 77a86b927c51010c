"""``contrast`` and ``pwcompare`` against closed forms from e(b) and e(V), and, with ``small``
after ``mixed, dfmethod(kroger)``, against pbkrtest (tests/fixtures/ddf_machines.json).

The marginal linear predictions are asbalanced with continuous covariates at 0 (Stata's
convention): after ``regress y i.g##c.x`` the contrasts of g are its main-effect coefficients.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hlmshell.inference.distributions import (
    chi2_sf,
    f_sf,
    normal_ppf,
    normal_sf,
    t_ppf,
    t_sf,
)
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
MACHINES = {m["name"]: m for m in json.loads(
    (ROOT / "tests" / "fixtures" / "ddf_machines.json").read_text())["models"]}


def _run(session: Session, line: str, buf) -> None:
    assert run_line(session, line) == 0, (line, buf.getvalue()[-800:])


def _hsb(estimation: str) -> tuple[Session, object]:
    out, buf = capture_output()
    session = Session(out=out, cwd=ROOT)
    _run(session, "use data/hsb.dta", buf)
    _run(session, "generate ses3 = (ses > -0.5) + (ses > 0.5)", buf)
    _run(session, "quietly " + estimation, buf)
    return session, buf


def _coef(session: Session) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    names = [n.split(":", 1)[-1] if not n.startswith(("lns", "lnsig")) else n
             for n in session.e.matrices["b"].colnames]
    return ({n: i for i, n in enumerate(names)}, session.e.matrices["b"].values[0],
            session.e.matrices["V"].values)


def _weights(index: dict[str, int], k: int, terms: dict[str, float]) -> np.ndarray:
    w = np.zeros(k)
    for name, value in terms.items():
        w[index[name]] = value
    return w


def test_operators_on_a_three_level_factor_after_regress() -> None:
    session, buf = _hsb("regress mathach i.ses3 i.sector c.meanses")
    index, b, V = _coef(session)
    df_r = session.e.scalars["df_r"]
    k = len(b)
    m = {lv: _weights(index, k, {f"{lv}.ses3": 1.0}) if lv else np.zeros(k) for lv in (0, 1, 2)}
    expected = {
        "r": [m[1] - m[0], m[2] - m[0]],
        "ar": [m[1] - m[0], m[2] - m[1]],
        "a": [m[0] - m[1], m[1] - m[2]],
        "g": [m[lv] - (m[0] + m[1] + m[2]) / 3 for lv in (0, 1, 2)],
        "rb2": [m[0] - m[2], m[1] - m[2]],
    }
    labels = {"r": ["r1vs0.ses3", "r2vs0.ses3"], "ar": ["ar1vs0.ses3", "ar2vs1.ses3"],
              "a": ["a0vs1.ses3", "a1vs2.ses3"], "g": ["g0.ses3", "g1.ses3", "g2.ses3"],
              "rb2": ["r0vs2.ses3", "r1vs2.ses3"]}
    for op, rows in expected.items():
        _run(session, f"contrast {op}.ses3, effects", buf)
        W = np.array(rows)
        est, se = W @ b, np.sqrt(np.einsum("ij,jk,ik->i", W, V, W))
        table = session.r.matrices["table"].values
        assert session.r.matrices["b"].colnames == labels[op]
        assert np.allclose(table[0], est, rtol=1e-10, atol=1e-12)
        assert np.allclose(table[1], se, rtol=1e-10)
        assert np.allclose(table[3], 2 * t_sf(np.abs(est / se), df_r), rtol=1e-8)
        crit = t_ppf(0.975, df_r)
        assert np.allclose(table[4], est - crit * se, rtol=1e-10)
        F = session.r.matrices["F"].values[0]
        assert np.allclose(F[:len(rows)], (est / se) ** 2, rtol=1e-10)
        # the joint test: the two free directions (g. has three rows of rank two)
        Wj = W[:2]
        joint = float((Wj @ b) @ np.linalg.solve(Wj @ V @ Wj.T, Wj @ b)) / 2
        assert F[-1] == pytest.approx(joint, rel=1e-10)
        assert session.r.matrices["df"].values[0, -1] == 2
        assert session.r.matrices["p"].values[0, -1] == pytest.approx(f_sf(joint, 2, df_r),
                                                                     rel=1e-8)


def test_contrast_layout_after_regress_and_after_mixed() -> None:
    session, buf = _hsb("regress mathach i.ses3 i.sector")
    start = len(buf.getvalue())
    _run(session, "contrast ar.ses3", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[:4] == ["", "Contrasts of marginal linear predictions", "",
                         "Margins: asbalanced"]
    assert lines[5:17] == [
        "------------------------------------------------",
        "             |         df           F        P>F",
        "-------------+----------------------------------",
        "        ses3 |",
        lines[9], lines[10],
        "      Joint  |          2" + lines[11][25:],
        "             |",
        " Denominator |       7181",
        "------------------------------------------------",
        "",
        "--------------------------------------------------------------",
    ]
    assert lines[9].startswith("   (1 vs 0)  |          1 ")
    assert lines[10].startswith("   (2 vs 1)  |          1 ")
    assert lines[17:20] == ["             |   Contrast   Std. err.     [95% conf. interval]",
                            "-------------+------------------------------------------------",
                            "        ses3 |"]
    session, buf = _hsb("mixed mathach i.ses3 i.sector || id:")
    start = len(buf.getvalue())
    _run(session, "contrast ses3 sector", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[5:9] == ["------------------------------------------------",
                          "             |         df        chi2     P>chi2",
                          "-------------+----------------------------------",
                          "mathach      |"]
    assert lines[9].startswith("        ses3 |          2 ")
    assert lines[10].startswith("      sector |          1 ")
    index, b, V = _coef(session)
    w = _weights(index, len(b), {"1.sector": 1.0})
    chi2 = float((w @ b) ** 2 / (w @ V @ w))
    assert session.r.matrices["chi2"].values[0, 1] == pytest.approx(chi2, rel=1e-10)
    assert session.r.matrices["p"].values[0, 1] == pytest.approx(chi2_sf(chi2, 1), rel=1e-8)


def test_interacting_continuous_covariate_is_held_at_zero() -> None:
    session, buf = _hsb("regress mathach i.sector##c.ses")
    index, b, _ = _coef(session)
    _run(session, "contrast r.sector", buf)
    assert session.r.matrices["b"].values[0, 0] == pytest.approx(b[index["1.sector"]], rel=1e-12)
    _run(session, "contrast r.sector#c.ses", buf)
    assert session.r.matrices["b"].values[0, 0] == pytest.approx(b[index["1.sector#c.ses"]],
                                                                 rel=1e-10)
    assert session.r.matrices["b"].colnames == ["r1vs0.sector#c.ses"]


def test_interaction_contrasts_are_kronecker_products() -> None:
    session, buf = _hsb("regress mathach i.ses3##i.sector")
    index, b, V = _coef(session)
    _run(session, "contrast r.ses3#r.sector", buf)
    got = session.r.matrices["b"].values[0]
    assert got == pytest.approx([b[index["1.ses3#1.sector"]], b[index["2.ses3#1.sector"]]],
                                rel=1e-10)
    _run(session, "contrast ses3#sector", buf)
    W = np.zeros((2, len(b)))
    W[0, index["1.ses3#1.sector"]] = W[1, index["2.ses3#1.sector"]] = 1
    F = float((W @ b) @ np.linalg.solve(W @ V @ W.T, W @ b)) / 2
    assert session.r.matrices["F"].values[0, 0] == pytest.approx(F, rel=1e-10)
    # main effects are balanced over the other factor's levels
    _run(session, "contrast r.sector", buf)
    balanced = b[index["1.sector"]] + (b[index["1.ses3#1.sector"]] +
                                       b[index["2.ses3#1.sector"]]) / 3
    assert session.r.matrices["b"].values[0, 0] == pytest.approx(balanced, rel=1e-10)


@pytest.mark.parametrize("method", ["noadjust", "bonferroni", "sidak", "scheffe"])
def test_pwcompare_adjustments_after_mixed(method: str) -> None:
    session, buf = _hsb("mixed mathach i.ses3 i.sector || id:")
    index, b, V = _coef(session)
    k = len(b)
    m = {lv: _weights(index, k, {f"{lv}.ses3": 1.0}) if lv else np.zeros(k) for lv in (0, 1, 2)}
    W = np.array([m[1] - m[0], m[2] - m[0], m[2] - m[1]])
    est, se = W @ b, np.sqrt(np.einsum("ij,jk,ik->i", W, V, W))
    z = est / se
    p = 2 * normal_sf(np.abs(z))
    crit = normal_ppf(0.975)
    if method == "bonferroni":
        p, crit = np.minimum(1, 3 * p), normal_ppf(1 - 0.05 / 6)
    elif method == "sidak":
        p = -np.expm1(3 * np.log1p(-p))          # 1 - (1 - p)^3 without cancellation
        crit = normal_ppf(1 - (1 - 0.95 ** (1 / 3)) / 2)
    elif method == "scheffe":
        p, crit = chi2_sf(z ** 2, 2), np.sqrt(5.991464547107979)
    _run(session, f"pwcompare ses3, effects mcompare({method})", buf)
    table = session.r.matrices["table_vs"].values
    assert session.r.matrices["b_vs"].colnames == ["1vs0.ses3", "2vs0.ses3", "2vs1.ses3"]
    assert np.allclose(table[0], est, rtol=1e-10)
    assert np.allclose(table[1], se, rtol=1e-10)
    assert np.allclose(table[3], p, rtol=1e-7, atol=1e-300)
    assert np.allclose(table[4], est - crit * se, rtol=1e-9)
    assert np.allclose(table[5], est + crit * se, rtol=1e-9)
    # the margins themselves: balanced over sector, the constant included
    cons = _weights(index, k, {"_cons": 1.0, "1.sector": 0.5})
    assert np.allclose(session.r.matrices["b"].values[0], [(cons + m[lv]) @ b for lv in (0, 1, 2)],
                       rtol=1e-10)
    title = {"noadjust": "Unadjusted", "bonferroni": "Bonferroni", "sidak": "Sidak",
             "scheffe": "Scheffe"}[method]
    assert buf.getvalue().splitlines()[-9].split() == ["|", title, title]
    assert ("Number of" in buf.getvalue()) == (method != "noadjust")


def test_pwcompare_default_layout_after_regress() -> None:
    session, buf = _hsb("regress mathach i.ses3")
    start = len(buf.getvalue())
    _run(session, "pwcompare ses3", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[1] == "Pairwise comparisons of marginal linear predictions"
    assert lines[5:11] == [
        "--------------------------------------------------------------",
        "             |                                 Unadjusted",
        "             |   Contrast   Std. err.     [95% conf. interval]",
        "-------------+------------------------------------------------",
        "        ses3 |",
        lines[10]]
    assert lines[10].startswith("     1 vs 0  |")
    assert lines[12].startswith("     2 vs 1  |")
    df_r = session.e.scalars["df_r"]
    table = session.r.matrices["table_vs"].values
    assert table[6, 0] == df_r
    assert table[4, 0] == pytest.approx(table[0, 0] - t_ppf(0.975, df_r) * table[1, 0], rel=1e-10)


def test_small_after_kenward_roger_matches_pbkrtest() -> None:
    model = MACHINES["machines_nested"]
    out, buf = capture_output()
    session = Session(out=out, cwd=ROOT)
    _run(session, "import delimited data/machines.csv", buf)
    _run(session, "quietly " + model["stata_cmd_kroger"], buf)
    _run(session, "contrast machine, small", buf)
    joint = model["joint_tests"][0]["kenward_roger"]
    assert session.r.matrices["F"].values[0, 0] == pytest.approx(joint["F"], rel=1e-6)
    assert "         df        ddf           F        P>F" in buf.getvalue()
    _run(session, "pwcompare machine, small effects", buf)
    table = session.r.matrices["table_vs"].values
    Va = np.array(model["kenward_roger"]["vcov_adj"])
    W = np.array([[1, 0, 0], [0, 1, 0], [-1, 1, 0]], dtype=float)
    se = np.sqrt(np.einsum("ij,jk,ik->i", W, Va, W))
    assert np.allclose(table[1], se, rtol=1e-6)
    assert np.allclose(table[6, :2], model["kenward_roger"]["df"][:2], rtol=1e-6)
    assert table[6, 2] == pytest.approx(10.0, rel=1e-6)


@pytest.mark.parametrize("line, message, rc", [
    ("contrast ses", "factor 'ses' not found in list of covariates", 322),
    ("contrast r.minority", "factor 'minority' not found in list of covariates", 322),
    ("contrast sector#ses3", "sector#ses3 not found in list of covariates", 322),
    ("contrast q.ses3", "q.: invalid contrast operator", 198),
    ("contrast rb7.ses3", "level 7 of factor ses3 not found", 111),
    ("pwcompare r.ses3", "contrast operators are not allowed with pwcompare", 198),
    ("pwcompare ses3, mcompare(tukey)", "method tukey not allowed", 198),
    ("contrast ses3, small", "option small is allowed only if option dfmethod() was used", 198),
    ("contrast ses3, noeffects", "option noeffects not allowed", 198),
])
def test_bad_input(line: str, message: str, rc: int) -> None:
    session, buf = _hsb("mixed mathach i.ses3 i.sector || id:")
    r = session.r
    start = len(buf.getvalue())
    assert run_line(session, line) == rc
    assert message in buf.getvalue()[start:]
    assert session.r is r
