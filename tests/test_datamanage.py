"""collapse, reshape, append, expand, xtile, statsby and sysuse, checked against pandas/numpy
computations of the same thing; the Baum exam workflow end to end."""

import numpy as np
import pandas as pd
import pytest
from runner import runner

from hlmshell.data.statistics import stata_percentile


@pytest.fixture
def hsb(tmp_path):
    run = runner(cwd=tmp_path)
    run("use hsb")
    return run


def test_collapse_statistics_match_pandas(hsb):
    d = hsb.session.data.copy()
    keys_before = set(hsb.session.keys)
    hsb("collapse (mean) mathach ses (sd) sdm=mathach (count) n=mathach (sum) tot=ses "
        "(median) med=ses (p25) q1=ses (iqr) iq=ses (min) lo=ses (max) hi=ses (first) size "
        "(last) lses=ses (percent) pc=ses, by(sector id)")
    out = hsb.session.data
    g = d.sort_values(["sector", "id"], kind="stable").groupby(["sector", "id"], sort=True)
    assert list(out.columns) == ["sector", "id", "mathach", "ses", "sdm", "n", "tot", "med", "q1",
                                 "iq", "lo", "hi", "size", "lses", "pc"]
    assert list(zip(out["sector"], out["id"])) == list(g.groups)
    # mathach and ses are stored as double, so are their statistics; size (int) gives floats
    check = lambda got, want: np.testing.assert_allclose(got, want, rtol=1e-13)   # noqa: E731
    check(out["sdm"], g["mathach"].std())
    np.testing.assert_array_equal(out["n"], g["mathach"].count())
    check(out["tot"], g["ses"].sum())
    check(out["med"], g["ses"].median())
    q1 = g["ses"].apply(lambda x: stata_percentile(np.sort(x.to_numpy()), 25))
    q3 = g["ses"].apply(lambda x: stata_percentile(np.sort(x.to_numpy()), 75))
    check(out["q1"], q1)
    check(out["iq"], q3 - q1)
    check(out["lo"], g["ses"].min())
    check(out["hi"], g["ses"].max())
    np.testing.assert_array_equal(out["size"], g["size"].first().astype(np.float32))
    check(out["lses"], g["ses"].last())
    check(out["pc"], 100 * g["ses"].count() / d["ses"].count())
    assert hsb.session.var_labels["sdm"] == "(sd) mathach"
    assert hsb.session.sortedby == ["sector", "id"]
    assert not keys_before & set(hsb.session.keys)          # a new dataset: no old e(sample)


def test_collapse_cw_if_and_errors():
    run = runner(data=pd.DataFrame({"g": [1, 1, 2, 2, 2], "x": [1.0, np.nan, 3, 4, 5],
                                    "y": [2.0, 4, np.nan, 8, 10]}))
    run("collapse (mean) x y (count) nx=x, by(g) cw")
    np.testing.assert_array_equal(run.session.data["x"], [1, 4.5])
    np.testing.assert_array_equal(run.session.data["y"], [2, 9])
    np.testing.assert_array_equal(run.session.data["nx"], [1, 2])
    run2 = runner(data=pd.DataFrame({"g": [1, 1, 2], "x": [1.0, 2, 3], "s": ["a", "b", "c"]}))
    assert run2("collapse (foo) x", rc=198).splitlines()[0] == "(foo) invalid statistic"
    assert run2("collapse s", rc=109).splitlines()[0] == "variable s is string; cannot collapse"
    assert run2("collapse x if g > 5", rc=2000).splitlines()[0] == "no observations"
    assert run2.session.nobs == 3                            # nothing changed
    run2("collapse (sum) x (max) m=x")
    assert run2.session.data.to_dict("list") == {"x": [6.0], "m": [3.0]}


def test_reshape_wide_long_round_trip_against_pandas(hsb):
    hsb("collapse (mean) mathach (count) n=mathach, by(id minority)")
    long0 = hsb.session.data.copy()
    out = hsb("reshape wide mathach n, i(id) j(minority)")
    wide = hsb.session.data
    pivot = long0.pivot(index="id", columns="minority", values="mathach")
    np.testing.assert_array_equal(wide["mathach0"], pivot[0].to_numpy())
    np.testing.assert_array_equal(wide["mathach1"], pivot[1].to_numpy())
    assert list(wide.columns) == ["id", "mathach0", "mathach1", "n0", "n1"]
    assert out.splitlines() == [
        "(j = 0 1)", "",
        "Data                               Long   ->   Wide",
        "-" * 77,
        f"Number of observations{len(long0):>17,}   ->   160",
        "Number of variables                   4   ->   5",
        "j variable (2 values)          minority   ->   (dropped)",
        "xij variables:",
        "                                mathach   ->   mathach0 mathach1",
        "                                      n   ->   n0 n1",
        "-" * 77]
    out = hsb("reshape long")
    assert out.splitlines()[6:8] == ["j variable (2 values)                     ->   minority",
                                     "xij variables:"]
    back = hsb.session.data
    # every school has both groups in long form now (missing where a group was absent)
    assert len(back) == 320 and list(back.columns) == ["id", "minority", "mathach", "n"]
    merged = back.merge(long0, on=["id", "minority"], how="left", suffixes=("", "_0"))
    np.testing.assert_array_equal(merged["mathach"], merged["mathach_0"])
    np.testing.assert_array_equal(merged["n"], merged["n_0"])
    hsb("drop if missing(n)")
    hsb("reshape wide")
    np.testing.assert_array_equal(hsb.session.data["mathach1"], pivot[1].to_numpy())


def test_reshape_string_j_and_at_sign_and_errors():
    run = runner(data=pd.DataFrame({"id": [1, 2], "incAr": [10.0, 20.0], "incBr": [11.0, 21.0],
                                    "z": [5, 6]}))
    run("reshape long inc@r, i(id) j(k) string")
    d = run.session.data
    assert list(d.columns) == ["id", "k", "incr", "z"]
    assert d["k"].tolist() == ["A", "B", "A", "B"] and d["incr"].tolist() == [10, 11, 20, 21]
    assert run("reshape wide incr, i(id) j(z)", rc=9).splitlines()[0] == \
        "values of variable z not unique within id"
    run2 = runner(data=pd.DataFrame({"id": [1, 1], "x1": [1.0, 2.0]}))
    assert run2("reshape long x, i(id) j(t)", rc=9).splitlines()[0] == \
        "variable id does not uniquely identify the observations"
    assert run2("reshape wide", rc=111).splitlines()[0] == "data have not been reshaped yet"
    assert run2.session.variables == ["id", "x1"]


def test_append_expand_xtile(hsb, tmp_path):
    hsb("keep in 1/10")
    hsb("save part")
    keys = hsb.session.keys.copy()
    hsb("append using part, gen(src)")
    d = hsb.session.data
    assert len(d) == 20 and d["src"].tolist() == [0] * 10 + [1] * 10
    np.testing.assert_array_equal(hsb.session.keys[:10], keys)     # the master keeps its keys
    assert len(set(hsb.session.keys)) == 20
    out = hsb("expand 3 if src == 1, gen(copy)")
    assert out.strip() == "(20 observations created)"
    d = hsb.session.data
    assert len(d) == 40 and d["copy"].sum() == 20 and (d.loc[d["copy"] == 1, "src"] == 1).all()
    hsb("use hsb, clear")
    hsb("xtile q = mathach, nq(5)")
    x = np.sort(hsb.session.data["mathach"].to_numpy())
    cuts = [stata_percentile(x, 20 * k) for k in range(1, 5)]
    expected = np.searchsorted(cuts, hsb.session.data["mathach"], side="left") + 1
    np.testing.assert_array_equal(hsb.session.data["q"], expected)
    hsb("gen cut = 10 in 1")
    hsb("replace cut = 15 in 2")
    hsb("xtile q2 = mathach, cutpoints(cut)")
    m = hsb.session.data["mathach"]
    np.testing.assert_array_equal(hsb.session.data["q2"], np.where(m <= 10, 1, np.where(m <= 15, 2, 3)))


def _per_school_ols(data: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for school, g in data.groupby("school"):
        X = np.column_stack([np.ones(len(g)), g["standlrt"]])
        a, b = np.linalg.lstsq(X, g["normexam"].to_numpy(), rcond=None)[0]
        rows.append((school, a, b))
    return pd.DataFrame(rows, columns=["school", "alpha", "beta"])


def test_baum_exam_workflow(tmp_path):
    """The slides' commands as written, on the shipped exam data."""
    run = runner(cwd=tmp_path)
    run("sysuse exam")
    exam = run.session.data.copy()
    run("encode schgend, gen(sgender)")
    out = run("statsby alpha=_b[_cons] beta=_b[standlrt], by(school) saving(ols): "
              "regress normexam standlrt")
    assert out.splitlines() == [
        "(running regress on estimation sample)", "",
        "      Command: regress normexam standlrt",
        "        alpha: _b[_cons]",
        "         beta: _b[standlrt]",
        "           By: school", "",
        "Statsby groups",
        "----+--- 1 ---+--- 2 ---+--- 3 ---+--- 4 ---+--- 5 ",
        "." * 50 + "    50",
        "." * 15]
    assert run.session.variables[-1] == "sgender" and run.session.nobs == 4059   # data unchanged
    assert run.session.e is None                                # statsby leaves e() as it found it
    run("use ols, clear")
    expected = _per_school_ols(exam)
    got = run.session.data
    np.testing.assert_array_equal(got["school"], expected["school"])
    np.testing.assert_array_equal(got["alpha"], expected["alpha"].astype(np.float32))
    np.testing.assert_array_equal(got["beta"], expected["beta"].astype(np.float32))
    assert run.session.var_labels == {"alpha": "_b[_cons]", "beta": "_b[standlrt]"}
    a, b = got["alpha"].to_numpy(), got["beta"].to_numpy()
    out = run("summarize alpha beta").splitlines()
    # the shipped exam.csv gives these (neither the slides' -.1805974/3.291357 nor .5390514/.1766135)
    assert out[3] == "       alpha |         65   -.0681181    .5191736  -3.272082   .6838782"
    assert out[4] == "        beta |         65    .4245833    .9393709  -6.901466   1.076978"
    assert (f"{a.mean():.7f}", f"{a.std(ddof=1):.7f}") == ("-0.0681181", "0.5191736")
    assert (f"{b.mean():.7f}", f"{b.std(ddof=1):.7f}") == ("0.4245833", "0.9393709")
    cov = np.cov(a, b)
    out = run("correlate alpha beta, cov").splitlines()
    assert out[0] == "(obs=65)"
    assert [float(v) for v in out[4].split()[2:]] == pytest.approx([cov[0, 0]], rel=1e-6)
    assert [float(v) for v in out[5].split()[2:]] == pytest.approx([cov[0, 1], cov[1, 1]], rel=1e-6)


def test_statsby_clear_total_default_list_and_errors(hsb):
    hsb("statsby mean=r(mean) n=r(N), by(sector) total clear: summarize mathach")
    d = hsb.session.data
    assert list(d.columns) == ["sector", "mean", "n"] and len(d) == 3
    assert np.isnan(d["sector"][0]) and d["n"].tolist() == [7185, 3642, 3543]
    assert hsb.session.r.scalars["N_groups"] == 2.0
    hsb("use hsb, clear")
    hsb("statsby, by(sector) clear: regress mathach ses")
    assert list(hsb.session.data.columns) == ["sector", "_b_ses", "_b_cons"]
    hsb("use hsb, clear")
    hsb("statsby, by(sector) clear: mixed mathach ses || id:")
    assert list(hsb.session.data.columns) == ["sector", "_b_ses", "_b_cons", "lns1_1_1_b_cons",
                                              "lnsig_e_b_cons"]
    hsb("use hsb, clear")
    hsb("gen z = 1")
    assert hsb("statsby, by(sector): regress mathach ses", rc=4).splitlines()[0] == \
        "no; dataset in memory has changed since last saved"
    out = hsb("statsby b=_b[ses], by(sector) clear: regress mathach nosuch", rc=111)
    assert out.splitlines()[-2:] == ["an error occurred when statsby executed regress", "r(111);"]
    assert hsb.session.variables[-1] == "z"


def test_sysuse_dir_and_hsb(tmp_path):
    run = runner(cwd=tmp_path)
    listing = run("sysuse dir")
    assert "hsb.dta" in listing and "exam.csv" in listing
    run("sysuse hsb")
    assert run.session.nobs == 7185 and run.session.filename.endswith("hsb.dta")
    assert run("sysuse nosuch", rc=601).splitlines()[0] == "file nosuch.dta not found"


def test_egen_cut_mode_and_new_functions_against_pandas(hsb):
    d0 = hsb.session.data
    hsb("egen c = cut(ses), at(-4 -1 0 1 3)")
    ses = d0["ses"]
    expected = np.select([ses < -1, ses < 0, ses < 1, ses < 3], [-4, -1, 0, 1], np.nan)
    np.testing.assert_array_equal(hsb.session.data["c"], expected)
    hsb("egen g = cut(ses), group(4) label")
    x = np.sort(ses.to_numpy())
    cuts = [x.min(), *(stata_percentile(x, 25 * k) for k in (1, 2, 3)), x.max() + 1]
    codes = np.searchsorted(cuts, ses, side="right") - 1
    np.testing.assert_array_equal(hsb.session.data["g"], codes)
    assert hsb.session.label_names["g"] == "g"
    assert hsb.session.label_sets["g"][0.0] == f"{cuts[0]:.4g}-"
    hsb("egen m = mode(minority), by(id)")
    modes = d0.groupby("id")["minority"].agg(lambda v: v.mode()[0] if len(v.mode()) == 1 else np.nan)
    np.testing.assert_array_equal(hsb.session.data["m"], d0["id"].map(modes))
    hsb("egen z = std(mathach), mean(50) std(10)")
    z = (d0["mathach"] - d0["mathach"].mean()) / d0["mathach"].std() * 10 + 50
    np.testing.assert_allclose(hsb.session.data["z"], z.astype(np.float32), rtol=1e-6)
    hsb("egen md = mad(mathach), by(id)")
    mad = d0.groupby("id")["mathach"].transform(lambda v: (v - v.median()).abs().median())
    np.testing.assert_allclose(hsb.session.data["md"], mad.astype(np.float32), rtol=1e-6)
    hsb("egen pc = pc(size), by(sector)")
    pc = 100 * d0["size"] / d0.groupby("sector")["size"].transform("sum")
    np.testing.assert_allclose(hsb.session.data["pc"], pc.astype(np.float32), rtol=1e-6)
    hsb("egen rs = rowsd(mathach ses size)")
    np.testing.assert_allclose(hsb.session.data["rs"],
                               d0[["mathach", "ses", "size"]].std(axis=1).astype(np.float32),
                               rtol=1e-6)
    hsb("egen rl = rowlast(mathach ses)")
    np.testing.assert_array_equal(hsb.session.data["rl"], d0["ses"].astype(np.float32))
    assert hsb("egen q = cut(ses)", rc=198).splitlines()[0] == \
        "one of at() or group() must be specified"


@pytest.mark.parametrize("line", [
    "collapse (mean) ses [aw=size], by(sector)", "tabstat ses [aweight = size]",
    "tabulate sector [fw=size]", "summarize ses [iw=size] if ses > 0",
    "egen m = mean(ses) [aw=size]", "regress mathach ses [pw=size]"])
def test_weights_are_refused_not_ignored(hsb, line):
    """No command weights observations yet: a weight is Stata's 'weights not allowed' r(101)."""
    before = hsb.session.data.copy()
    assert hsb(line, rc=101) == "weights not allowed\nr(101);\n"
    pd.testing.assert_frame_equal(hsb.session.data, before)
    assert hsb.session.e is None
