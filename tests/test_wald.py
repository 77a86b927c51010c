"""test, testparm and lincom after mixed and regress.

A one-coefficient Wald test is the square of the table's z; a linear combination's estimate and SE
follow from e(b) and e(V); the reference log's ib1 refit gives the Catholic-school slope directly
(ses in `c.ses##ib1.sector` = 1.646837, SE .1611093), which `lincom ses + 1.sector#c.ses` after the
`i.sector` fit must reproduce.
"""

from __future__ import annotations

import numpy as np
import pytest

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session


@pytest.fixture(scope="module")
def fitted():
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, "use hsb") == 0
    assert run_line(s, "qui mixed mathach c.ses##i.sector || id: ses, cov(unstr)") == 0
    return s, buf


def _run(s: Session, buf, line: str, rc: int = 0) -> tuple[int, str]:
    """Run a line and return (rc, output); the rc must be ``rc`` (0 unless a test of an error)."""
    start = len(buf.getvalue())
    got = run_line(s, line)
    text = buf.getvalue()[start:]
    assert got == rc, f"{line!r} gave r({got}), not r({rc}):\n{text}"
    return got, text


def test_single_coefficient_is_z_squared(fitted) -> None:
    s, buf = fitted
    rc, text = _run(s, buf, "test ses")
    assert rc == 0
    assert " ( 1)  [mathach]ses = 0" in text
    z = 2.959745 / .1429495   # the reference log's coefficient and SE
    assert s.r.scalars["chi2"] == pytest.approx(z ** 2, rel=1e-4)
    assert s.r.scalars["df"] == 1
    # the printed statistic is r(chi2) in Stata's layout, and so also z squared to 1e-4: our SE of
    # ses is within the near-boundary model's 1e-4 of Stata's (the log's z gives 428.69)
    assert text.splitlines() == ["", " ( 1)  [mathach]ses = 0", "",
                                 f"           chi2(  1) = {s.r.scalars['chi2']:7.2f}",
                                 "         Prob > chi2 =    0.0000"]
    assert float(text.splitlines()[3].split("=")[1]) == pytest.approx(z ** 2, rel=1e-4)


def test_lincom_gives_the_catholic_slope_of_the_ib1_fit(fitted) -> None:
    s, buf = fitted
    rc, text = _run(s, buf, "lincom ses + 1.sector#c.ses")
    assert rc == 0
    assert s.r.scalars["estimate"] == pytest.approx(1.646837, rel=2e-5)
    assert s.r.scalars["se"] == pytest.approx(.1611093, rel=2e-3)
    assert "(1) |" in text and "[mathach]ses + [mathach]1.sector#c.ses = 0" in text


def test_accumulate_equals_joint_test(fitted) -> None:
    s, buf = fitted
    _run(s, buf, "test ses")
    rc, text = _run(s, buf, "test 1.sector, accumulate")
    acc = s.r.scalars["chi2"]
    assert rc == 0 and s.r.scalars["df"] == 2 and " ( 2)  [mathach]1.sector = 0" in text
    _run(s, buf, "test ses 1.sector")
    assert s.r.scalars["chi2"] == pytest.approx(acc)
    _run(s, buf, "test (ses=0) (1.sector=0)")
    assert s.r.scalars["chi2"] == pytest.approx(acc)
    b = s.e.matrices["b"].values.reshape(-1)[[0, 2]]
    V = s.e.matrices["V"].values[np.ix_([0, 2], [0, 2])]
    assert acc == pytest.approx(float(b @ np.linalg.solve(V, b)))


def test_equality_and_testparm(fitted) -> None:
    s, buf = fitted
    rc, text = _run(s, buf, "test ses = 1.sector")
    assert rc == 0 and "[mathach]ses - [mathach]1.sector = 0" in text
    b = s.e.matrices["b"].values.reshape(-1)
    V = s.e.matrices["V"].values
    w = np.zeros(len(b)); w[0], w[2] = 1, -1
    assert s.r.scalars["chi2"] == pytest.approx((w @ b) ** 2 / (w @ V @ w))
    _run(s, buf, "testparm i.sector")
    assert s.r.scalars["df"] == 1
    assert s.r.scalars["chi2"] == pytest.approx((b[2] / np.sqrt(V[2, 2])) ** 2)


def test_errors_leave_results_alone(fitted) -> None:
    s, buf = fitted
    before = (s.e.matrices["b"], dict(s.e.scalars), s.e.model)
    rc, text = _run(s, buf, "test nosuchvar", rc=111)
    assert rc == 111 and "nosuchvar not found" in text and "r(111);" in text
    assert _run(s, buf, "lincom ses +", rc=198)[0] == 198
    assert _run(s, buf, "test ses*ses = 0", rc=198)[0] == 198
    assert (s.e.matrices["b"], s.e.scalars, s.e.model) == before


def test_regress_uses_F_and_t() -> None:
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, "use hsb") == 0
    assert run_line(s, "qui regress mathach ses sector") == 0
    rc, text = _run(s, buf, "test ses")
    assert rc == 0 and " ( 1)  ses = 0" in text and "F(  1,  7182) =" in text
    t = s.e.matrices["b"].values[0, 0] / np.sqrt(s.e.matrices["V"].values[0, 0])
    assert s.r.scalars["F"] == pytest.approx(t ** 2)
    rc, text = _run(s, buf, "lincom ses + sector")
    assert "P>|t|" in text
    b, V = s.e.matrices["b"].values.reshape(-1), s.e.matrices["V"].values
    assert s.r.scalars["estimate"] == pytest.approx(b[0] + b[1])
    assert s.r.scalars["se"] == pytest.approx(np.sqrt(V[0, 0] + V[1, 1] + 2 * V[0, 1]))
    # estat icc is mixed's: after regress Stata has no such subcommand, r(321) (the message is
    # test_estat_icc_after_regress_is_an_invalid_subcommand's)
    assert _run(s, buf, "estat icc", rc=321)[0] == 321


def test_estat_icc_after_regress_is_an_invalid_subcommand() -> None:
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, "use hsb") == 0
    assert run_line(s, "qui regress mathach ses sector") == 0
    rc, text = _run(s, buf, "estat icc", rc=321)
    assert text.splitlines() == ["invalid subcommand icc", "r(321);"]


def test_no_estimates() -> None:
    out, _ = capture_output()
    s = Session(out=out)
    assert run_line(s, "test x") == 301
    assert run_line(s, "lincom x") == 301
