"""use/save/import/export, merge, summarize, tabulate, describe, list, correlate, return list.

Layouts are checked against the reference Stata log (blank lines aside: the log has none) and
numbers against numpy/pandas/scipy computed here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import HSB_CSV, reference_output
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

DATA = Path(__file__).resolve().parent.parent / "data"


class Shell:
    """A session with captured output; ``run`` returns what one command printed."""

    def __init__(self, cwd: Path | None = None) -> None:
        self.out, self.buf = capture_output()
        self.s = Session(out=self.out)
        if cwd is not None:
            self.s.cwd = cwd

    def run(self, line: str, rc: int = 0) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        got = run_line(self.s, line)
        text = self.buf.getvalue()
        assert got == rc, f"{line!r} gave r({got}):\n{text}"
        return text


def lines(text: str) -> list[str]:
    """Non-blank lines without trailing blanks (the reference log drops blank lines)."""
    return [ln.rstrip() for ln in text.splitlines() if ln.strip()]


def log_block(command: str, occurrence: int = 0) -> list[str]:
    """The output lines after ``. command`` in the reference log, up to the next command."""
    return [ln.rstrip() for ln in reference_output(command, occurrence) if ln.strip()]


def _log_summary(command: str, occurrence: int = 0) -> list[str]:
    """The summarize table only (the log has commentary after some blocks)."""
    return [ln for ln in log_block(command, occurrence) if "|" in ln or ln.startswith("---")]


# -- use + summarize against the log ----------------------------------------------------------------
def test_sum_hsb1_matches_log():
    sh = Shell()
    assert sh.run("use hsb1.dta, clear") == ""
    assert lines(sh.run("sum")) == _log_summary("sum", 0)


def test_sum_hsb2_matches_log_and_use_finds_bundled_file_without_extension(tmp_path):
    sh = Shell(cwd=tmp_path)
    sh.run("use hsb2")
    assert Path(sh.s.filename) == DATA / "hsb2.dta"
    assert lines(sh.run("sum")) == _log_summary("sum", 1)


def test_sum_hsb_matches_log_except_disclim_stored_as_double():
    """The bundled hsb.dta holds disclim as double; Stata's file held float (see next test)."""
    sh = Shell()
    sh.run("use hsb, clear")
    ours, stata = lines(sh.run("sum")), _log_summary("sum", 2)
    assert len(ours) == len(stata)
    for a, b in zip(ours, stata):
        if a.strip().startswith("disclim"):
            assert a.replace("-.1318695", "-.1318694") == b
        else:
            assert a == b


def test_sum_hsb_with_float_storage_matches_log_exactly(tmp_path):
    """Stored as Stata stores them (float), the values reproduce every digit of the log."""
    data = pd.read_stata(DATA / "hsb.dta")
    for col in ("ses", "mathach", "pracad", "disclim", "meanses"):
        data[col] = data[col].astype(np.float32)
    data.to_stata(tmp_path / "hsbf.dta", write_index=False, version=118)
    sh = Shell(cwd=tmp_path)
    sh.run("use hsbf")
    assert sh.s.data["disclim"].dtype == np.float64
    assert lines(sh.run("sum")) == _log_summary("sum", 2)


def _tag(sh: Shell) -> None:
    """``egen tag=tag(id)``, as the log runs it (egen prints nothing there either)."""
    assert sh.run("egen tag=tag(id)") == ""
    assert log_block("egen tag=tag(id)") == []


def test_tab_tag_and_school_level_summary_match_log():
    sh = Shell()
    sh.run("use hsb.dta, clear")
    _tag(sh)
    assert lines(sh.run("tab tag")) == log_block("tab tag")
    assert sh.s.r.scalars == {"N": 7185.0, "r": 2.0}
    got = lines(sh.run("sum size- meanses if tag==1"))
    assert got == _log_summary("sum size- meanses if tag==1")


# -- use / save rules ------------------------------------------------------------------------------
def test_use_refuses_to_drop_changed_data():
    sh = Shell()
    sh.run("use hsb2")
    sh.run("tab sector, gen(sec)")
    assert sh.s.changed
    before = sh.s.data.copy()
    text = sh.run("use hsb1", rc=4)
    assert text.strip().splitlines() == ["no; dataset in memory has changed since last saved",
                                         "r(4);"]
    assert sh.s.data.equals(before) and sh.s.changed
    sh.run("use hsb1, clear")
    assert sh.s.nobs == 7185 and not sh.s.changed


def test_use_missing_file():
    sh = Shell()
    assert sh.run("use nosuchfile", rc=601).strip().splitlines() == [
        "file nosuchfile.dta not found", "r(601);"]
    assert sh.run('use "no such.dta", clear', rc=601).startswith("file no such.dta not found")


def test_use_varlist_if_using():
    sh = Shell()
    sh.run("use id ses mathach if ses > 0 using hsb1")
    assert sh.s.variables == ["id", "ses", "mathach"]
    full = pd.read_stata(DATA / "hsb1.dta")
    assert sh.s.nobs == int((full["ses"] > 0).sum())


def test_save_use_round_trip(tmp_path):
    sh = Shell(cwd=tmp_path)
    sh.run("use hsb2")
    sh.run("tab sector, gen(sec)")
    assert sh.run("save mine").strip() == "file mine.dta saved"
    assert (tmp_path / "mine.dta").is_file() and not sh.s.changed
    assert sh.run("save mine", rc=602).strip().splitlines() == ["file mine.dta already exists",
                                                                "r(602);"]
    assert sh.run("save mine, replace").strip() == "file mine.dta saved"
    assert sh.run("save other, replace").strip().splitlines() == ["(file other.dta not found)",
                                                                  "file other.dta saved"]
    original = sh.s.data.copy()
    sh.run("use mine, clear")
    pd.testing.assert_frame_equal(sh.s.data, original, check_dtype=False)
    assert sh.s.data["id"].tolist() == original["id"].tolist()
    assert sh.s.var_labels["sec1"] == "sector==0"
    assert sh.s.var_labels["sec2"] == "sector==1"


def test_import_delimited_gives_the_dta_means(tmp_path):
    sh = Shell()
    assert sh.run(f"import delimited {HSB_CSV}, clear").strip() == "(11 vars, 7,185 obs)"
    assert sh.s.changed and sh.s.filename is None
    dta = pd.read_stata(DATA / "hsb.dta")
    for col in ("minority", "ses", "mathach", "size", "sector", "pracad", "disclim", "meanses"):
        sh.run(f"quietly sum {col}")
        assert sh.s.r.scalars["mean"] == pytest.approx(dta[col].mean(), rel=1e-6, abs=1e-8)
        assert sh.s.r.scalars["N"] == 7185
    assert sh.run(f"import delimited {HSB_CSV}", rc=4).startswith("no; dataset in memory has changed")


def test_export_delimited_round_trip(tmp_path):
    sh = Shell(cwd=tmp_path)
    sh.run("use hsb2")
    assert sh.run("export delimited id size meanses using schools").strip() == \
        "file schools.csv saved"
    assert sh.run("export delimited using schools", rc=602).startswith(
        "file schools.csv already exists")
    back = pd.read_csv(tmp_path / "schools.csv")
    assert list(back.columns) == ["id", "size", "meanses"]
    assert back["meanses"].tolist() == pytest.approx(sh.s.data["meanses"].tolist())
    sh.run("import delimited schools.csv, clear")
    sh.run("quietly sum size")
    assert sh.s.r.scalars["mean"] == pytest.approx(1097.825)


def test_preserve_restore_and_clear():
    sh = Shell()
    sh.run("use hsb2")
    sh.run("preserve")
    assert sh.run("preserve", rc=621).strip().splitlines() == ["already preserved", "r(621);"]
    sh.run("tab sector, gen(s)")
    sh.run("restore")
    assert "s1" not in sh.s.variables and not sh.s.changed
    assert sh.run("restore", rc=622).strip().splitlines() == ["nothing to restore", "r(622);"]
    sh.run("preserve")
    sh.run("clear")
    assert sh.s.nobs == 0 and sh.s.variables == []
    sh.run("restore, preserve")
    assert sh.s.nobs == 160
    sh.run("restore, not")
    assert sh.s.preserved is None and sh.s.nobs == 160


# -- merge -----------------------------------------------------------------------------------------
def test_merge_m1_rebuilds_hsb():
    sh = Shell()
    sh.run("use hsb1")
    report = lines(sh.run("merge m:1 id using hsb2"))
    assert report == [
        "    Result                      Number of obs",
        "    -----------------------------------------",
        "    Not matched                             0",
        "    Matched                             7,185  (_merge==3)",
        "    -----------------------------------------",
    ]
    assert set(sh.s.data["_merge"]) == {3}
    merged = lines(sh.run("sum"))
    stata = _log_summary("sum", 2)
    assert merged[-1].startswith("      _merge |      7,185           3           0")
    assert [ln.replace("-.1318695", "-.1318694") for ln in merged[:-1]] == stata
    hsb = pd.read_stata(DATA / "hsb.dta")
    mine = sh.s.data.sort_values(["id"], kind="stable").reset_index(drop=True)
    for col in hsb.columns:
        assert mine[col].tolist() == hsb.sort_values("id", kind="stable")[col].tolist()


def test_merge_uniqueness_errors_leave_data_alone():
    sh = Shell()
    sh.run("use hsb1")
    before = sh.s.data.copy()
    assert sh.run("merge 1:1 id using hsb2", rc=459).strip().splitlines() == [
        "variable id does not uniquely identify observations in the master data", "r(459);"]
    assert sh.s.data.equals(before)
    sh.run("use hsb2, clear")
    assert sh.run("merge m:1 id using hsb1", rc=459).startswith(
        "variable id does not uniquely identify observations in the using data")
    assert sh.run("merge m:1 nosuch using hsb1", rc=111).startswith("variable nosuch not found")


def test_merge_with_unmatched_observations(tmp_path):
    """Using: schools 0-149; master: the students of schools 5-159."""
    schools = pd.read_stata(DATA / "hsb2.dta")
    students = pd.read_stata(DATA / "hsb1.dta")
    schools.iloc[:150].to_stata(tmp_path / "some.dta", write_index=False, version=118)
    kids = students[students["id"].isin(set(schools["id"].iloc[5:]))]
    kids.to_stata(tmp_path / "kids.dta", write_index=False, version=118)
    n_matched = int(kids["id"].isin(set(schools["id"].iloc[5:150])).sum())
    n_master_only = len(kids) - n_matched
    sh = Shell(cwd=tmp_path)
    sh.run("use kids")
    report = lines(sh.run("merge m:1 id using some"))
    assert report == [
        "    Result                      Number of obs",
        "    -----------------------------------------",
        f"    Not matched{n_master_only + 5:>30,}",
        f"        from master{n_master_only:>26,}  (_merge==1)",
        f"        from using{5:>27,}  (_merge==2)",
        f"    Matched{n_matched:>34,}  (_merge==3)",
        "    -----------------------------------------",
    ]
    codes = sh.s.data["_merge"]
    assert (codes == 1).sum() == n_master_only and (codes == 2).sum() == 5
    assert sh.s.data.loc[codes == 1, "size"].isna().all()
    assert sh.s.data.loc[codes == 2, "mathach"].isna().all()
    ids = sh.s.data["id"].tolist()
    assert ids == sorted(ids)
    sh.run("use kids, clear")
    out = lines(sh.run("merge m:1 id using some, keep(match) nogen"))
    assert out[3:6] == [f"        from master{n_master_only:>26,}", f"        from using{5:>27,}",
                        f"    Matched{n_matched:>34,}"]
    assert sh.s.nobs == n_matched and "_merge" not in sh.s.variables
    sh.run("use kids, clear")
    sh.run("merge m:1 id using some, gen(how) keepusing(size sector)")
    assert sh.s.variables == ["id", "minority", "female", "ses", "mathach", "size", "sector", "how"]
    assert (sh.s.data["how"] == 2).sum() == 5


# -- tabulate --------------------------------------------------------------------------------------
def test_two_way_tab_counts_match_crosstab():
    sh = Shell()
    sh.run("use hsb")
    text = lines(sh.run("tab minority sector"))
    data = pd.read_stata(DATA / "hsb.dta")
    ct = pd.crosstab(data["minority"], data["sector"])
    assert text[1] == "  minority |         0          1 |     Total"
    assert text[2] == "-----------+----------------------+----------"
    for i, row in enumerate(ct.index):
        cells = [int(x.replace(",", "")) for x in re.split(r"[ |]+", text[3 + i].strip())]
        assert cells == [row, *ct.loc[row].tolist(), int(ct.loc[row].sum())]
    total = [int(x.replace(",", "")) for x in re.split(r"[ |]+", text[-1].strip())[1:]]
    assert total == [*ct.sum().tolist(), 7185]
    assert sh.s.r.scalars == {"N": 7185.0, "r": 2.0, "c": 2.0}


def test_one_way_tab_with_if_missing_and_generate():
    sh = Shell()
    sh.run("use hsb2")
    text = lines(sh.run("tab himinty if sector==1"))
    data = pd.read_stata(DATA / "hsb2.dta")
    sub = data.loc[data["sector"] == 1, "himinty"].value_counts().sort_index()
    assert text[0] == "    himinty |      Freq.     Percent        Cum."
    n = int(sub.sum())
    pct0 = 100 * sub[0] / n
    assert text[2] == f"          0 |{sub[0]:>11,}{pct0:>12.2f}{pct0:>12.2f}"
    assert text[-1] == f"      Total |{n:>11,}      100.00"
    sh.run("tab sector, gen(sec)")
    assert sh.s.data["sec2"].tolist() == data["sector"].tolist()
    assert sh.s.data["sec1"].tolist() == (1 - data["sector"]).tolist()
    assert sh.run("tab sector, gen(sec)", rc=110).startswith("variable sec1 already defined")


def test_tab_long_label_wraps_in_the_stub():
    sh = Shell()
    sh.run("use hsb2")
    sh.s.var_labels["sector"] = "Repair record 1978"
    assert lines(sh.run("tab sector"))[:2] == ["     Repair |",
                                               "record 1978 |      Freq.     Percent        Cum."]


# -- summarize details, return list -----------------------------------------------------------------
def test_summarize_detail_numbers_and_layout():
    sh = Shell()
    sh.run("use hsb")
    text = sh.run("sum mathach, detail").splitlines()
    x = np.sort(pd.read_stata(DATA / "hsb.dta")["mathach"].to_numpy())
    r = sh.s.r.scalars
    assert list(r) == ["N", "sum_w", "mean", "Var", "sd", "skewness", "kurtosis", "sum", "min",
                       "max", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"]
    assert r["skewness"] == pytest.approx(stats.skew(x, bias=True), rel=1e-12)
    assert r["kurtosis"] == pytest.approx(stats.kurtosis(x, fisher=False, bias=True), rel=1e-12)
    assert r["p50"] == pytest.approx(np.median(x))
    # Stata's rule: n*p/100 = 7185*.25 = 1796.25 -> the 1797th value
    assert r["p25"] == x[1796]
    assert text[1] == " " * 27 + "mathach"
    assert text[2] == "-" * 61
    assert text[3] == "      Percentiles      Smallest"
    assert text[6] == f"10%{x[718]:>13g}{x[2]:>15g}       Obs               7,185"
    assert text[7].endswith("Sum of wgt.       7,185")
    assert text[8] == ""
    assert text[10] == "                        Largest       Std. dev.      6.878246"
    assert text[-1] == f"99%{x[7113]:>13g}{x[-1]:>15g}       Kurtosis{r['kurtosis']:>15.7g}"


def test_summarize_returns_last_variable_and_meanonly():
    sh = Shell()
    sh.run("use hsb2")
    assert sh.run("sum size sector, meanonly") == ""
    assert sh.s.r.scalars["mean"] == pytest.approx(.4375)
    sh.run("sum size")
    assert list(sh.s.r.scalars) == ["N", "sum_w", "mean", "Var", "sd", "min", "max", "sum"]
    assert sh.s.r.scalars["sum"] == pytest.approx(1097.825 * 160)
    out = lines(sh.run("return list"))
    assert out[:4] == ["scalars:", "                  r(N) =  160", "              r(sum_w) =  160",
                       "               r(mean) =  1097.825"]
    sh.run("sum id")
    assert sh.s.r.scalars == {"N": 0.0, "sum_w": 0.0, "sum": 0.0}


# -- describe, list, correlate ---------------------------------------------------------------------
def test_describe_layout():
    sh = Shell()
    sh.run("use hsb2")
    out = sh.run("describe").splitlines()
    assert out[1] == f"Contains data from {DATA / 'hsb2.dta'}"
    assert out[2] == " Observations:           160"
    assert out[3].startswith("    Variables:             7")
    assert out[5:7] == ["Variable      Storage   Display    Value",
                        "    name         type    format    label      Variable label"]
    assert out[8] == "id              str4    %9s"
    assert out[9] == "size            long    %12.0g"
    assert out[-1].rstrip() == "Sorted by:"
    sh.run("sort size")
    short = sh.run("describe, short").splitlines()          # the header and the sort order only
    assert short[1:3] == out[1:3] and short[3] == out[3] and short[4:] == ["Sorted by: size"]
    assert sh.s.r.scalars["N"] == 160 and sh.s.r.scalars["k"] == 7


def test_list_box():
    sh = Shell()
    sh.run("use hsb1")
    out = sh.run("list id ses mathach in 1/6").splitlines()
    assert out[1:5] == ["       +-------------------------+",
                        "       | id        ses   mathach |",
                        "       |-------------------------|",
                        "    1. | 1224   -1.528     5.876 |"]
    assert out[9] == "       |-------------------------|"
    assert out[10] == "    6. | 1224     .022     4.583 |"
    assert out[11] == "       +-------------------------+"
    assert sh.run("list in 0/1", rc=198).startswith("Obs. nos. out of range")


def test_correlate_and_covariance():
    sh = Shell()
    sh.run("use hsb")
    data = pd.read_stata(DATA / "hsb.dta")
    out = lines(sh.run("correlate ses mathach meanses"))
    rho = np.corrcoef(data[["ses", "mathach", "meanses"]].to_numpy(), rowvar=False)
    assert out[0] == "(obs=7,185)"
    assert out[1] == "             |      ses  mathach  meanses"
    assert out[4] == f"     mathach |{rho[1, 0]:>9.4f}   1.0000"
    sh.run("corr ses mathach")
    assert sh.s.r.scalars["rho"] == pytest.approx(rho[0, 1], rel=1e-12)
    assert sh.s.r.matrices["C"].values.shape == (2, 2)
    sh.run("corr ses mathach, covariance")
    assert sh.s.r.scalars["cov_12"] == pytest.approx(np.cov(data["ses"], data["mathach"])[0, 1])


# -- by-groups ----------------------------------------------------------------------------------------
def test_by_summarize_and_tabulate():
    sh = Shell()
    sh.run("use hsb")
    assert sh.run("by sector: sum ses", rc=5).startswith("not sorted")
    out = sh.run("bysort sector: sum ses")
    data = pd.read_stata(DATA / "hsb.dta")
    heads = [ln for ln in out.splitlines() if ln.startswith("->")]
    assert heads == ["-> sector = 0", "-> sector = 1"]
    catholic = data.loc[data["sector"] == 1, "ses"]
    assert sh.s.r.scalars["N"] == len(catholic)
    assert sh.s.r.scalars["mean"] == pytest.approx(catholic.mean(), rel=1e-12)
    out = sh.run("by sector: tab himinty")
    counts = [int(ln.split("|")[1].split()[0].replace(",", "")) for ln in lines(out)
              if ln.strip().startswith(("0 |", "1 |"))]
    expected = data.groupby(["sector", "himinty"]).size().tolist()
    assert counts == expected
    sh.run("sum ses, meanonly")
    assert list(sh.s.r.scalars) == ["N", "sum_w", "sum", "mean", "min", "max"]


def test_import_delimited_stores_float_like_stata_and_saves_it_so(tmp_path):
    """import delimited stores decimals as float, so its summary is the log's (id is numeric here)."""
    sh = Shell(cwd=tmp_path)
    sh.run(f"import delimited {HSB_CSV}")
    ours = lines(sh.run("sum"))
    stata = _log_summary("sum", 2)
    assert ours[:2] == stata[:2] and ours[3:] == stata[3:]
    assert ours[2].startswith("          id |      7,185")
    desc = sh.run("describe ses size minority id").splitlines()
    assert [ln.split()[:3] for ln in desc[8:12]] == [["ses", "float", "%9.0g"],
                                                    ["size", "int", "%8.0g"],
                                                    ["minority", "byte", "%8.0g"],
                                                    ["id", "int", "%8.0g"]]
    sh.run("save f")
    assert pd.read_stata(tmp_path / "f.dta", preserve_dtypes=True)["ses"].dtype == np.float32
    sh.run("use f, clear")
    assert lines(sh.run("sum")) == ours


# -- layouts from a public Stata log of the auto data (rebuilt here from its printed counts) -----------
def _auto_like() -> Shell:
    """74 cars: rep78 (5 missing) by a string foreign, with the auto data's counts and labels."""
    cells = {(1, "Domestic"): 2, (2, "Domestic"): 8, (3, "Domestic"): 27, (3, "Foreign"): 3,
             (4, "Domestic"): 9, (4, "Foreign"): 9, (5, "Domestic"): 2, (5, "Foreign"): 9,
             (np.nan, "Domestic"): 4, (np.nan, "Foreign"): 1}
    rows = [(r, f) for (r, f), n in cells.items() for _ in range(n)]
    make = [f"Car {k}" for k in range(len(rows))]
    missing_at = [2, 6, 44, 50, 63]
    names = ["AMC Spirit", "Buick Opel", "Plym. Sapporo", "Pont. Phoenix", "Peugeot 604"]
    rep78 = [np.nan] * 74
    foreign = [""] * 74
    others = iter([(r, f) for r, f in rows if not np.isnan(r)])
    missing_f = iter([f for r, f in rows if np.isnan(r)])
    for k in range(74):
        if k in missing_at:
            make[k] = names[missing_at.index(k)]
            foreign[k] = next(missing_f)
        else:
            rep78[k], foreign[k] = next(others)
    sh = Shell()
    sh.s.set_data(pd.DataFrame({"make": make, "rep78": rep78, "foreign": foreign}))
    sh.s.var_labels = {"make": "Make and Model", "rep78": "Repair Record 1978",
                       "foreign": "Car type"}
    return sh


AUTO_TABLES = """\
. tabulate  foreign

   Car type |      Freq.     Percent        Cum.
------------+-----------------------------------
   Domestic |         52       70.27       70.27
    Foreign |         22       29.73      100.00
------------+-----------------------------------
      Total |         74      100.00

. tabulate rep78

     Repair |
Record 1978 |      Freq.     Percent        Cum.
------------+-----------------------------------
          1 |          2        2.90        2.90
          2 |          8       11.59       14.49
          3 |         30       43.48       57.97
          4 |         18       26.09       84.06
          5 |         11       15.94      100.00
------------+-----------------------------------
      Total |         69      100.00

. tabulate rep78 foreign

    Repair |
    Record |       Car type
      1978 |  Domestic    Foreign |     Total
-----------+----------------------+----------
         1 |         2          0 |         2 
         2 |         8          0 |         8 
         3 |        27          3 |        30 
         4 |         9          9 |        18 
         5 |         2          9 |        11 
-----------+----------------------+----------
     Total |        48         21 |        69 

. list make if missing(rep78)

     +---------------+
     | make          |
     |---------------|
  3. | AMC Spirit    |
  7. | Buick Opel    |
 45. | Plym. Sapporo |
 51. | Pont. Phoenix |
 64. | Peugeot 604   |
     +---------------+
"""


@pytest.mark.parametrize("block", AUTO_TABLES.split("\n. "))
def test_auto_layouts(block):
    command, _, expected = block.lstrip(". ").partition("\n")
    sh = _auto_like()
    got = [ln.rstrip() for ln in sh.run(command).splitlines()]
    assert got == [ln.rstrip() for ln in expected.rstrip("\n").splitlines()]


def test_import_then_export_reproduces_the_csv_values(tmp_path):
    sh = Shell(cwd=tmp_path)
    sh.run(f"import delimited {HSB_CSV}")
    sh.run("export delimited again")
    ours = (tmp_path / "again.csv").read_text().splitlines()
    source = HSB_CSV.read_text().splitlines()
    assert ours[0] == source[0].replace('"', "")
    assert ours[1:] == source[1:]


def test_list_too_wide_for_the_screen_uses_blocks():
    sh = Shell()
    sh.run("use hsb")
    out = lines(sh.run("list in 1"))
    assert all(len(ln) <= 80 for ln in out)
    assert out[1] == "    1. | id   | minority | female |    ses | mathach | size | sector | pracad |"
    assert out[2] == "       | 1224 |        0 |      1 | -1.528 |   5.876 |  842 |      0 |    .35 |"
    assert out[4].split() == ["|", "disclim", "|", "himinty", "|", "meanses", "|"]
    assert out[5].split() == ["|", "1.597", "|", "0", "|", "-.428", "|"]
    assert out[0] == out[-1] == "       +" + "-" * 70 + "+"


def test_missing_values_in_sum_and_tab():
    sh = Shell()
    sh.s.set_data(pd.DataFrame({"x": [1.0, 2.0, np.nan, 2.0], "s": ["a", "", "b", "a"]}))
    row = lines(sh.run("sum x"))[-1]
    assert row == "           x |          3    1.666667    .5773503          1          2"
    assert [ln.split("|")[0].strip() for ln in lines(sh.run("tab x"))[2:4]] == ["1", "2"]
    out = lines(sh.run("tab x, missing"))
    assert out[4] == "          . |          1       25.00      100.00"
    assert [ln.split("|")[0].strip() for ln in lines(sh.run("tab s, m"))[2:5]] == ["", "a", "b"]
    assert sh.s.r.scalars == {"N": 4.0, "r": 3.0}
    sh.run("tab x, gen(d)")
    assert sh.s.data["d1"].tolist()[:2] == [1.0, 0.0] and np.isnan(sh.s.data["d1"][2])
    table = lines(sh.run("tab x s"))
    assert table[-1].split() == ["Total", "|", "2", "|", "2"]


@pytest.mark.parametrize("name", ["~", "~nosuchuser_hlm", "~nosuchuser_hlm/x"])
def test_use_with_an_unknown_home_is_file_not_found(name: str) -> None:
    """``~user`` that cannot be expanded is kept as typed (a fuzz finding: it was an r(9999))."""
    out, buf = capture_output()
    s = Session(out=out)
    assert run_line(s, f"use {name}") == 601
    assert "not found" in buf.getvalue() and "r(601);" in buf.getvalue()
