"""tabstat and table (Stata 17) against pandas; testparm i.a#c.b, estimates table star,
r(table) and predict stub* after estimation, checked against their own definitions."""

import numpy as np
import pytest
from runner import runner
from scipy import stats

from hlmshell.data.statistics import stata_percentile


@pytest.fixture
def hsb():
    run = runner()
    run("use hsb")
    run('label define sect 0 "Public" 1 "Catholic"')
    run("label values sector sect")
    return run


def test_tabstat_by_group_layout_and_values(hsb):
    out = hsb("tabstat mathach ses, by(sector) stat(mean sd n)").splitlines()
    d = hsb.session.data
    g = d.groupby("sector")
    assert out[:5] == ["", "Summary statistics: Mean, SD, N", "Group variable: sector", "",
                       "  sector |   mathach       ses"]
    assert out[5] == "---------+--------------------"
    assert out[6].startswith("  Public |")
    assert [float(v) for v in out[6].split("|")[1].split()] == pytest.approx(
        [g["mathach"].mean()[0], g["ses"].mean()[0]], rel=1e-6)
    assert [float(v) for v in out[7].split("|")[1].split()] == pytest.approx(
        [g["mathach"].std()[0], g["ses"].std()[0]], rel=1e-6)
    assert out[8].split() == ["|", "3642", "3642"]
    assert out[-1] == "-" * 30 and out[-5] == "---------+--------------------"
    assert out[-4].split()[:2] == ["Total", "|"]


def test_tabstat_statistics_as_columns_and_save(hsb):
    out = hsb("tabstat mathach, stat(p25 median p75 iqr q) save").splitlines()
    x = np.sort(hsb.session.data["mathach"].to_numpy())
    q = [stata_percentile(x, p) for p in (25, 50, 75)]
    # six 10-wide columns fit in 80 characters; the seventh starts a second block
    assert out[1] == "    Variable |       p25       p50       p75       IQR       p25       p50"
    assert out[6] == "    Variable |       p75"
    table = hsb.session.r.matrices["StatTotal"]
    assert table.rownames == ["p25", "p50", "p75", "IQR", "p25", "p50", "p75"]
    np.testing.assert_allclose(table.values[:, 0], [*q, q[2] - q[0], *q], rtol=1e-12)
    assert hsb("tabstat mathach, stat(mode)", rc=198).splitlines()[0] == "unknown statistic: mode"
    assert hsb("tabstat mathach, nototal").strip() == "nothing to display"


def test_table_one_and_two_way(hsb):
    out = hsb("table sector, statistic(frequency) statistic(percent)").splitlines()
    assert out[1:] == ["----------------------------------",
                       "           |  Frequency   Percent",
                       "-----------+----------------------",
                       "sector     |",
                       "  Public   |      3,642     50.69",
                       "  Catholic |      3,543     49.31",
                       "  Total    |      7,185    100.00",
                       "----------------------------------"]
    out = hsb("table sector minority, statistic(mean mathach)").splitlines()
    d = hsb.session.data
    means = d.groupby(["sector", "minority"])["mathach"].mean()
    row = out[6].split("|")[1].split()
    assert [float(v) for v in row] == pytest.approx(
        [means[0][0], means[0][1], d.loc[d.sector == 0, "mathach"].mean()], rel=1e-6)
    assert out[2].strip().endswith("minority") and out[3].split() == ["|", "0", "1", "Total"]
    assert hsb("table sector minority, stat(mean ses) stat(sd ses)", rc=198).splitlines()[0] == \
        "only one statistic() may be combined with a column variable"


def test_testparm_interactions(hsb):
    hsb("regress mathach i.sector##c.ses")
    e = hsb.session.e
    out = hsb("testparm i.sector#c.ses").splitlines()
    assert out[1] == " ( 1)  1.sector#c.ses = 0"
    j = e.matrices["b"].colnames.index("1.sector#c.ses")
    b, v = e.matrices["b"].values[0, j], e.matrices["V"].values[j, j]
    assert hsb.session.r.scalars["F"] == pytest.approx(b * b / v, rel=1e-12)
    hsb("testparm i.sector##c.ses")
    assert hsb.session.r.scalars["df"] == 3.0
    out = hsb("testparm c.ses#i.sector", rc=111).splitlines()
    assert out[0] == "no such variables;"


def test_estimates_table_star_and_r_table(hsb):
    hsb("regress mathach ses")
    hsb("estimates store a")
    r = hsb.session.r
    table = r.matrices["table"]
    assert table.rownames == ["b", "se", "t", "pvalue", "ll", "ul", "df", "crit", "eform"]
    e = hsb.session.e
    b, V = e.matrices["b"].values[0], e.matrices["V"].values
    df = e.scalars["df_r"]
    se = np.sqrt(np.diag(V))
    np.testing.assert_allclose(table.values[0], b)
    np.testing.assert_allclose(table.values[3], 2 * stats.t.sf(np.abs(b / se), df), rtol=1e-9)
    np.testing.assert_allclose(table.values[7], stats.t.ppf(0.975, df), rtol=1e-12)
    assert r.scalars["level"] == 95
    hsb("regress mathach female")
    hsb("estimates store b")
    out = hsb("estimates table a b, star").splitlines()
    assert out[-1] == "legend: * p<0.05; ** p<0.01; *** p<0.001".rjust(len(out[-2]))
    rows = {ln.split("|")[0].strip(): ln for ln in out if "|" in ln}
    assert rows["ses"].split("|")[1].split() == [f"{b[0]:.8g}".lstrip("0") + "***"]
    hsb("mixed mathach ses || id:")
    assert hsb.session.r.matrices["table"].rownames[2] == "z"
    assert np.isnan(hsb.session.r.matrices["table"].values[6]).all()   # df: missing for z
    assert hsb("estimates table a, star se", rc=198).splitlines()[0] == \
        "option star may not be combined with se, t, or p"


def test_predict_stub_star_after_mixed(hsb):
    hsb("mixed mathach ses || id: ses")
    hsb("predict u*, reffects")
    assert [v for v in hsb.session.variables if v.startswith("u")] == ["u1", "u2"]
    hsb("predict ux uy, reffects")
    np.testing.assert_array_equal(hsb.session.data["u1"], hsb.session.data["ux"])
    assert hsb("predict v*, xb").strip() == ""
    assert "v1" in hsb.session.variables
