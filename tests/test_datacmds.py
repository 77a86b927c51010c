"""Data-management commands on the HSB data, checked against pandas and Stata's messages."""

import numpy as np
import pandas as pd
import pytest

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import EResults, Session, StataMatrix


@pytest.fixture
def hsb():
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, "use hsb") == 0
    buf.seek(0)
    buf.truncate()
    return s, buf


def run(s, buf, line, rc=0):
    buf.seek(0)
    buf.truncate()
    assert run_line(s, line) == rc, buf.getvalue()
    return buf.getvalue()


def test_group_mean_centring_matches_pandas(hsb):
    s, buf = hsb
    run(s, buf, "egen mses = mean(ses), by(id)")
    run(s, buf, "gen cses = ses - mses")
    d = s.data
    means = d.groupby("id")["ses"].transform("mean")
    # egen's default type is float: values are the group means rounded to single precision
    np.testing.assert_allclose(d["mses"], means, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(d["mses"], means.astype(np.float32).astype(float))
    assert d.groupby("id")["cses"].mean().abs().max() < 1e-6
    assert s.var_labels["mses"] == "mean(ses)"
    assert s.changed


def test_egen_tag_as_in_reference_log(hsb):
    s, buf = hsb
    run(s, buf, "egen tag=tag(id)")
    assert int(s.data["tag"].sum()) == 160
    assert (s.data["tag"] == 0).sum() == 7025
    first = ~s.data["id"].duplicated()
    np.testing.assert_array_equal(s.data["tag"] == 1, first)
    schools = s.data[s.data["tag"] == 1]
    assert schools["size"].mean() == pytest.approx(1097.825)
    assert s.var_labels["tag"] == "tag(id)"


def test_egen_statistics_against_pandas(hsb):
    s, buf = hsb
    for fcn in ("sd", "total", "count", "min", "max", "median"):
        run(s, buf, f"egen e_{fcn} = {fcn}(mathach), by(id)")
    g = s.data.groupby("id")["mathach"]
    expected = {"sd": g.transform("std"), "total": g.transform("sum"), "count": g.transform("count"),
                "min": g.transform("min"), "max": g.transform("max"),
                "median": g.transform("median")}
    for fcn, values in expected.items():
        np.testing.assert_allclose(s.data[f"e_{fcn}"], values.astype(np.float32), rtol=1e-6)
    run(s, buf, "egen g = group(sector female)")
    codes = s.data.groupby(["sector", "female"]).ngroup() + 1
    np.testing.assert_array_equal(s.data["g"], codes)
    run(s, buf, "egen r = rank(mathach), by(id)")
    np.testing.assert_allclose(s.data["r"], s.data.groupby("id")["mathach"].rank())


def test_egen_ignores_missing_and_respects_if():
    out, buf = capture_output()
    s = Session(out=out)
    s.set_data(pd.DataFrame({"g": [1, 1, 1, 2, 2], "x": [1.0, np.nan, 3.0, 4.0, 6.0]}))
    assert run_line(s, "egen m = mean(x), by(g)") == 0
    np.testing.assert_array_equal(s.data["m"], [2, 2, 2, 5, 5])
    assert run_line(s, "egen t = total(x) if g == 2") == 0
    np.testing.assert_array_equal(s.data["t"], [np.nan, np.nan, np.nan, 10, 10])
    assert "(3 missing values generated)" in buf.getvalue()
    assert run_line(s, "egen c = count(x), by(g)") == 0
    np.testing.assert_array_equal(s.data["c"], [2, 2, 2, 2, 2])
    assert run_line(s, "by g: egen mx = max(x)") == 0
    np.testing.assert_array_equal(s.data["mx"], [3, 3, 3, 6, 6])
    assert run_line(s, "egen rk = rank(x)") == 0
    np.testing.assert_array_equal(s.data["rk"], [1, np.nan, 2, 3, 4])


def test_by_n_and_N(hsb):
    s, buf = hsb
    run(s, buf, "by id: gen n = _n")
    run(s, buf, "by id: gen N = _N")
    sizes = s.data.groupby("id")["id"].transform("size")
    np.testing.assert_array_equal(s.data["N"], sizes)
    np.testing.assert_array_equal(s.data["n"], s.data.groupby("id").cumcount() + 1)
    run(s, buf, "by id: gen lag = mathach[_n-1]")
    expected = s.data.groupby("id")["mathach"].shift(1).astype(np.float32).astype(float)
    np.testing.assert_array_equal(s.data["lag"].isna(), expected.isna())
    np.testing.assert_allclose(s.data["lag"].dropna(), expected.dropna())


def test_by_requires_sorted_data_bysort_sorts(hsb):
    s, buf = hsb
    before = s.data.copy()
    assert "not sorted" in run(s, buf, "by sector: gen k = _n", rc=5)
    pd.testing.assert_frame_equal(s.data, before)
    run(s, buf, "bysort sector: gen k = _n")
    assert list(s.data["sector"]) == sorted(before["sector"])
    assert s.data["k"].iloc[-1] == (before["sector"] == 1).sum()
    # stable: within a sector the original order is kept
    orig = before[before["sector"] == 0]["mathach"].to_numpy()
    np.testing.assert_array_equal(s.data[s.data["sector"] == 0]["mathach"], orig)


def test_generate_rules_and_messages(hsb):
    s, buf = hsb
    before = s.data.copy()
    assert run(s, buf, "gen ses = 1", rc=110).startswith("variable ses already defined\nr(110);")
    assert "nosuch not found" in run(s, buf, "gen y = nosuch + 1", rc=111)
    assert run(s, buf, "gen y = 2 +", rc=198).splitlines() == ["invalid syntax", "r(198);"]
    assert run(s, buf, "gen y = unknownfn(2)", rc=133).splitlines() == [
        "unknown function unknownfn()", "r(133);"]
    assert run(s, buf, 'gen y = ses + "a"', rc=109).splitlines() == ["type mismatch", "r(109);"]
    assert run(s, buf, "gen 1y = 2", rc=198).splitlines() == ["1y invalid name", "r(198);"]
    pd.testing.assert_frame_equal(s.data, before)
    text = run(s, buf, "gen hi = mathach if mathach > 20")
    n_missing = int((before["mathach"] <= 20).sum())
    assert text.strip() == f"({n_missing:,} missing values generated)"
    run(s, buf, "gen double d = mathach / 3")
    np.testing.assert_array_equal(s.data["d"], before["mathach"] / 3)
    run(s, buf, "gen f = mathach / 3")
    np.testing.assert_array_equal(s.data["f"], (before["mathach"] / 3).astype(np.float32))
    run(s, buf, "gen byte b = 2.7")
    assert (s.data["b"] == 2).all()
    run(s, buf, 'gen str5 lab = "a" + id')
    assert s.data["lab"].iloc[0] == "a1224"


def test_replace_messages(hsb):
    s, buf = hsb
    run(s, buf, "gen z = sector")
    n1 = int((s.data["sector"] == 1).sum())
    assert run(s, buf, "replace z = 5 if sector == 1").strip() == f"({n1:,} real changes made)"
    assert run(s, buf, "replace z = 5 if sector == 1").strip() == "(0 real changes made)"
    assert run(s, buf, "replace z = . in 1/3").strip() == "(3 real changes made, 3 to missing)"
    assert run(s, buf, "replace z = 7 in 1").strip() == "(1 real change made)"
    assert run(s, buf, 'replace z = "a"', rc=109).splitlines() == ["type mismatch", "r(109);"]
    assert run(s, buf, "replace nosuch = 1", rc=111).splitlines() == [
        "variable nosuch not found", "r(111);"]


def test_missing_values_sort_last_and_compare_high():
    out, buf = capture_output()
    s = Session(out=out)
    s.set_data(pd.DataFrame({"x": [3.0, np.nan, 1.0, 2.0, np.nan], "k": [1, 2, 3, 4, 5]}))
    assert run_line(s, "gen big = x > 2") == 0
    np.testing.assert_array_equal(s.data["big"], [1, 1, 0, 0, 1])
    assert run_line(s, "sort x") == 0
    np.testing.assert_array_equal(s.data["k"], [3, 4, 1, 2, 5])
    assert s.sortedby == ["x"]
    assert run_line(s, "gsort -x") == 0
    np.testing.assert_array_equal(s.data["k"], [1, 4, 3, 2, 5])   # missing last, stable
    assert run_line(s, "gsort -x, mfirst") == 0
    np.testing.assert_array_equal(s.data["k"], [2, 5, 1, 4, 3])
    assert run_line(s, "gsort nosuch") == 111


def test_recode():
    out, buf = capture_output()
    s = Session(out=out)
    s.set_data(pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, np.nan]}))
    assert run_line(s, "recode x (1/2=1) (3/max=3) (missing=9), gen(y)") == 0
    np.testing.assert_array_equal(s.data["y"], [1, 1, 3, 3, 3, 3, 9])
    assert "(5 differences between x and y)" in buf.getvalue()
    assert run_line(s, "recode x (min/3=0) (4=.) (else=1)") == 0
    np.testing.assert_array_equal(s.data["x"], [0, 0, 0, np.nan, 1, 1, 1])
    assert "(x: 7 changes made)" in buf.getvalue()
    before = s.data.copy()
    assert run_line(s, "recode x (1=2, gen(z)") == 198
    assert run_line(s, "recode x (1=2), gen(y)") == 110
    pd.testing.assert_frame_equal(s.data, before)


def test_drop_keep_rename_label(hsb):
    s, buf = hsb
    n0 = s.nobs
    n_pub = int((s.data["sector"] == 0).sum())
    assert run(s, buf, "drop if sector == 1").strip() == f"({n0 - n_pub:,} observations deleted)"
    assert s.nobs == n_pub
    assert run(s, buf, "keep in 1/10").strip() == f"({n_pub - 10:,} observations deleted)"
    assert run(s, buf, "drop if sector == 1").strip() == "(0 observations deleted)"
    run(s, buf, "drop minority female")
    assert "minority" not in s.variables and "female" not in s.variables
    run(s, buf, "keep id ses mathach")
    assert s.variables == ["id", "ses", "mathach"]
    run(s, buf, "rename ses socio")
    assert s.variables == ["id", "socio", "mathach"]
    assert run(s, buf, "rename socio mathach", rc=110).splitlines() == [
        "variable mathach already defined", "r(110);"]
    assert run(s, buf, "rename nosuch x", rc=111).splitlines() == [
        "variable nosuch not found", "r(111);"]
    run(s, buf, 'label variable socio "Socio-economic status"')
    assert s.var_labels["socio"] == "Socio-economic status"
    run(s, buf, "by id: drop if _n > 1")
    assert s.nobs == 1


def test_count_and_display(hsb):
    s, buf = hsb
    assert run(s, buf, "count").strip("\n") == "  7,185"
    assert s.r.scalars["N"] == 7185
    n = int((s.data["sector"] == 1).sum())
    assert run(s, buf, "count if sector == 1").strip("\n") == f"  {n:,}"
    assert run(s, buf, "count in -5/l").strip() == "5"
    assert run(s, buf, "di (0.42-0.07)/0.42").strip() == ".83333333"
    assert run(s, buf, "display _N").strip() == "7185"
    assert run(s, buf, 'di "n = " _N').strip() == "n = 7185"
    assert run(s, buf, "di %9.3f _pi").rstrip("\n") == "    3.142"
    assert run(s, buf, 'di "a" _n "b"').strip() == "a\nb"
    assert run(s, buf, 'di "a" _col(5) "b"').strip() == "a   b"
    assert run(s, buf, "di ses").strip() == "-1.528"       # first observation
    assert "nosuch not found" in run(s, buf, "di nosuch", rc=111)


def test_display_stored_results_as_reference_log():
    """``di exp(e(b)[1,2])^2`` and the ICC line print as in the reference log."""
    out, buf = capture_output()
    s = Session(out=out)
    lns1, lnse = np.log(np.sqrt(8.5535197)), np.log(np.sqrt(39.148393))  # var(Residual) 39.14839 in the log
    b = StataMatrix(np.array([[12.63707, lns1, lnse]]), ["y1"],
                    ["mathach:_cons", "lns1_1_1:_cons", "lnsig_e:_cons"])
    s.e = EResults(matrices={"b": b})
    s.matrices = {"base": b}
    run(s, buf, "di exp(e(b)[1,2])^2")
    assert buf.getvalue().strip() == "8.5535197"
    ratio = run(s, buf, "di exp(e(b)[1,2])^2/(exp(e(b)[1,2])^2 + exp(e(b)[1,3])^2)").strip()
    assert ratio == ".17931188"
    assert run(s, buf, "di exp(base[1,2])^2").strip() == "8.5535197"
    assert run(s, buf, "di _b[_cons]").strip() == "12.63707"


def test_scalar_and_set_seed():
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, "scalar k = 2*3") == 0
    assert s.scalars["k"] == 6
    assert run_line(s, "di k + 1") == 0
    assert buf.getvalue().strip().endswith("7")
    assert run_line(s, "scalar list k") == 0
    assert "             k = 6" in buf.getvalue()
    assert run_line(s, "set obs 5") == 0
    assert run_line(s, "set seed 12345") == 0
    assert run_line(s, "gen u = runiform()") == 0
    first = s.data["u"].to_numpy()
    assert run_line(s, "set seed 12345") == 0
    assert run_line(s, "gen v = runiform()") == 0
    np.testing.assert_array_equal(first, s.data["v"])
    assert ((first > 0) & (first < 1)).all()
    assert run_line(s, "set more off") == 0


def test_running_sum_under_if_and_by():
    out, buf = capture_output()
    s = Session(out=out)
    s.set_data(pd.DataFrame({"g": [1, 1, 2, 2], "x": [1.0, 2, 3, 4]}))
    assert run_line(s, "gen s = sum(x) if x != 2") == 0
    np.testing.assert_array_equal(s.data["s"], [1, np.nan, 4, 8])
    assert run_line(s, "by g: gen t = sum(x)") == 0
    np.testing.assert_array_equal(s.data["t"], [1, 3, 3, 7])
    assert run_line(s, 'gen str1 lab = "a" if x > 2') == 0
    assert list(s.data["lab"]) == ["", "", "a", "a"]
