"""The model layer end to end: ``by`` in the dispatcher, replay with display options, one grammar of
coefficient names, refused options, and predictions that follow observations, not row positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def hsb() -> pd.DataFrame:
    return pd.read_stata(DATA / "hsb.dta")


class Shell:
    def __init__(self) -> None:
        self.out, self.buf = capture_output()
        self.s = Session(out=self.out, cwd=DATA)

    def __call__(self, line: str, rc: int = 0) -> str:
        start = self.buf.tell()
        got = run_line(self.s, line)
        text = self.buf.getvalue()[start:]
        assert got == rc, f"{line!r} gave r({got}):\n{text}"
        return text


@pytest.fixture()
def sh() -> Shell:
    shell = Shell()
    shell("use hsb")
    return shell


def _ols(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    X = np.column_stack([x, np.ones_like(x)])
    return np.linalg.lstsq(X, y, rcond=None)[0]


# -- by ------------------------------------------------------------------------------------------
def test_by_sort_regress_gives_one_regression_per_group(sh, hsb):
    text = sh("by sector, sort: regress mathach ses")
    blocks = text.split("-> sector = ")[1:]
    assert [b.splitlines()[0] for b in blocks] == ["0", "1"]
    for block, sector in zip(blocks, (0, 1)):
        part = hsb[hsb.sector == sector]
        slope, cons = _ols(part.mathach.to_numpy(float), part.ses.to_numpy(float))
        assert f"Number of obs   = {len(part):>9,}" in block
        ses_line = next(ln for ln in block.splitlines() if ln.strip().startswith("ses |"))
        assert float(ses_line.split("|")[1].split()[0]) == pytest.approx(slope, rel=1e-6)
        cons_line = next(ln for ln in block.splitlines() if ln.strip().startswith("_cons |"))
        assert float(cons_line.split("|")[1].split()[0]) == pytest.approx(cons, rel=1e-6)
    # e() are those of the last group
    part = hsb[hsb.sector == 1]
    assert sh.s.e.scalars["N"] == len(part)
    assert sh.s.e.matrices["b"].values[0, 0] == pytest.approx(_ols(part.mathach.to_numpy(float),
                                                                   part.ses.to_numpy(float))[0])


def test_by_requires_sorted_data_and_refuses_what_is_not_byable(sh):
    assert sh("by sector: regress mathach ses", rc=5) == "not sorted\nr(5);\n"
    sh("sort sector")
    assert "-> sector = 1" in sh("by sector: regress mathach ses")
    assert sh("by sector: mixed mathach ses || id:", rc=190) == \
        "mixed may not be combined with by\nr(190);\n"
    assert sh("by sector: regress mathach ses in 1/100", rc=190) == \
        "in may not be combined with by\nr(190);\n"


# -- mixed replay and estat sd ------------------------------------------------------------------
def _re_value(text: str, label: str) -> float:
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(label + " |"))
    return float(line.split("|")[1].split()[0])


def test_mixed_replays_with_display_options(sh):
    fit = sh("mixed mathach ses || id: ses, cov(un) nolog")
    var_cons = _re_value(fit, "var(_cons)")
    sd = sh("mixed, stddeviations")
    assert _re_value(sd, "sd(_cons)") == pytest.approx(np.sqrt(var_cons), rel=1e-6)
    assert "corr(ses,_cons)" in sd and "var(_cons)" not in sd
    assert "[90% conf. interval]" in sh("mixed, level(90)")
    assert "Random-effects parameters" not in sh("mixed, noretable")
    assert "Coefficient" not in sh("mixed, nofetable noheader") and \
        "Log likelihood" not in sh("mixed, nofetable noheader")
    gamma = dict(zip(sh.s.e.matrices["b"].colnames, sh.s.e.matrices["b"].values[0]))
    est = sh("mixed, estmetric")
    lns = next(ln for ln in est.splitlines() if ln.startswith("lns1_1_2"))
    assert lns.split()[0] == "lns1_1_2"
    row = est.splitlines()[est.splitlines().index(lns) + 1]
    assert float(row.split("|")[1].split()[0]) == pytest.approx(gamma["lns1_1_2:_cons"], rel=1e-6)
    assert sh("mixed, reml", rc=198) == "option reml not allowed\nr(198);\n"


def test_estat_sd_matches_the_sd_replay(sh):
    sh("qui mixed mathach ses || id: ses, cov(un)")
    replay = sh("mixed, stddev")
    table = sh("estat sd")
    for label in ("sd(ses)", "sd(_cons)", "corr(ses,_cons)", "sd(Residual)"):
        assert _re_value(table, label) == pytest.approx(_re_value(replay, label), rel=1e-6)
    r = sh.s.r.matrices
    assert r["b"].colnames == ["id:sd(ses)", "id:sd(_cons)", "id:corr(ses,_cons)",
                               "Residual:sd(Residual)"]
    se = np.sqrt(np.diag(r["V"].values))
    line = next(ln for ln in table.splitlines() if "sd(_cons) |" in ln)
    assert se[1] == pytest.approx(float(line.split("|")[1].split()[1]), rel=1e-6)
    assert sh("estat sd, variance").count("var(") == 3


def test_estat_multilevel_subcommands_after_regress_are_invalid(sh):
    sh("qui regress mathach ses")
    for sub in ("icc", "sd", "group", "recovariance"):
        assert sh(f"estat {sub}", rc=321) == f"invalid subcommand {sub}\nr(321);\n"


# -- one coefficient-name grammar --------------------------------------------------------------
def test_b_and_lincom_read_the_same_names(sh):
    sh("qui mixed mathach i.sector##c.ses || id:")
    b = dict(zip(sh.s.e.matrices["b"].colnames, sh.s.e.matrices["b"].values[0]))
    for name in ("1.sector#ses", "1.sector#c.ses", "mathach:1.sector#c.ses", "[mathach]_b[1.sector#ses]"):
        text = sh(f"di _b[{name}]") if not name.startswith("[") else sh(f"di {name}")
        assert float(text) == pytest.approx(b["mathach:1.sector#c.ses"], rel=1e-7)
    lincom = sh("lincom 1.sector#ses")
    assert sh.s.r.scalars["estimate"] == pytest.approx(b["mathach:1.sector#c.ses"], rel=1e-12)
    assert "1.sector#c.ses" in lincom
    assert float(sh("di _se[1.sector#ses]")) == pytest.approx(sh.s.r.scalars["se"], rel=1e-7)
    assert sh("di _b[nosuch]", rc=111) == "[nosuch] not found\nr(111);\n"


# -- options: implemented or refused -----------------------------------------------------------
@pytest.mark.parametrize("option", ["emiterate(5)", "emtolerance(1e-5)",
                                    "emonly", "emlog", "emdots", "difficult", "matlog", "nosuch"])
def test_options_mixed_does_not_have_are_refused(sh, option):
    shown = option if "(" not in option else option.split("(")[0] + "()"
    assert sh(f"mixed mathach ses || id:, {option}", rc=198) == f"option {shown} not allowed\nr(198);\n"
    assert sh.s.e is None


def test_convergence_tolerances_are_options(sh):
    tight = sh.s
    sh("qui mixed mathach ses || id: ses, cov(un)")
    ll = tight.e.scalars["ll"]
    sh("qui mixed mathach ses || id: ses, cov(un) ltolerance(1e-4) tolerance(1e-3) nrtolerance(1e-4)")
    loose = tight.e.scalars
    assert loose["converged"] == 1 and loose["ll"] == pytest.approx(ll, abs=1e-3)
    assert loose["ic"] <= sh.s.e.scalars["ic"]
    assert sh("mixed mathach ses || id:, ltolerance(abc)", rc=198) == \
        "option ltolerance() incorrectly specified\nr(198);\n"


# -- predictions follow observations ----------------------------------------------------------
def test_e_sample_survives_a_sort(sh):
    sh("qui mixed mathach ses if female==1 || id:")
    n = int(sh.s.e.scalars["N"])
    sh("gsort -mathach")
    assert sh("count if e(sample) & female==0").strip() == "0"
    assert sh("count if e(sample)").strip() == f"{n:,}"


def test_predict_after_sort_and_drop_is_by_variables(sh, hsb):
    sh("qui mixed mathach ses || id: ses, cov(un)")
    sh("predict double u1 u0, reffects")
    before = sh.s.data.groupby("id")[["u1", "u0"]].first()
    sh("drop u1 u0")
    sh("sort ses")
    sh("drop in 1/500")
    sh("predict double u1 u0, reffects")
    sh("predict double f, fitted")
    after = sh.s.data
    # constant within each school and equal to the BLUPs predicted before the sort
    assert (after.groupby("id")[["u1", "u0"]].nunique() == 1).all().all()
    pd.testing.assert_frame_equal(after.groupby("id")[["u1", "u0"]].first(), before.loc[
        after.groupby("id")[["u1", "u0"]].first().index])
    b = sh.s.e.matrices["b"].values[0]
    np.testing.assert_allclose(after.f, b[1] + b[0] * after.ses + after.u0 + after.u1 * after.ses,
                               rtol=1e-10)
