"""``margins`` against the oracle fixtures (tests/fixtures/ddf_margins_xtreg.md, part b).

- ``margins_hsb.json``: regress and ML mixed of ``mathach i.sector##c.ses`` on HSB, every margin
  (estimate, SE, statistic, p, CI, and the gradient over e(b), read from r(Jacobian)) — closed
  forms checked against emmeans.  regress is exact (1e-9 relative; dydx by central differences:
  1e-9); mixed carries the ML fit's agreement with lme4 (1e-6 relative).
- ``margins_hsb_melogit.json``: the same three margins of the issue after ``melogit hi
  i.sector##c.ses || id:`` (hi = mathach >= 13) on the marginal mean, gradients by numDeriv over
  (σ_u, β); held to 2e-5 relative (our fit and glmer's agree to about 1e-6).
- ``margins_unconditional_iris.json``: ``margins, vce(unconditional)`` after ``regress`` on iris,
  the numbers Stata printed (marginaleffects' Stata suite), checked there against the stacked
  estimating-equations sandwich.
- ``margins_contraception.json``: ``melogit use age i.urban || district:``.  The GLMM is not in
  hlmshell yet, so a stand-in random-intercept logit in the fitted-model protocol carries the
  fixture's estimates and covariance: its ``mu`` is the marginal mean (Stata's margins default
  after melogit, ``predict(mu marginal)``), integrated by 64-node Gauss–Hermite, differentiated
  with respect to every element of e(b) including var(_cons) (the fixture's ``se_full``); ``mu
  fixedonly`` sets the random effect to 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.lang.fvnotation import parse_terms
from hlmshell.model.design import build_design
from hlmshell.model.protocol import Statistic
from hlmshell.results.stored import EResults, StataMatrix
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
HSB = json.loads((FIXTURES / "margins_hsb.json").read_text())
CONTRACEPTION = json.loads((FIXTURES / "margins_contraception.json").read_text())["models"][0]
HSB_MELOGIT = json.loads((FIXTURES / "margins_hsb_melogit.json").read_text())["models"][0]


def _session() -> tuple[Session, object]:
    out, buf = capture_output()
    return Session(out=out, cwd=ROOT), buf


def _run(session: Session, line: str, buf=None) -> None:
    rc = run_line(session, line)
    assert rc == 0, (line, buf.getvalue()[-800:] if buf is not None else "")


def _hsb(estimation: str) -> tuple[Session, object]:
    session, buf = _session()
    _run(session, "use data/hsb.dta", buf)
    _run(session, "quietly " + estimation, buf)
    return session, buf


def _fixed_columns(session: Session, names: list[str]) -> list[int]:
    """Positions in e(b) of the fixture's fixed-effect names (first equation)."""
    colnames = session.e.matrices["b"].colnames
    depvar = session.e.macros["depvar"]
    bare = [c.split(":", 1)[1] if c.startswith(depvar + ":") else c for c in colnames]
    return [bare.index(n) for n in names]


def _check(session: Session, rows: list[dict], columns: list[int], rel: float,
           gradient_extra: tuple[int, str] | None = None, se_key: str = "se") -> None:
    table = session.r.matrices["table"].values
    names = session.r.matrices["b"].colnames
    J = session.r.matrices["Jacobian"].values
    assert table.shape[1] == len(rows)
    for k, row in enumerate(rows):
        assert names[k].split(":")[-1] == row["label"]
        b, se, stat, p, lower, upper = table[:6, k]
        assert b == pytest.approx(row["estimate"], rel=rel)
        assert se == pytest.approx(row[se_key], rel=rel)
        assert stat == pytest.approx(row["estimate"] / row[se_key], rel=rel)
        crit = (row["ci_upper"] - row["estimate"]) / row["se"]     # the fixture's z or t(.975)
        scale = 2 * crit * row[se_key]
        assert abs(lower - (row["estimate"] - crit * row[se_key])) <= rel * 10 * scale
        assert abs(upper - (row["estimate"] + crit * row[se_key])) <= rel * 10 * scale
        if se_key == "se":
            assert p == pytest.approx(row["p"], rel=1e-4, abs=1e-300)
        assert np.allclose(J[k, columns], row["gradient"], rtol=max(rel, 1e-8), atol=1e-8)
        if gradient_extra is not None:
            j, key = gradient_extra
            assert J[k, j] == pytest.approx(row[key], rel=1e-6, abs=1e-10)


@pytest.mark.parametrize("model", HSB["models"], ids=[m["name"] for m in HSB["models"]])
def test_hsb_margins_match_the_fixture(model: dict) -> None:
    session, buf = _hsb(model["estimation_cmd"])
    columns = _fixed_columns(session, model["fixed"]["names"])
    rel = 1e-9 if model["statistic"] == "t" else 1e-6
    assert len(model["margins"]) == 7
    for spec in model["margins"].values():
        _run(session, spec["stata_cmd"], buf)
        _check(session, spec["margins"], columns, rel)
        if model["statistic"] == "t":
            assert session.r.scalars["df_r"] == model["df_r"]
        else:
            assert "df_r" not in session.r.scalars


def test_margins_sector_output_after_mixed() -> None:
    session, buf = _hsb("mixed mathach i.sector##c.ses || id:")
    start = len(buf.getvalue())
    _run(session, "margins sector", buf)
    assert buf.getvalue()[start:].splitlines() == [
        "",
        "Predictive margins                                       Number of obs = 7,185",
        "",
        "Expression: Linear prediction, fixed portion, predict()",
        "",
        "------------------------------------------------------------------------------",
        "             |            Delta-method",
        "             |     Margin   std. err.      z    P>|z|     [95% conf. interval]",
        "-------------+----------------------------------------------------------------",
        "      sector |",
        "          0  |   11.79877   .2269283    51.99   0.000       11.354    12.24355",
        "          1  |    13.9359   .2517296    55.36   0.000     13.44252    14.42928",
        "------------------------------------------------------------------------------",
    ]


def test_at_legend_dydx_legend_and_t_columns_after_regress() -> None:
    session, buf = _hsb("regress mathach i.sector##c.ses")
    start = len(buf.getvalue())
    _run(session, "margins sector, at(ses=(-1 0 1))", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[1] == ("Adjusted predictions                                     "
                        "Number of obs = 7,185")
    assert lines[2:8] == ["Model VCE: OLS", "", "Expression: Linear prediction, predict()",
                          "1._at: ses = -1", "2._at: ses =  0", "3._at: ses =  1"]
    assert lines[11] == ("             |     Margin   std. err.      t    P>|t|     "
                         "[95% conf. interval]")
    assert lines[13:15] == ["  _at#sector |",
                            ("        1#0  |   8.408013   .1547501    54.33   0.000     "
                             "8.104657    8.711368")]
    start = len(buf.getvalue())
    _run(session, "margins, dydx(ses) over(sector)", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[1].startswith("Average marginal effects ")
    assert lines[4:7] == ["Expression: Linear prediction, predict()", "dy/dx wrt:  ses",
                          "Over:       sector"]
    assert lines[12:14] == ["ses          |", "      sector |"]
    start = len(buf.getvalue())
    _run(session, "margins, at(ses=(-1 1)) atmeans", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[5:11] == ["1._at: 0.sector = .5068894 (mean)",
                           "       1.sector = .4931106 (mean)",
                           "       ses      =       -1",
                           "2._at: 0.sector = .5068894 (mean)",
                           "       1.sector = .4931106 (mean)",
                           "       ses      =        1"]
    start = len(buf.getvalue())
    _run(session, "margins, dydx(sector)", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[5] == "dy/dx wrt:  1.sector"
    assert lines[-1] == "Note: dy/dx for factor levels is the discrete change from the base level."
    start = len(buf.getvalue())
    _run(session, "margins, at((mean) ses sector=1) noatlegend", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[4] == "Expression: Linear prediction, predict()"
    assert lines[5] == ""


def test_elasticities_match_their_closed_forms() -> None:
    """eyex, dyex, eydx average the observation-level quantities (Stata's FAQ on elasticities)."""
    session, buf = _hsb("regress mathach i.sector##c.ses")
    b = dict(zip(session.e.matrices["b"].colnames, session.e.matrices["b"].values[0]))
    data = session.data
    sector, ses = data["sector"].to_numpy(float), data["ses"].to_numpy(float)
    slope = b["ses"] + b["1.sector#c.ses"] * sector
    for at in (1.0, 2.0):
        xb = b["_cons"] + b["1.sector"] * sector + slope * at
        expected = {"eyex": np.mean(slope * at / xb), "dyex": np.mean(slope * at),
                    "eydx": np.mean(slope / xb)}
        for kind, value in expected.items():
            _run(session, f"margins, {kind}(ses) at(ses={at:g})", buf)
            assert session.r.matrices["b"].values[0, 0] == pytest.approx(value, rel=1e-8)
    xb = b["_cons"] + b["1.sector"] * sector + slope * ses
    _run(session, "margins, eyex(ses)", buf)
    assert session.r.matrices["b"].values[0, 0] == pytest.approx(np.mean(slope * ses / xb),
                                                                 rel=1e-8)
    # the delta method's gradient of the average elasticity at ses = 1, over (1.sector, ses, int, _cons)
    _run(session, "margins, eyex(ses) at(ses=1)", buf)
    xb = b["_cons"] + b["1.sector"] * sector + slope
    grad = np.column_stack([-slope * sector / xb ** 2, 1 / xb - slope / xb ** 2,
                            sector / xb - slope * sector / xb ** 2, -slope / xb ** 2]).mean(axis=0)
    J = session.r.matrices["Jacobian"].values[0]
    names = session.e.matrices["b"].colnames
    assert np.allclose(J[[names.index(n) for n in ("1.sector", "ses", "1.sector#c.ses", "_cons")]],
                       grad, rtol=1e-6, atol=1e-9)


def test_several_at_options_and_values_combine_in_order() -> None:
    session, buf = _hsb("regress mathach i.sector##c.ses")
    b = dict(zip(session.e.matrices["b"].colnames, session.e.matrices["b"].values[0]))
    _run(session, "margins, at(sector=(0 1) ses=(-1 1)) at(ses=2 sector=0)", buf)
    got = session.r.matrices["b"].values[0]
    expected = [b["_cons"] + b["1.sector"] * s + (b["ses"] + b["1.sector#c.ses"] * s) * x
                for s, x in ((0, -1), (0, 1), (1, -1), (1, 1), (0, 2))]
    assert np.allclose(got, expected, rtol=1e-12)
    at = session.r.matrices["at"]
    assert at.colnames == ["0.sector", "1.sector", "ses"]
    assert at.values.tolist() == [[1, 0, -1], [1, 0, 1], [0, 1, -1], [0, 1, 1], [1, 0, 2]]


def test_margins_leaves_e_alone_and_post_replaces_it() -> None:
    session, buf = _hsb("regress mathach i.sector##c.ses")
    e = session.e
    b = e.matrices["b"].values.copy()
    _run(session, "margins sector", buf)
    assert session.e is e and np.array_equal(session.e.matrices["b"].values, b)
    margins_b = session.r.matrices["b"].values.copy()
    margins_V = session.r.matrices["V"].values.copy()
    _run(session, "margins sector, post", buf)
    assert session.e is not e and session.e.cmd == "margins"
    assert session.e.matrices["b"].colnames == ["0.sector", "1.sector"]
    assert np.array_equal(session.e.matrices["b"].values, margins_b)
    assert session.e.scalars["N"] == 7185 and session.e.scalars["df_r"] == 7181
    _run(session, "lincom 1.sector - 0.sector", buf)
    diff = margins_b[0, 1] - margins_b[0, 0]
    se = np.sqrt(margins_V[0, 0] + margins_V[1, 1] - 2 * margins_V[0, 1])
    assert session.r.scalars["estimate"] == pytest.approx(diff, rel=1e-12)
    assert session.r.scalars["se"] == pytest.approx(se, rel=1e-12)
    assert session.r.scalars["df"] == 7181            # t with the posted df, as after regress
    start = len(buf.getvalue())
    _run(session, "margins", buf)                      # replays the posted margins
    assert "      sector |" in buf.getvalue()[start:]
    assert run_line(session, "predict x") == 301       # nothing to predict with
    assert run_line(session, "margins sector") == 301


@pytest.mark.parametrize("line, message, rc", [
    ("margins minority", "factor 'minority' not found in list of covariates", 322),
    ("margins ses", "factor 'ses' not found in list of covariates", 322),
    ("margins, dydx(meanses)", "'meanses' not found in list of covariates", 322),
    ("margins, at(meanses=1)", "'meanses' not found in list of covariates", 322),
    ("margins, at(sector=3)", "invalid at() option;\nlevel 3 of factor sector not found", 198),
    ("margins, predict(fitted)", ("prediction is a function of possibly stochastic quantities "
                                  "other than e(b)"), 498),
    ("margins, predict(foo)", "option foo not allowed", 198),
    ("margins, vce(bootstrap)", "vcetype 'bootstrap' not allowed", 198),
    ("margins, dydx(ses) eyex(ses)", "options dydx() and eyex() may not be combined", 184),
    ("margins, eyex(sector)", "factor variables not allowed in eyex()", 198),
    ("margins sector, post level(101)", "level() must be between 10 and 99.99 inclusive", 198),
    ("margins if ses > 100", "no observations", 2000),
    ("margins, at((foo) ses)", "invalid at() option;\n'foo' is not a valid statistic", 198),
    ("margins, nose", "option nose not allowed", 198),
])
def test_bad_input_is_refused_and_changes_nothing(line: str, message: str, rc: int) -> None:
    session, buf = _hsb("mixed mathach i.sector##c.ses || id:")
    _run(session, "margins sector", buf)
    e, r, last = session.e, session.r, session.margins
    data = session.data.copy()
    start = len(buf.getvalue())
    assert run_line(session, line) == rc
    assert message in buf.getvalue()[start:]
    assert session.e is e and session.r is r and session.margins is last
    pd.testing.assert_frame_equal(session.data, data)


def test_margins_needs_estimates() -> None:
    session, buf = _session()
    _run(session, "use data/hsb.dta", buf)
    assert run_line(session, "margins") == 301
    assert "last estimates not found" in buf.getvalue()


# -- melogit: a stand-in random-intercept logit in the protocol ----------------------------------
class RandomInterceptLogit:
    """``melogit y x || g:`` at given estimates: e(b) = (β over the design, var(_cons)); ``mu
    marginal`` the marginal mean ∫ invlogit(xb + u) φ(u; 0, var) du (margins' default), ``mu
    fixedonly`` invlogit(xb), ``xb``."""

    kind = "multilevel"

    def __init__(self, design, beta: np.ndarray, var_u: float, V: np.ndarray) -> None:
        self.design, self.beta, self.var_u, self._V = design, beta, var_u, V
        self.depvar = "use"
        self.nodes, self.weights = np.polynomial.hermite.hermgauss(64)

    @property
    def coef_names(self) -> list[str]:
        return [f"use:{c.name}" for c in self.design.columns] + ["/:var(_cons[district])"]

    @property
    def coef(self) -> np.ndarray:
        return np.r_[self.design.expand(self.beta), self.var_u]

    @property
    def vcov(self) -> np.ndarray:
        return self._V

    loglik = float("nan")
    nobs = 1934
    df_resid = None
    statistics = (Statistic("mu", "Predicted mean"), Statistic("xb", "Linear predictor"))
    margins_statistics = (Statistic("mu marginal", "Marginal predicted mean"),
                          Statistic("mu fixedonly", "Predicted mean, fixed portion only"),
                          Statistic("xb", "Linear predictor, fixed portion only"))

    def _parts(self, data):
        X = self.design.matrix(data)
        xb = X @ self.beta
        sd = np.sqrt(self.var_u)
        u = np.sqrt(2.0) * sd * self.nodes
        p = 1 / (1 + np.exp(-(xb[:, None] + u[None, :])))
        return X, xb, u, p, self.weights / np.sqrt(np.pi)

    def predict(self, stat: str, data) -> list[np.ndarray]:
        _, xb, _, p, w = self._parts(data)
        if stat == "xb":
            return [xb]
        if stat == "mu fixedonly":
            return [1 / (1 + np.exp(-xb))]
        return [p @ w]

    def jacobian(self, stat: str, data) -> np.ndarray:
        X, xb, u, p, w = self._parts(data)
        out = np.zeros((len(data), len(self.coef_names)))
        if stat == "xb":
            out[:, self.design.estimable] = X
        elif stat == "mu fixedonly":
            q = 1 / (1 + np.exp(-xb))
            out[:, self.design.estimable] = X * (q * (1 - q))[:, None]
        else:
            dp = p * (1 - p)
            out[:, self.design.estimable] = X * (dp @ w)[:, None]
            out[:, -1] = (dp * (u / (2 * self.var_u))) @ w     # du/dvar = u / (2 var)
        return out


def _melogit_session() -> tuple[Session, object]:
    session, buf = _session()
    _run(session, "import delimited data/contraception.csv", buf)
    data = session.data
    design = build_design(data, parse_terms("age i.urban", session.variables))
    fixed = CONTRACEPTION["fixed"]
    beta = np.array([fixed["estimates"][fixed["names"].index(c.name)]
                     for c in design.columns if c.estimable])
    sigma = CONTRACEPTION["sigma_u"]
    full = np.array(CONTRACEPTION["vcov_full"]["matrix"])       # (σ_u, age, 1.urban, _cons)
    to_var = np.diag([2 * sigma, 1.0, 1.0, 1.0])                  # var = σ²
    V_metric = to_var @ full @ to_var
    order = [1, 2, 3, 0]                                          # β first, then var(_cons)
    model = RandomInterceptLogit(design, beta, sigma ** 2, np.zeros((5, 5)))
    V = np.zeros((5, 5))
    positions = [design.names.index("age"), design.names.index("1.urban"),
                 design.names.index("_cons"), 4]
    V[np.ix_(positions, positions)] = V_metric[np.ix_(order, order)]
    model._V = V
    e = EResults()
    e.scalars["N"] = float(len(data))
    e.macros.update({"cmd": "melogit", "depvar": "use", "vce": "oim"})
    e.matrices["b"] = StataMatrix(model.coef.reshape(1, -1), ["y1"], model.coef_names)
    e.matrices["V"] = StataMatrix(V, model.coef_names, model.coef_names)
    e.sample = session.sample_keys(np.ones(len(data), dtype=bool))
    e.model = model
    session.e = e
    return session, buf


@pytest.mark.parametrize("variant", ["marginal", "fixedonly"])
def test_melogit_margins_match_the_fixture(variant: str) -> None:
    session, buf = _melogit_session()
    names = session.e.matrices["b"].colnames
    columns = [names.index(f"use:{n}") for n in CONTRACEPTION["fixed"]["names"]]
    spec = CONTRACEPTION[variant]
    option = "" if variant == "marginal" else ", predict(mu fixedonly)"
    _run(session, f"margins urban{option}", buf)
    _check(session, spec["urban"], columns, 1e-6, gradient_extra=None, se_key="se_full")
    J = session.r.matrices["Jacobian"].values
    sigma = CONTRACEPTION["sigma_u"]
    for k, row in enumerate(spec["urban"]):    # the fixture's σ_u gradient, in var's metric
        assert J[k, -1] * 2 * sigma == pytest.approx(row["gradient_sigma_u"], rel=1e-6, abs=1e-12)
    _run(session, f"margins, dydx(urban){option.replace(', ', ' ')}", buf)
    _check(session, spec["dydx_urban"], columns, 1e-6, se_key="se_full")
    assert "df_r" not in session.r.scalars


def test_melogit_default_expression_and_header() -> None:
    session, buf = _melogit_session()
    start = len(buf.getvalue())
    _run(session, "margins urban", buf)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[1:5] == [("Predictive margins                                       "
                           "Number of obs = 1,934"), "Model VCE: OIM", "",
                          "Expression: Marginal predicted mean, predict()"]
    default = session.r.matrices["b"].values.copy()
    _run(session, "margins urban, predict(mu)", buf)              # marginal is assumed
    assert np.array_equal(session.r.matrices["b"].values, default)
    start = len(buf.getvalue())
    _run(session, "margins urban, predict(mu fixedonly)", buf)
    assert ("Expression: Predicted mean, fixed portion only, predict(mu fixedonly)"
            in buf.getvalue()[start:])
    fixedonly = session.r.matrices["b"].values.copy()
    _run(session, "margins urban, predict(mu conditional(fixedonly))", buf)
    assert np.array_equal(session.r.matrices["b"].values, fixedonly)
    assert run_line(session, "margins urban, predict(mu bogus)") == 198
    assert "option bogus not allowed" in buf.getvalue()


def test_atmeans_puts_factor_indicators_at_their_proportions() -> None:
    """A nonlinear prediction at the means: invlogit of the average design row (Stata's atmeans
    sets each level indicator to its proportion), not the average of predictions."""
    session, buf = _melogit_session()
    start = len(buf.getvalue())
    _run(session, "margins, atmeans predict(mu fixedonly)", buf)
    data = session.data
    b = dict(zip(CONTRACEPTION["fixed"]["names"], CONTRACEPTION["fixed"]["estimates"]))
    xbar = (b["_cons"] + b["age"] * data["age"].mean() + b["1.urban"] * data["urban"].mean())
    assert session.r.matrices["b"].values[0, 0] == pytest.approx(1 / (1 + np.exp(-xbar)),
                                                                 rel=1e-12)
    lines = buf.getvalue()[start:].splitlines()
    assert lines[1].startswith("Adjusted predictions ")
    assert lines[5:8] == ["At: age     = .0021979 (mean)", "    0.urban = .7094105 (mean)",
                          "    1.urban = .2905895 (mean)"]


def test_value_labels_name_the_levels() -> None:
    session, buf = _hsb("regress mathach i.sector##c.ses")
    _run(session, 'label define sect 0 "Public" 1 "Catholic"', buf)
    _run(session, "label values sector sect", buf)
    start = len(buf.getvalue())
    _run(session, "margins sector, at(ses=(0 1))", buf)
    _run(session, "margins, dydx(sector)", buf)
    _run(session, "contrast r.sector", buf)
    _run(session, "pwcompare sector", buf)
    text = buf.getvalue()[start:]
    for row in ("   1#Public  |   11.86764", " 2#Catholic  |   16.17157", "   Catholic  |   1.949568",
                "(Catholic vs Public)  |", "Catholic vs Public  |"):
        assert row in text, row
    assert session.r.matrices["b_vs"].colnames == ["1vs0.sector"]    # names keep the levels


@pytest.mark.parametrize("variant", ["marginal", "fixedonly"])
def test_dydx_and_layout_after_the_real_melogit(variant: str) -> None:
    """``margins, dydx(urban)`` after ``melogit`` itself (glmer's nAGQ = 7 is mode-centred:
    mcaghermite): the discrete change of the marginal (Stata's default) or fixed-portion mean,
    SEs over all of e(b) (the fixture's ``se_full``)."""
    session, buf = _session()
    _run(session, "import delimited data/contraception.csv, clear asdouble", buf)
    _run(session, "quietly melogit use age i.urban || district:, intmethod(mcaghermite)", buf)
    names = session.e.matrices["b"].colnames
    columns = [names.index(f"use:{n}") for n in CONTRACEPTION["fixed"]["names"]]
    option = "" if variant == "marginal" else " predict(mu fixedonly)"
    start = len(buf.getvalue())
    _run(session, f"margins, dydx(urban){option}", buf)
    _check(session, CONTRACEPTION[variant]["dydx_urban"], columns, 1e-5, se_key="se_full")
    lines = buf.getvalue()[start:].splitlines()
    expression = ("Marginal predicted mean, predict()" if variant == "marginal" else
                  "Predicted mean, fixed portion only, predict(mu fixedonly)")
    assert lines[1:7] == [("Average marginal effects                                 "
                           "Number of obs = 1,934"), "Model VCE: OIM", "",
                          f"Expression: {expression}", "dy/dx wrt:  1.urban", ""]


def test_at_statistics_are_summarize_s() -> None:
    session, buf = _hsb("regress mathach c.ses meanses")
    b = dict(zip(session.e.matrices["b"].colnames, session.e.matrices["b"].values[0]))
    stats = {}
    for var in ("ses", "meanses"):
        _run(session, f"quietly summarize {var}, detail", buf)
        stats[var] = dict(session.r.scalars)
    _run(session, "margins, at((median) ses (p25) meanses) at((min) ses (max) meanses)", buf)
    at = session.r.matrices["at"].values
    assert at.tolist() == [[stats["ses"]["p50"], stats["meanses"]["p25"]],
                           [stats["ses"]["min"], stats["meanses"]["max"]]]
    expected = b["_cons"] + b["ses"] * at[:, 0] + b["meanses"] * at[:, 1]
    assert np.allclose(session.r.matrices["b"].values[0], expected, rtol=1e-12)
    assert "1._at: ses     =   .002 (median)\n       meanses =  -.317 (p25)" in buf.getvalue()


def test_the_issue_s_margins_after_the_real_melogit_on_hsb() -> None:
    """``margins sector``, ``margins, dydx(ses) over(sector)`` and ``margins sector,
    at(ses=(-1 0 1))`` after ``melogit`` (mode-centred quadrature, as glmer's nAGQ = 7): the
    marginal means and slopes, their SEs over all of e(b) (the fixture's ``se_full``), the
    gradients over β and σ_u; then ``marginsplot`` draws the last of them."""
    from hlmshell.results.graph import Points, Range

    model = HSB_MELOGIT
    session, buf = _session()
    _run(session, "use data/hsb.dta", buf)
    _run(session, model["generate"], buf)
    _run(session, "quietly melogit hi i.sector##c.ses || id:, intmethod(mcaghermite)", buf)
    assert session.e.scalars["ll"] == pytest.approx(model["ll"], abs=1e-3)
    names = session.e.matrices["b"].colnames
    columns = [names.index(f"hi:{n}") for n in model["fixed"]["names"]]
    var_column = names.index("/:var(_cons[id])")
    assert len(model["margins"]) == 3
    for spec in model["margins"].values():
        _run(session, spec["stata_cmd"], buf)
        _check(session, spec["margins"], columns, 2e-5, se_key="se_full")
        J = session.r.matrices["Jacobian"].values
        for k, row in enumerate(spec["margins"]):            # d/dσ_u = d/dvar · 2σ_u
            assert J[k, var_column] * 2 * model["sigma_u"] == pytest.approx(
                row["gradient_sigma_u"], rel=1e-4)
    _run(session, "marginsplot", buf)
    table = session.r.matrices["table"].values                 # 1#0, 1#1, 2#0, ... (at outer)
    plots = session.graphs["Graph"].panels[0].plots
    lines = [p for p in plots if isinstance(p, Points)]
    bars = [p for p in plots if isinstance(p, Range)]
    assert [p.label for p in lines] == ["sector=0", "sector=1"]
    for sector, (line, bar) in enumerate(zip(lines, bars)):
        cols = [2 * a + sector for a in range(3)]
        assert np.array_equal(line.x, [-1, 0, 1])
        assert np.allclose(line.y, [model["margins"]["sector_at_ses"]["margins"][c]["estimate"]
                                    for c in cols], rtol=2e-5)
        assert np.array_equal(bar.y1, table[4, cols]) and np.array_equal(bar.y2, table[5, cols])
    assert session.graphs["Graph"].panels[0].yaxis.title == "Marginal predicted mean"


def test_after_dfmethod_margins_is_z_on_e_v_unless_df_is_given() -> None:
    """Stata's small-sample inference after ``mixed, dfmethod()`` reaches test, lincom, contrast
    and pwcompare (their ``small``); margins has no ``small`` and, mixed posting no e(df_r), reports
    z on the unadjusted e(V).  ``df(#)`` asks for t(#), as [R] margins documents."""
    from hlmshell.inference.distributions import normal_ppf, t_ppf

    ddf = json.loads((FIXTURES / "ddf_sleepstudy.json").read_text())["models"]
    model = next(m for m in ddf if m["name"] == "sleep_unbal_rslope")
    session, buf = _session()
    _run(session, "import delimited data/sleepstudy_unbal.csv", buf)
    _run(session, "quietly " + model["stata_cmd_kroger"], buf)
    b, V = np.array(model["fixed"]["estimates"]), np.array(model["fixed"]["vcov"])
    G = np.array([[0.0, 1.0], [5.0, 1.0]])                        # (days, _cons) at 0 and 5
    est, se = G @ b, np.sqrt(np.einsum("ij,jk,ik->i", G, V, G))
    for option, crit in (("", normal_ppf(0.975)), (" df(15.5)", t_ppf(0.975, 15.5))):
        start = len(buf.getvalue())
        _run(session, "margins, at(days=(0 5))" + option, buf)
        table = session.r.matrices["table"].values
        np.testing.assert_allclose(table[0], est, rtol=1e-6)
        np.testing.assert_allclose(table[1], se, rtol=1e-5)
        np.testing.assert_allclose(table[4], est - crit * se, rtol=1e-6)
        column = "      t    P>|t|" if option else "      z    P>|z|"
        assert column in buf.getvalue()[start:]
        assert session.r.scalars.get("df_r") == (15.5 if option else None)
    assert run_line(session, "margins, df(0)") == 198
    assert buf.getvalue().rstrip().endswith("df() must be positive\nr(198);")


def test_unconditional_after_regress_matches_stata() -> None:
    """Stata's linearization (margins' _linearize): covariates sampled, N / (N - k) scale; t with
    e(df_r).  Stata differentiates numerically, so its SEs carry ~1e-8 noise."""
    from hlmshell.inference.distributions import t_ppf

    fixture = json.loads((FIXTURES / "margins_unconditional_iris.json").read_text())
    session, buf = _session()
    _run(session, "import delimited data/iris.csv, asdouble", buf)
    _run(session, "quietly " + fixture["estimation_cmd"], buf)
    crit = t_ppf(0.975, fixture["df_r"])
    for spec in fixture["margins"].values():
        start = len(buf.getvalue())
        _run(session, spec["stata_cmd"], buf)
        table = session.r.matrices["table"].values
        est, se = np.array(spec["estimate"]), np.array(spec["se"])
        np.testing.assert_allclose(table[0], est, rtol=1e-9)
        np.testing.assert_allclose(table[1], se, rtol=1e-6)
        np.testing.assert_allclose(table[4], est - crit * se, rtol=1e-6)
        np.testing.assert_allclose(np.sqrt(np.diag(session.r.matrices["V"].values)), se, rtol=1e-6)
        assert session.r.macros["vce"] == "unconditional"
        assert session.r.scalars["df_r"] == fixture["df_r"]
        title = "dy/dx" if "dydx" in spec["stata_cmd"] else "Margin"
        assert (f"             |            Unconditional\n"
                f"             |{title:>11}   std. err.      t    P>|t|" in buf.getvalue()[start:])
