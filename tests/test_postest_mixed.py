"""Post-estimation after mixed that the reference log does not show: three-level ICCs, estat group,
predict, lrtest against regress, and Stata's errors leaving the session as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]


def _session() -> tuple[Session, object]:
    out, buf = capture_output()
    return Session(out=out, cwd=ROOT / "data"), buf


def _run(s: Session, buf, line: str, rc: int = 0) -> tuple[int, str]:
    """Run a line and return (rc, output); the rc must be ``rc`` (0 unless a test of an error)."""
    start = len(buf.getvalue())
    got = run_line(s, line)
    text = buf.getvalue()[start:]
    assert got == rc, f"{line!r} gave r({got}), not r({rc}):\n{text}"
    return got, text


def test_three_level_icc_is_cumulative_variance_share() -> None:
    s, buf = _session()
    assert run_line(s, "import delimited pastes.csv") == 0
    assert run_line(s, "qui mixed strength || batch: || cask:") == 0
    rc, text = _run(s, buf, "estat icc")
    assert rc == 0 and "Intraclass correlation" in text
    assert "                       batch |" in text and "                  cask|batch |" in text
    v = np.exp(2 * s.e.model.fit.gamma)            # batch, cask, residual variances
    assert s.r.scalars["icc3"] == pytest.approx(v[0] / v.sum())            # outermost: r(icc3)
    assert s.r.scalars["icc2"] == pytest.approx((v[0] + v[1]) / v.sum())   # innermost: r(icc2)
    rc, text = _run(s, buf, "estat group")
    assert rc == 0
    assert "          batch |         10          6        6.0          6" in text
    assert "           cask |         30          2        2.0          2" in text


def test_predict_fitted_and_residuals_add_up() -> None:
    s, buf = _session()
    _run(s, buf, "use hsb")
    _run(s, buf, "qui mixed mathach ses || id: ses, cov(unstr)")
    for line in ("predict double xb", "predict double fit, fitted", "predict double res, residuals",
                 "predict double u1 u0, reffects", "predict double rs, rstandard"):
        assert run_line(s, line) == 0, line
    d = s.data
    assert np.allclose(d.fit, d.xb + d.u0 + d.u1 * d.ses)
    assert np.allclose(d.res, d.mathach - d.fit)
    assert np.allclose(d.rs, d.res / np.sqrt(s.e.model.fit.sigma2))
    b = s.e.matrices["b"].values.reshape(-1)
    assert np.allclose(d.xb, b[1] + b[0] * d.ses)
    # BLUPs average to about zero over schools
    assert abs(d.groupby("id").u0.first().mean()) < 1e-6
    rc, text = _run(s, buf, "predict a b c, reffects", rc=103)
    assert rc == 103 and "r(103);" in text
    assert _run(s, buf, "predict xb", rc=110)[0] == 110


def test_lrtest_linear_regression_within_mixed_is_the_lr_test_vs_linear_model() -> None:
    s, buf = _session()
    _run(s, buf, "use hsb")
    _run(s, buf, "qui regress mathach ses")
    _run(s, buf, "est store ols")
    _run(s, buf, "qui mixed mathach ses || id:")
    rc, text = _run(s, buf, "lrtest ols .")
    assert rc == 0
    assert s.r.scalars["df"] == 1
    assert s.r.scalars["chi2"] == pytest.approx(s.e.scalars["chi2_c"], abs=1e-6)
    assert s.r.scalars["chi2"] == pytest.approx(456.94, abs=0.01)   # the log's chibar2(01)
    _run(s, buf, "qui mixed mathach ses || id:, reml")
    assert _run(s, buf, "lrtest ols .", rc=498)[0] == 498


def test_errors_keep_data_and_estimates() -> None:
    s, buf = _session()
    assert _run(s, buf, "estat icc", rc=301)[0] == 301
    _run(s, buf, "use hsb")
    _run(s, buf, "qui mixed mathach ses || id:")
    _run(s, buf, "est store m1")
    e, data = s.e, s.data
    cases = {
        "mixed mathach sess || id:": (111, "variable sess not found"),
        "mixed mathach ses || school:": (111, "variable school not found"),
        "mixed mathach ses || id: ses, cov(nonsense)": (198, "covariance(nonsense) invalid"),
        "mixed mathach ses || id:, bogus": (198, "option bogus not allowed"),
        "mixed id ses || id:": (109, "string variable"),
        "mixed mathach ses if nosuch > 1 || id:": (111, "nosuch not found"),
        "mixed mathach ses if ses > 100 || id:": (2000, "no observations"),
        "estat nonsense": (321, "invalid subcommand nonsense"),
        "lrtest m1 nosuch": (111, "nosuch"),
        "test nosuchvar": (111, "nosuchvar not found"),
        "estimates restore nosuch": (111, "nosuch"),
    }
    for line, (rc, message) in cases.items():
        got_rc, text = _run(s, buf, line, rc=rc)
        assert got_rc == rc, (line, text)
        assert message in text and f"r({rc});" in text, (line, text)
        assert s.e is e, line
        assert s.data is data, line
    assert "m1" in s.estimates
    _run(s, buf, "regress mathach ses")
    assert _run(s, buf, "estat icc", rc=321)[0] == 321


def test_nonconvergence_is_reported_not_hidden() -> None:
    s, buf = _session()
    _run(s, buf, "use hsb")
    rc, text = _run(s, buf, "mixed mathach ses || id: ses, cov(un) iterate(1)")
    assert rc == 0
    assert "convergence not achieved" in text
    assert s.e.scalars["converged"] == 0


def test_estimates_table_lines_up_regress_with_the_mixed_equation() -> None:
    s, buf = _session()
    _run(s, buf, "use hsb")
    _run(s, buf, "qui regress mathach ses")
    _run(s, buf, "est store ols")
    _run(s, buf, "qui mixed mathach ses || id:")
    _run(s, buf, "est store ri")
    rc, text = _run(s, buf, "estimates table ols ri, b(%9.3f)")
    assert rc == 0
    rows = [line for line in text.splitlines() if line.strip().startswith("ses |")]
    assert len(rows) == 1
    assert rows[0].split("|")[1].split() == ["3.184", "2.391"]


def test_crossed_r_notation_equals_the_nested_model_it_spans() -> None:
    """``|| _all: R.sector || id:`` and ``|| sector: || id:`` are one model (schools sit in one
    sector): the same likelihood, variance components and BLUPs."""
    s, buf = _session()
    _run(s, buf, "use hsb")
    assert run_line(s, "qui mixed mathach ses || sector: || id:") == 0
    nested = s.e
    _run(s, buf, "predict n_sec n_id, reffects")
    rc, text = _run(s, buf, "mixed mathach ses || _all: R.sector || id:, nolog")
    assert rc == 0 and "_all: Identity" in text and "var(R.sector) |" in text
    assert s.e.scalars["ll"] == pytest.approx(nested.scalars["ll"], abs=1e-6)
    assert np.exp(2 * s.e.model.fit.gamma) == pytest.approx(np.exp(2 * nested.model.fit.gamma),
                                                            rel=1e-4)
    _run(s, buf, "predict c_sec c_id, reffects")
    assert np.allclose(s.data.c_sec, s.data.n_sec, atol=1e-4)
    assert np.allclose(s.data.c_id, s.data.n_id, atol=1e-4)
    assert _run(s, buf, "estat icc", rc=198)[0] == 198
    assert _run(s, buf, "mixed mathach || _all: R.sector ses", rc=198)[0] == 198
