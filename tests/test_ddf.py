"""Small-sample inference after REML ``mixed``: dfmethod(), estat df, test/lincom ``small``.

Oracles: the R fixtures tests/fixtures/ddf_*.json (lmerTest, pbkrtest, and the analytic EIM/OIM
formulas of scripts/make_ddf_fixtures.R; tests/fixtures/ddf_margins_xtreg.md), and a dense numpy
computation of the same REML derivatives at our own estimates (V is small for these data).

Tolerances: our REML optimum and lme4's differ by up to 2e-5 in the restricted log likelihood (both
are converged; see the md), which moves the df at that order.  Against our own estimates the
derivatives agree to 1e-7; against R the expected-information (Stata's default) df and the
Kenward–Roger covariance to 5e-6, the observed-information df to 3e-4.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hlmshell.inference.ddf import approximate
from hlmshell.model.multilevel.reml_derivatives import reml_derivatives
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EIM_TOL, OIM_TOL = 5e-6, 3e-4


def _models() -> dict[str, dict]:
    out = {}
    for name in ("sleepstudy", "pastes", "machines", "orthodont"):
        for m in json.loads((FIXTURES / f"ddf_{name}.json").read_text())["models"]:
            out[m["name"]] = m
    return out


MODELS = _models()


def _session() -> tuple[Session, object]:
    out, buf = capture_output()
    return Session(out=out, cwd=ROOT / "data"), buf


def _run(s: Session, buf, line: str, rc: int = 0) -> str:
    start = len(buf.getvalue())
    got = run_line(s, line)
    text = buf.getvalue()[start:]
    assert got == rc, f"{line!r} gave r({got}), not r({rc}):\n{text}"
    return text


def _fitted(name: str, options: str = "") -> tuple[Session, object, dict]:
    m = MODELS[name]
    s, buf = _session()
    _run(s, buf, f"import delimited {Path(m['data_file']).name}")
    _run(s, buf, f"qui {m['stata_cmd']} {options}")
    return s, buf, m


def _dense(model, data) -> tuple[np.ndarray, ...]:
    """X'V⁻¹X, P_k, (Q_ij + Q_ji)/2, EIM and OIM from the n x n V (pbkrtest's definitions)."""
    fit = model.fit
    X, y = model.design.X, data[model.depvar].to_numpy(float)
    n = len(y)
    Gs, V = [], fit.sigma2 * np.eye(n)
    for eq, S in zip(model.structure.equations, fit.Sigma):
        Z, g = eq.z(data), model.structure.groups[eq.level].row_group
        same = (g[:, None] == g[None, :]).astype(float)
        q = Z.shape[1]
        if eq.cov == "identity":
            basis = [np.eye(q)]
        else:
            basis = []
            for a, b in zip(*np.tril_indices(q)):
                E = np.zeros((q, q))
                E[a, b] = E[b, a] = 1.0
                basis.append(E)
        Gs += [same * (Z @ E @ Z.T) for E in basis]
        V += same * (Z @ S @ Z.T)
    Gs.append(np.eye(n))
    Vi = np.linalg.inv(V)
    Phi = np.linalg.inv(X.T @ Vi @ X)
    P = Vi - Vi @ X @ Phi @ X.T @ Vi
    Pk = np.array([-X.T @ Vi @ G @ Vi @ X for G in Gs])
    Q = np.array([[X.T @ Vi @ Gi @ Vi @ Gj @ Vi @ X for Gj in Gs] for Gi in Gs])
    PG = [P @ G for G in Gs]
    Py = P @ y
    eim = np.array([[0.5 * np.sum(A * B.T) for B in PG] for A in PG])
    oim = np.array([[Py @ Gi @ P @ Gj @ Py for Gj in Gs] for Gi in Gs]) - eim
    return X.T @ Vi @ X, Pk, 0.5 * (Q + Q.transpose(1, 0, 2, 3)), eim, oim


@pytest.mark.parametrize("name", ["sleep_unbal_rslope", "pastes_nested", "machines_nested",
                                  "orthodont_rslope"])
def test_reml_derivatives_match_a_dense_computation(name: str) -> None:
    s, _, _ = _fitted(name)
    model = s.e.model
    got = reml_derivatives(model.fit)
    want = _dense(model, s.data)
    # Q enters only Kenward–Roger's small correction of Φ; its entries span several orders
    for label, a, b, tol in zip(("XtVX", "P", "Q", "EIM", "OIM"),
                                (got.XtVX, got.P, got.Q, got.eim, got.oim), want,
                                (1e-12, 1e-8, 1e-6, 1e-7, 1e-7)):
        assert np.max(np.abs(a - b)) <= tol * np.max(np.abs(b)), label


@pytest.mark.parametrize("name", sorted(MODELS))
def test_satterthwaite_and_kenward_roger_match_r(name: str) -> None:
    s, _, m = _fitted(name)
    model = s.e.model
    d = reml_derivatives(model.fit)
    cols, width = tuple(model.design.estimable), len(model.coef)
    for method, eim, key, tol in (("satterthwaite", True, "satterthwaite_eim", EIM_TOL),
                                  ("satterthwaite", False, "satterthwaite", OIM_TOL),
                                  ("kroger", True, "kenward_roger", EIM_TOL),
                                  ("kroger", False, "kenward_roger_oim", OIM_TOL)):
        ss = approximate(method, eim, cols, width, d.XtVX, d.P, d.Q, d.eim, d.oim)
        np.testing.assert_allclose(ss.df, m[key]["df"], rtol=tol, err_msg=key)
        if method == "kroger":
            np.testing.assert_allclose(ss.V, m[key]["vcov_adj"], rtol=EIM_TOL, atol=0,
                                       err_msg=key)
            np.testing.assert_allclose(np.sqrt(np.diag(ss.V)), m[key]["se"], rtol=EIM_TOL)
        else:
            np.testing.assert_allclose(np.sqrt(np.diag(ss.V)), m[key]["se"], rtol=1e-6)
        for jt in m["joint_tests"]:
            R = np.zeros((len(jt["L"]), width))
            R[:, list(cols)] = jt["L"]
            ft = ss.test(R, np.zeros(len(R)), model.coef)
            ref = jt[key]
            assert ft.df == len(R)
            assert ft.F == pytest.approx(ref["F"], rel=1e-6)
            assert ft.ddf == pytest.approx(ref.get("denDF", ref.get("ddf")), rel=tol)


def test_kroger_fit_prints_the_df_header_and_a_t_table() -> None:
    m = MODELS["sleep_unbal_rslope"]
    s, buf = _session()
    _run(s, buf, "import delimited sleepstudy_unbal.csv")
    text = _run(s, buf, m["stata_cmd_kroger"] + " nolog")
    kr = m["kenward_roger"]
    lines = text.splitlines()
    df_min, df_max = min(kr["df"]), max(kr["df"])
    assert ("DF method: Kenward-Roger".ljust(48) + "DF:           min =" + f"{df_min:11.2f}"
            in lines)
    assert " " * 62 + "avg =" + f"{np.mean(kr['df']):11.2f}" in lines
    assert " " * 62 + "max =" + f"{df_max:11.2f}" in lines
    F = (m["fixed"]["estimates"][0] / kr["se"][0]) ** 2      # one restriction: λ = 1
    assert (" " * 48 + f"F(1,{kr['df'][0]:9.2f})".ljust(18) + "=" + f"{F:11.2f}") in lines
    assert any(line.startswith("Log restricted-likelihood = ") and line.endswith(
        "Prob > F          =     0.0007") for line in lines)
    assert "    reaction | Coefficient  Std. err.      t    P>|t|     [95% conf. interval]" in lines
    # the adjusted SE (1.87945017…), t, and the t(15.2156) CI of pbkrtest
    assert ("        days |   7.929212    1.87945     4.22   0.001     3.928197    11.93023"
            in lines)
    assert ("       _cons |   255.5408   7.024131    36.38   0.000      240.716    270.3656"
            in lines)
    e = s.e
    assert e.scalars["small"] == 1 and e.macros["dfmethod"] == "kroger"
    assert e.macros["dftitle"] == "Kenward-Roger"
    assert e.scalars["df_min"] == pytest.approx(df_min, rel=EIM_TOL)
    assert e.scalars["df_max"] == pytest.approx(df_max, rel=EIM_TOL)
    assert e.scalars["df_avg"] == pytest.approx(np.mean(kr["df"]), rel=EIM_TOL)
    assert e.scalars["ddf_m"] == pytest.approx(kr["df"][0], rel=EIM_TOL)
    assert e.scalars["F"] == pytest.approx(F, rel=EIM_TOL)
    df = e.matrices["df"]
    assert df.rownames == ["kroger"] and df.colnames == e.matrices["b"].colnames
    np.testing.assert_allclose(df.values[0, :2], kr["df"], rtol=EIM_TOL)
    assert np.all(df.values[0, 2:] == 0)
    V_df, V = e.matrices["V_df"].values, e.matrices["V"].values
    np.testing.assert_allclose(V_df[:2, :2], kr["vcov_adj"], rtol=EIM_TOL)
    np.testing.assert_allclose(V[:2, :2], m["fixed"]["vcov"], rtol=1e-5)   # e(V) is unadjusted
    np.testing.assert_array_equal(V_df[2:, 2:], V[2:, 2:])


def test_replay_is_large_sample_unless_small() -> None:
    s, buf, m = _fitted("sleep_unbal_rslope", "dfmethod(satterthwaite)")
    text = _run(s, buf, "mixed")
    assert "Wald chi2(1)" in text and "DF method" not in text and "P>|z|" in text
    text = _run(s, buf, "mixed, small")
    sat = m["satterthwaite_eim"]
    assert "DF method: Satterthwaite" in text and "P>|t|" in text
    lo, hi = sat["ci_lower"][0], sat["ci_upper"][0]
    assert f"        days |   7.929212   1.849049     4.29   0.001     {lo:.6f}    {hi:.5f}" in text
    assert "Note: The observed" not in text


def test_oim_fit_notes_the_observed_information() -> None:
    s, buf, m = _fitted("sleep_unbal_rslope", "dfmethod(kroger, oim)")
    text = _run(s, buf, "mixed, small")
    assert ("Note: The observed information matrix is used to compute Kenward-Roger degrees\n"
            "      of freedom.") in text
    np.testing.assert_allclose(s.e.matrices["df"].values[0, :2], m["kenward_roger_oim"]["df"],
                               rtol=OIM_TOL)


def test_test_and_lincom_small_use_the_methods_df() -> None:
    s, buf, m = _fitted("orthodont_rslope", "dfmethod(kroger)")
    jt = next(j for j in m["joint_tests"] if j["stata_cmd"].startswith("test "))
    kr = jt["kenward_roger"]
    text = _run(s, buf, f"{jt['stata_cmd']}, small")
    assert f"       F(  3,{kr['ddf']:6.2f}) ={kr['F']:8.2f}" in text
    assert f"            Prob > F ={kr['p']:10.4f}" in text
    assert s.r.scalars["F"] == pytest.approx(kr["F"], rel=1e-6)
    assert s.r.scalars["df_r"] == pytest.approx(kr["ddf"], rel=EIM_TOL)
    assert s.r.scalars["df"] == 3 and s.r.scalars["p"] == pytest.approx(kr["p"], rel=1e-4)
    # without small: the large-sample chi2 of e(V)
    text = _run(s, buf, jt["stata_cmd"])
    assert "chi2(  3) =" in text and "Prob > F" not in text
    # lincom small: the KR SE and df of 1.female
    text = _run(s, buf, "lincom 1.female, small")
    j = m["fixed"]["names"].index("1.female")
    assert s.r.scalars["se"] == pytest.approx(m["kenward_roger"]["se"][j], rel=EIM_TOL)
    assert s.r.scalars["df"] == pytest.approx(m["kenward_roger"]["df"][j], rel=EIM_TOL)
    assert "      t    P>|t|" in text
    r = s.r.scalars
    assert list(r) == ["estimate", "se", "level", "t", "p", "lb", "ub", "df"]      # lincom.ado's
    assert r["t"] == pytest.approx(m["kenward_roger"]["t"][j], rel=EIM_TOL)
    assert r["p"] == pytest.approx(m["kenward_roger"]["p"][j], rel=1e-4)
    assert [r["lb"], r["ub"]] == pytest.approx(
        [m["kenward_roger"]["ci_lower"][j], m["kenward_roger"]["ci_upper"][j]], rel=EIM_TOL)
    cells = next(line for line in text.splitlines() if line.strip().startswith("(1) |")).split()
    assert [float(x) for x in cells[-2:]] == pytest.approx(
        [m["kenward_roger"]["ci_lower"][j], m["kenward_roger"]["ci_upper"][j]], rel=EIM_TOL)


def test_satterthwaite_joint_test_of_a_factor() -> None:
    s, buf, m = _fitted("machines_nested", "dfmethod(satterthwaite)")
    jt = m["joint_tests"][0]
    sat = jt["satterthwaite_eim"]
    text = _run(s, buf, "testparm i.machine, small")
    assert f"       F(  2,{sat['denDF']:6.2f}) ={sat['F']:8.2f}" in text
    assert s.r.scalars["df_r"] == pytest.approx(sat["denDF"], rel=EIM_TOL)


def test_estat_df_lists_and_posts_methods() -> None:
    s, buf, m = _fitted("machines_nested")
    text = _run(s, buf, "estat df, method(kroger satterthwaite residual anova)")
    assert "Degrees of freedom" in text
    assert "       score |  Kenward-Roger  Satterthwaite   Residual      ANOVA" in text
    assert "          2  |             10             10         51         10" in text
    cons = next(line for line in text.splitlines() if line.startswith("       _cons |"))
    kr = m["kenward_roger"]["df"][2]
    assert [float(x) for x in cons.split()[2:]] == pytest.approx([kr, kr, 51, 5], rel=EIM_TOL)
    r = s.r
    assert r.macros["dfmethods"] == "kroger satterthwaite residual anova"
    df = r.matrices["df"]
    assert df.colnames == ["kroger", "satterthwaite", "residual", "anova"]
    assert df.rownames == s.e.matrices["b"].colnames
    np.testing.assert_allclose(df.values[[1, 2, 3], 0], m["kenward_roger"]["df"], rtol=EIM_TOL)
    assert df.values[0, 2] == 0 and df.values[3, 2] == m["residual_df"]
    assert "V_df" in r.matrices and s.e.model.small_sample is None     # nothing posted
    _run(s, buf, "estat df, method(kroger anova) post(kroger)")
    assert s.e.macros["dfmethod"] == "kroger" and s.e.scalars["small"] == 1
    assert "DF method: Kenward-Roger" in _run(s, buf, "mixed, small")
    text = _run(s, buf, "estat df")
    assert "  Kenward-Roger" in text and "ANOVA" not in text


def test_exact_methods_give_the_classical_df() -> None:
    """Balanced designs, where the ANOVA and between–within df are the exact ones (and equal the
    Satterthwaite df of the fixtures): residual n − p; repeated: within n − G − (p − p_b),
    between G − p_b; ANOVA: the nested interaction's (6−1)(3−1) = 10 for machine."""
    s, buf, m = _fitted("sleep_rint", "dfmethod(repeated)")
    np.testing.assert_array_equal(s.e.matrices["df"].values[0, :2], [161, 17])
    assert m["satterthwaite_eim"]["df"][0] == pytest.approx(161)
    _run(s, buf, "qui mixed reaction days || subject:, reml dfmethod(residual)")
    np.testing.assert_array_equal(s.e.matrices["df"].values[0, :2], [178, 178])
    assert s.e.scalars["ddf_m"] == 178
    s, buf, m = _fitted("machines_nested", "dfmethod(anova)")
    np.testing.assert_array_equal(s.e.matrices["df"].values[0, :4], [0, 10, 10, 5])
    assert m["satterthwaite_eim"]["df"][:2] == pytest.approx([10, 10])
    s, buf, m = _fitted("machines_rint", "dfmethod(anova)")
    np.testing.assert_array_equal(s.e.matrices["df"].values[0, :4], [0, 46, 46, 5])
    assert m["satterthwaite_eim"]["df"][:2] == pytest.approx([46, 46])


@pytest.mark.parametrize("line, message", [
    ("mixed reaction days || subject: days, dfmethod(kroger)",
     "option dfmethod(kroger) is allowed only with REML estimation"),
    ("mixed reaction days || subject:, reml dfmethod(kr, eim oim)",
     "only one of eim or oim is allowed in option dfmethod()"),
    ("mixed reaction days || subject:, reml dfmethod(sat, xim)",
     "suboption xim in option dfmethod() is not valid"),
    ("mixed reaction days || subject:, reml dfmethod(res, oim)",
     "suboption oim can only be specified when option dfmethod() contains kroger or "
     "satterthwaite"),
    ("mixed reaction days || subject:, reml dfmethod(kroger anova)",
     "only one method is allowed in option dfmethod()"),
    ("mixed reaction days || subject:, reml dfmethod(bogus)",
     "invalid method bogus in option dfmethod()"),
    ("xtmixed reaction days || subject:, reml dfmethod(residual)",
     "option dfmethod() is available only with mixed"),
    ("mixed reaction days, reml dfmethod(kroger)",
     "model is linear regression;  option dfmethod(residual) should be used"),
    ("mixed reaction, noconstant || subject:, reml dfmethod(kroger)",
     "option dfmethod() is not allowed for a model with no fixed effects"),
    ("mixed reaction days || subject: || days:, dfmethod(repeated)",
     "option dfmethod(repeated) is not available for models with more than two levels"),
    ("mixed reaction days || subject:, reml dfmethod(kroger) small",
     "option small is allowed only upon replay and requires that option dfmethod() is "
     "specified with mixed during estimation"),
    ("mixed, small", "option small requires that option dfmethod() is specified with mixed "
                     "during estimation"),
    ("test days, small", "option small is allowed only if option dfmethod() was used with the "
                         "mixed command during estimation"),
    ("lincom days, small", "option small is allowed only if option dfmethod() was used with the "
                           "mixed command during estimation"),
    ("estat df", "no degrees of freedom found"),
    ("estat df, method(kroger)", "Kenward-Roger DF method is available only with REML "
                                 "estimation"),
    ("estat df, method(residual anova) post", "multiple DF methods specified"),
    ("estat df, method(anova) post(residual)", "method residual in option post() is not one of "
                                             "methods from option method()"),
    ("estat df, method(anova) oim", "option oim can only be specified when option method() "
                                    "contains kroger or satterthwaite"),
    ("estat df, post", "options post and post() require option method()"),
])
def test_refused_with_statas_message_and_nothing_changed(line: str, message: str) -> None:
    s, buf = _session()
    _run(s, buf, "import delimited sleepstudy.csv")
    _run(s, buf, "qui mixed reaction days || subject:")          # ML, no dfmethod()
    e, data = s.e, s.data
    text = _run(s, buf, line, rc=198)
    assert text.startswith(message)
    assert s.e is e and s.data is data


def test_small_refusals_after_a_small_fit() -> None:
    s, buf, _ = _fitted("sleep_unbal_rslope", "dfmethod(kroger)")
    e = s.e
    text = _run(s, buf, "test [lns1_1_1]_cons, small", rc=198)
    assert text.startswith("only expressions of fixed effects may be tested when option small "
                           "is specified")
    text = _run(s, buf, "mixed, small nofetable", rc=198)
    assert text.startswith("option nofetable may not be combined with option small")
    assert s.e is e
    _run(s, buf, "regress reaction days")
    assert _run(s, buf, "test days, small", rc=198).startswith("option small not allowed")
    assert _run(s, buf, "lincom days, small", rc=198).startswith(
        "option small is allowed only after command mixed")


def test_a_singular_fit_gets_one_sided_derivatives(tmp_path: Path) -> None:
    """No group effect in the data: the group variance sits at the boundary (≈ 0), where the
    differences must be one-sided.  Held against the dense computation; pbkrtest on the same data
    (a singular lme4 fit) gives KR df 55.02112 (x) and 8.629238 (_cons) and SEs .1312061 .1082587."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    y = 1 + x + rng.normal(size=60)
    g = np.repeat(np.arange(10), 6)
    rows = "\n".join(f"{a:.17g},{b:.17g},{c}" for a, b, c in zip(y, x, g))
    (tmp_path / "bnd.csv").write_text("y,x,g\n" + rows + "\n")
    s, buf = _session()
    _run(s, buf, f"import delimited {tmp_path / 'bnd.csv'}")
    _run(s, buf, "qui mixed y x || g:, reml dfmethod(kroger)")
    model = s.e.model
    assert model.fit.Sigma[0][0, 0] < 1e-8 * model.fit.sigma2
    cols, width = tuple(model.design.estimable), len(model.coef)
    want = approximate("kroger", True, cols, width, *_dense(model, s.data))
    ss = model.small_sample
    np.testing.assert_allclose(ss.df, want.df, rtol=1e-5)
    np.testing.assert_allclose(ss.df, [55.02112, 8.629238], rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(ss.V)), [.1312061, .1082587], rtol=1e-6)


def test_estat_df_anova_needs_the_estimation_data() -> None:
    s, buf, m = _fitted("machines_nested")
    _run(s, buf, "drop machine")
    e = s.e
    text = _run(s, buf, "estat df, method(anova)", rc=459)
    assert text.startswith("data have changed since estimation") and s.e is e
    _run(s, buf, "estat df, method(kroger)")           # from the fit alone
    np.testing.assert_allclose(s.r.matrices["df"].values[1:4, 0], m["kenward_roger"]["df"],
                               rtol=EIM_TOL)
