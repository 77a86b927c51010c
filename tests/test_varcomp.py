"""Variance-component transforms against numbers Stata printed (reference log, notes §2)."""

import numpy as np
import pytest

from hlmshell.inference.varcomp import EquationInfo, equation_rows, residual_row


def _gamma_from_var(var: float, se: float) -> tuple[float, float]:
    """ln sd and its SE from a printed variance and its SE (inverting Stata's display transform)."""
    return 0.5 * np.log(var), se / (2 * var)


def test_variance_ci_matches_stata() -> None:
    l, sl = _gamma_from_var(.4181073, .2319119)
    row = equation_rows(EquationInfo("id", ["ses"], "identity", 0), np.array([l, 0.0]),
                        np.diag([sl ** 2, 1.0]))[0]
    assert row.label == "var(ses)"
    assert row.estimate == pytest.approx(.4181073, rel=1e-7)
    assert row.se == pytest.approx(.2319119, rel=1e-7)
    assert row.lower == pytest.approx(.1409779, rel=2e-6)
    assert row.upper == pytest.approx(1.240008, rel=2e-6)


def test_unstructured_rows_and_symmetric_cov_ci() -> None:
    # var(ses) .4181073, var(_cons) 3.895906, cov .7110193 (se .3125759): CI is cov ± z·se.
    l1, l2 = 0.5 * np.log(.4181073), 0.5 * np.log(3.895906)
    rho = .7110193 / np.sqrt(.4181073 * 3.895906)
    gamma = np.array([l1, l2, np.arctanh(rho), 1.8])
    V = np.diag([0.01, 0.01, 0.02, 0.001])
    rows = equation_rows(EquationInfo("id", ["ses", "_cons"], "unstructured", 0), gamma, V)
    assert [r.label for r in rows] == ["var(ses)", "var(_cons)", "cov(ses,_cons)"]
    cov = rows[2]
    assert cov.estimate == pytest.approx(.7110193, rel=1e-7)
    z = 1.959963984540054
    assert cov.upper - cov.estimate == pytest.approx(z * cov.se)
    sd_rows = equation_rows(EquationInfo("id", ["ses", "_cons"], "unstructured", 0), gamma, V, sd=True)
    assert [r.label for r in sd_rows] == ["sd(ses)", "sd(_cons)", "corr(ses,_cons)"]
    assert sd_rows[2].estimate == pytest.approx(rho)


def test_residual_row() -> None:
    row = residual_row(np.array([1.0, 1.8336797]), np.diag([0.01, (.6606469 / (2 * 39.14839)) ** 2]))
    assert row.estimate == pytest.approx(39.14839, rel=1e-6)
    assert row.se == pytest.approx(.6606469, rel=1e-5)
    assert row.lower == pytest.approx(37.87473, rel=1e-6)
    assert row.upper == pytest.approx(40.46489, rel=1e-6)
