"""The data commands as declared (issue 7): options, by rules, read-only bundled data, imports.

Every data command declares its syntax once; the parser refuses what is not declared, the
dispatcher runs ``by`` as each command is declared (recall: once per group; onecall: the command
gets the groups; otherwise r(190)).  Numbers are checked against pandas on the HSB data.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlmshell.data.files import BUNDLED
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.registry import Registry
from hlmshell.shell.session import Session

BY_RULE = "-" * 79


class Shell:
    """A session with captured output; ``run`` returns what one command printed."""

    def __init__(self, cwd: Path | None = None, data: pd.DataFrame | None = None) -> None:
        self.out, self.buf = capture_output()
        self.s = Session(out=self.out, cwd=cwd)
        if data is not None:
            self.s.set_data(data)

    def run(self, line: str, rc: int = 0) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        got = run_line(self.s, line)
        text = self.buf.getvalue()
        assert got == rc, f"{line!r} gave r({got}):\n{text}"
        return text


@pytest.fixture
def hsb(tmp_path: Path) -> Shell:
    sh = Shell(cwd=tmp_path)
    sh.run("use hsb")
    return sh


def _blocks(text: str) -> dict[str, str]:
    """By-group output split at each ``-> var = value`` header: {"sector = 0": output, ...}."""
    parts = text.split(f"\n{BY_RULE}\n-> ")
    assert parts[0].strip() == "", parts[0]
    out = {}
    for part in parts[1:]:
        header, _, body = part.partition("\n")
        out[header] = body
    return out


# -- the declarations ------------------------------------------------------------------------------
BYABLE = {
    "list": "recall",
    "summarize": "recall",
    "tabulate": "recall",
    "correlate": "recall",
    "count": "recall",
    "describe": None,
    "generate": "onecall",
    "replace": "onecall",
    "egen": "onecall",
    "drop": "onecall",
    "keep": "onecall",
    "recode": None,
    "rename": None,
    "order": None,
    "sort": None,
    "gsort": None,
    "merge": None,
    "use": None,
    "save": None,
    "clear": None,
    "preserve": None,
    "restore": None,
}
SUBCOMMANDS = {
    ("label", "variable"): None,
    ("import", "delimited"): None,
    ("export", "delimited"): None,
}


def test_every_data_command_is_declared_with_its_by_rule():
    registry = Registry.standard()
    for name, byable in BYABLE.items():
        spec = registry.lookup(name)
        assert spec.name == name, name
        assert spec.byable == byable, name
    for (parent, sub), byable in SUBCOMMANDS.items():
        owner = registry.lookup(parent)
        spec = owner.subcommands.get(sub)
        assert spec is not None and spec.fn is not None, (parent, sub)
        assert spec.byable == byable, (parent, sub)


@pytest.mark.parametrize("typed, name", [
    ("d", "describe"),
    ("l", "list"),
    ("su", "summarize"),
    ("ta", "tabulate"),
    ("cor", "correlate"),
    ("corr", "correlate"),
    ("cou", "count"),
    ("g", "generate"),
    ("replace", "replace"),
    ("egen", "egen"),
    ("rec", "recode"),
    ("ren", "rename"),
    ("la", "label"),
    ("drop", "drop"),
    ("keep", "keep"),
    ("order", "order"),
    ("so", "sort"),
    ("gsort", "gsort"),
    ("merge", "merge"),
    ("u", "use"),
    ("sa", "save"),
    ("import", "import"),
    ("export", "export"),
    ("clear", "clear"),
    ("preserve", "preserve"),
    ("restore", "restore"),
])
def test_command_abbreviations(typed, name):
    assert Registry.standard().lookup(typed).name == name


@pytest.mark.parametrize("typed", [
    "co",
    "repl",
    "eg",
    "dro",
    "kee",
    "orde",
    "gsor",
    "merg",
    "impor",
    "expor",
    "clea",
    "preserv",
    "restor",
])
def test_too_short_abbreviations_are_unrecognized(hsb, typed):
    out = hsb.run(f"{typed} id", rc=199)
    assert out.splitlines() == [f"command {typed} is unrecognized", "r(199);"]


# -- options that are not declared are refused, and nothing changes --------------------------------
REFUSED = [
    "describe, foo",
    "list id in 1/2, foo",
    "summarize ses, foo",
    "tabulate sector, foo",
    "correlate ses mathach, foo",
    "count, foo",
    "generate x = 1, foo",
    "replace ses = 1, foo",
    "egen m = mean(ses), foo",
    "egen m = mean(ses), by(id) foo",
    "recode sector (0=1), foo",
    "rename ses x, foo",
    'label variable ses "x", foo',
    "drop ses, foo",
    "keep if ses > 0, foo",
    "order ses, foo",
    "sort id, foo",
    "gsort -id, foo",
    "merge m:1 id using hsb, foo",
    "use hsb, clear foo",
    "save x, foo",
    "import delimited using x.csv, foo",
    "export delimited using x.csv, foo",
    "clear, foo",
    "preserve, foo",
    "restore, foo",
]


@pytest.mark.parametrize("line", REFUSED)
def test_undeclared_option_is_refused(hsb, line):
    before = hsb.s.data.copy()
    out = hsb.run(line, rc=198)
    assert out.splitlines() == ["option foo not allowed", "r(198);"]
    pd.testing.assert_frame_equal(hsb.s.data, before)
    assert not list(hsb.s.cwd.iterdir())            # save/export wrote nothing


@pytest.mark.parametrize("line, shown", [
    ("use hsb, clear nolabel", "nolabel"),          # was taken and ignored: no value labels here
    ("list id in 1/2, clean", "clean"),             # was taken and ignored: the box was drawn
    ("egen m = mean(ses), missing", "missing"),     # only tag() and group() have missing
    ("egen m = rank(ses), p(50)", "p()"),           # only pctile() has p()
    ("egen m = pctile(ses), field", "field"),
    ("merge m:1 id using hsb, nolabel", "nolabel"),
    ("import delimited using x.csv, clear varn(1)", "varn()"),
])
def test_options_that_were_ignored_or_belong_elsewhere_are_refused(hsb, line, shown):
    out = hsb.run(line, rc=198)
    assert out.splitlines() == [f"option {shown} not allowed", "r(198);"]


@pytest.mark.parametrize("line, message", [
    ("gen x = 1, before(id) after(ses)", "options before() and after() may not be combined"),
    ("order ses, first last", "only one of first, last, before(), and after() allowed"),
    ("order ses, last before(id)", "only one of first, last, before(), and after() allowed"),
    ("egen r = rank(ses), field track", "may not combine options field, track, and unique"),
    ("summarize ses, detail meanonly", "options meanonly and detail may not be combined"),
])
def test_conflicting_options_are_refused(hsb, line, message):
    before = hsb.s.data.copy()
    assert hsb.run(line, rc=198).splitlines() == [message, "r(198);"]
    pd.testing.assert_frame_equal(hsb.s.data, before)


def test_option_abbreviations(hsb):
    d = hsb.s.data
    hsb.run("tab sector, m gen(sec)")
    assert hsb.s.data["sec2"].sum() == (d["sector"] == 1).sum()
    hsb.run("corr ses mathach, cov")
    assert hsb.s.r.scalars["cov_12"] == pytest.approx(np.cov(d["ses"], d["mathach"])[0, 1])
    hsb.run("gsort -ses, g(rank) mf")
    assert hsb.s.data["ses"].iloc[0] == d["ses"].max() and hsb.s.data["rank"].iloc[0] == 1
    hsb.run("sort id, stable")
    hsb.run("egen t = tag(id), m")
    assert int(hsb.s.data["t"].sum()) == 160
    hsb.run("egen p = pctile(mathach), p(25) by(sector)")
    for sector, group in hsb.s.data.groupby("sector"):
        x = np.sort(group["mathach"].to_numpy())
        pos = len(x) * 25 / 100                       # Stata's _pctile: x[ceil(pos)], or the mean
        want = (x[int(pos) - 1] + x[int(pos)]) / 2 if pos == int(pos) else x[int(np.ceil(pos)) - 1]
        assert (group["p"] == np.float32(want)).all(), sector


def test_recode_generate_prefix_copyrest():
    sh = Shell(data=pd.DataFrame({"x": [1.0, 2, 3, 4]}))
    sh.run("recode x (1/2 = 0) if x > 1, gen(y)")
    assert sh.s.data["y"].tolist()[1:] == [0, 3, 4] and np.isnan(sh.s.data["y"].iloc[0])
    sh.run("recode x (1/2 = 0) if x > 1, pre(c_) copyrest")
    assert sh.s.data["c_x"].tolist() == [1, 0, 3, 4]


# -- options that used to be ignored now do what they say -----------------------------------------
def test_merge_noreport_merges_without_the_table(tmp_path):
    sh = Shell(cwd=tmp_path)
    sh.run("use hsb2")
    sh.run("save schools")
    sh.run("use hsb1, clear")
    assert sh.run("merge m:1 id using schools, norep") == ""
    assert (sh.s.data["_merge"] == 3).all() and sh.s.nobs == 7185
    sizes = pd.read_stata(BUNDLED / "hsb2.dta").set_index("id")["size"]
    assert (sh.s.data["size"].to_numpy() == sizes.loc[sh.s.data["id"]].to_numpy()).all()
    sh.run("drop size _merge")
    report = sh.run("merge m:1 id using schools, keepus(size) gen(how)")
    assert "Matched" in report and "7,185  (how==3)" in report
    assert sh.run("merge m:1 id using schools, gen(w) nogen", rc=198).splitlines() == [
        "options generate() and nogenerate may not be combined", "r(198);"]
    assert "sector" in sh.s.variables and "meanses" in sh.s.variables      # already in the master


def test_replace_nopromote_keeps_the_storage_type():
    data = pd.DataFrame({"b": np.array([3, 3, 3, 3], dtype=np.int8),
                         "s": np.array(["ab", "cd", "ef", "gh"], dtype=object),
                         "f": [0.5, 0.5, 0.5, 0.5]})
    sh = Shell(data=data)
    assert sh.run("replace b = 2.7 in 1, nopromote").strip() == "(1 real change made)"
    out = sh.run("replace b = 1000 in 2, nopromote")
    assert out.strip() == "(1 real change made, 1 to missing)"
    assert sh.s.data["b"].iloc[0] == 2 and np.isnan(sh.s.data["b"].iloc[1])
    assert sh.run('replace s = "wxyz" in 1, nopro').strip() == "(1 real change made)"
    assert sh.s.data["s"].tolist() == ["wx", "cd", "ef", "gh"]
    sh.run("replace f = 1/3 in 1, nopromote")
    assert sh.s.data["f"].iloc[0] == float(np.float32(1 / 3))
    # without nopromote: promoted, the values kept exactly
    assert sh.run("replace b = 2.5 in 3").strip() == "(1 real change made)"
    assert sh.s.data["b"].iloc[2] == 2.5
    sh.run('replace s = "wxyz" in 2')
    assert sh.s.data["s"].iloc[1] == "wxyz"
    sh.run("replace f = 1/3 in 2")
    assert sh.s.data["f"].iloc[1] == 1 / 3


# -- by: recall ------------------------------------------------------------------------------------
def test_by_count_prints_each_group(hsb):
    counts = hsb.s.data["sector"].value_counts().sort_index()
    out = hsb.run("by sector, sort: count")
    assert out == (f"\n{BY_RULE}\n-> sector = 0\n  {counts[0]:,}\n"
                   f"\n{BY_RULE}\n-> sector = 1\n  {counts[1]:,}\n")
    assert counts.tolist() == [3642, 3543]
    assert hsb.s.r.scalars["N"] == counts[1]                 # the last group's, as in Stata
    assert hsb.s.sortedby == ["sector"]
    out = hsb.run("by sector: count if female == 1")
    female = hsb.s.data[hsb.s.data["female"] == 1]["sector"].value_counts().sort_index()
    assert [b.strip() for b in _blocks(out).values()] == [f"{n:,}" for n in female]


def test_by_summarize_tabulate_correlate(hsb):
    d = hsb.s.data
    hsb.run("sort sector")
    blocks = _blocks(hsb.run("by sector: summarize mathach"))
    assert list(blocks) == ["sector = 0", "sector = 1"]
    for (header, text), (_, group) in zip(blocks.items(), d.groupby("sector")["mathach"]):
        row = next(ln for ln in text.splitlines() if ln.strip().startswith("mathach |"))
        assert row.split()[2] == f"{len(group):,}"
        assert float(row.split()[3]) == pytest.approx(group.mean(), rel=1e-6)
    assert hsb.s.r.scalars["mean"] == pytest.approx(d[d["sector"] == 1]["mathach"].mean())

    blocks = _blocks(hsb.run("by sector: tabulate female"))
    for text, (_, group) in zip(blocks.values(), d.groupby("sector")["female"]):
        freqs = [int(m.group(2).replace(",", ""))
                 for m in re.finditer(r"^\s+([01]) \|\s+([\d,]+)", text, re.M)]
        assert freqs == group.value_counts().sort_index().tolist()
    assert hsb.s.r.scalars["N"] == (d["sector"] == 1).sum()

    blocks = _blocks(hsb.run("by sector: correlate ses mathach"))
    for text, (_, group) in zip(blocks.values(), d.groupby("sector")):
        rho = group["ses"].corr(group["mathach"])
        assert re.search(rf"mathach \|\s+{rho:.4f}\s+1\.0000", text), text
    last = d[d["sector"] == 1]
    assert hsb.s.r.scalars["rho"] == pytest.approx(last["ses"].corr(last["mathach"]))


def test_by_list_numbers_observations_within_groups():
    sh = Shell(data=pd.DataFrame({"g": [1, 1, 2, 2, 2], "x": [10, 20, 30, 40, 50]}))
    blocks = _blocks(sh.run("by g: list x if x > 15"))
    rows = {h: re.findall(r"^\s+(\d+)\. \|\s+(\d+) \|$", t, re.M) for h, t in blocks.items()}
    assert rows == {"g = 1": [("2", "20")], "g = 2": [("1", "30"), ("2", "40"), ("3", "50")]}


def test_recall_commands_see_n_and_N_within_the_group():
    sh = Shell(data=pd.DataFrame({"g": [1, 1, 2, 2, 2], "x": [1.0, 2, 3, 4, 5]}))
    assert [b.strip() for b in _blocks(sh.run("by g: count if _n == 1")).values()] == ["1", "1"]
    assert [b.strip() for b in _blocks(sh.run("by g: count if _n > 1")).values()] == ["1", "2"]
    sh.run("by g: summarize x if _n == _N")
    assert sh.s.r.scalars["mean"] == 5 and sh.s.r.scalars["N"] == 1


@pytest.mark.parametrize("line", ["by sector: count in 1/10", "by sector: list id in 1/2",
                                  "by sector: summarize ses in 1/5"])
def test_in_is_refused_under_by_for_recall_commands(hsb, line):
    hsb.run("sort sector")
    assert hsb.run(line, rc=190).splitlines()[-2:] == ["in may not be combined with by", "r(190);"]


def test_tabulate_generate_is_refused_under_by(hsb):
    hsb.run("sort sector")
    out = hsb.run("by sector: tab female, gen(f)", rc=190)
    assert out.splitlines()[-2:] == ["option generate() may not be combined with by", "r(190);"]
    assert "f1" not in hsb.s.variables


# -- by: onecall -----------------------------------------------------------------------------------
def test_bysort_generate_numbers_within_groups(hsb):
    hsb.run("sort ses")
    before = hsb.s.data.copy()
    hsb.run("bysort id: gen k = _n")
    d = hsb.s.data
    assert d["id"].is_monotonic_increasing and hsb.s.sortedby == ["id"]
    np.testing.assert_array_equal(d["k"], d.groupby("id").cumcount() + 1)
    sizes = before["id"].value_counts()
    assert d.groupby("id")["k"].max().to_dict() == sizes.to_dict()
    # stable: within a school the observations keep their ses order
    assert all(g.is_monotonic_increasing for _, g in d.groupby("id")["ses"])
    hsb.run("by id: gen N = _N")
    np.testing.assert_array_equal(d["id"].map(sizes), hsb.s.data["N"])


def test_by_replace_egen_drop_keep(hsb):
    hsb.run("sort id")
    d0 = hsb.s.data.copy()
    hsb.run("gen first = .")
    out = hsb.run("by id: replace first = mathach[1]")
    expected = d0.groupby("id")["mathach"].transform("first").astype(np.float32)
    np.testing.assert_allclose(hsb.s.data["first"], expected, rtol=1e-7)
    assert out.strip() == "(7,185 real changes made)"
    hsb.run("by id: egen m = mean(mathach)")
    means = d0.groupby("id")["mathach"].transform("mean").astype(np.float32)
    np.testing.assert_allclose(hsb.s.data["m"], means, rtol=1e-6)
    assert hsb.run("by id: egen m2 = mean(mathach), by(id)", rc=190).splitlines() == [
        "option by() not allowed with by prefix", "r(190);"]
    kept = int(np.minimum(d0["id"].value_counts(), 2).sum())
    out = hsb.run("by id: keep if _n <= 2")
    assert out.strip() == f"({7185 - kept:,} observations deleted)" and hsb.s.nobs == kept == 320
    out = hsb.run("by id: drop if _n > 1")
    assert out.strip() == "(160 observations deleted)" and hsb.s.nobs == 160
    assert hsb.s.data["id"].is_unique


@pytest.mark.parametrize("verb", ["drop", "keep"])
def test_drop_keep_varlist_is_refused_under_by(hsb, verb):
    hsb.run("sort id")
    assert hsb.run(f"by id: {verb} ses", rc=190).splitlines() == [
        f"{verb} varlist may not be combined with by", "r(190);"]
    assert "ses" in hsb.s.variables


# -- by: refused -----------------------------------------------------------------------------------
@pytest.mark.parametrize("line, name", [
    ("describe", "describe"),
    ("recode female (0=1)", "recode"),
    ("rename ses x", "rename"),
    ('label variable ses "x"', "label variable"),
    ("order ses", "order"),
    ("sort ses", "sort"),
    ("gsort -ses", "gsort"),
    ("merge m:1 id using hsb2", "merge"),
    ("use hsb, clear", "use"),
    ("save x", "save"),
    ("import delimited using x.csv", "import delimited"),
    ("export delimited using x.csv", "export delimited"),
    ("clear", "clear"),
    ("preserve", "preserve"),
    ("restore", "restore"),
])
def test_commands_not_byable_are_refused_under_by(hsb, line, name):
    before = hsb.s.data.copy()
    out = hsb.run(f"by sector: {line}", rc=190)
    assert out.splitlines() == [f"{name} may not be combined with by", "r(190);"]
    pd.testing.assert_frame_equal(hsb.s.data, before)
    assert hsb.s.preserved is None and not list(hsb.s.cwd.iterdir())


# -- bundled data are read-only --------------------------------------------------------------------
def _digests() -> dict[str, str]:
    """The bundled files these tests try to overwrite, by content."""
    return {name: hashlib.sha256((BUNDLED / name).read_bytes()).hexdigest()
            for name in ("hsb.dta", "hsb2.dta", "exam.csv")}


def test_save_refuses_to_overwrite_the_bundled_data(tmp_path):
    before = _digests()
    sh = Shell(cwd=tmp_path)
    sh.run("use hsb")
    sh.run("gen extra = 1")
    shown = str(BUNDLED / "hsb.dta")
    refusal = [f"file {shown} is read-only; cannot be modified or erased", "r(608);"]
    assert sh.run("save, replace", rc=608).splitlines() == refusal
    assert sh.run("save", rc=608).splitlines() == refusal
    assert sh.run(f'save "{BUNDLED / "hsb"}", replace', rc=608).splitlines() == refusal
    assert sh.run(f"save {BUNDLED / 'new'}", rc=608).splitlines() == [
        f"file {BUNDLED / 'new.dta'} is read-only; cannot be modified or erased", "r(608);"]
    assert sh.s.changed and sh.s.filename == shown         # nothing happened
    assert _digests() == before and not (BUNDLED / "new.dta").exists()
    # with an explicit name the working directory gets the file, as usual
    assert sh.run("save hsb, replace").splitlines() == ["(file hsb.dta not found)",
                                                         "file hsb.dta saved"]
    assert sh.s.filename == str(tmp_path / "hsb.dta") and not sh.s.changed
    assert "extra" in pd.read_stata(tmp_path / "hsb.dta").columns
    assert sh.run("save, replace").splitlines() == ["file " + str(tmp_path / "hsb.dta") + " saved"]
    assert _digests() == before


def test_a_relative_path_into_the_bundled_folder_is_refused_too(tmp_path):
    before = _digests()
    sh = Shell(cwd=BUNDLED.parent)
    sh.run("use hsb2")
    assert sh.run("save data/hsb2, replace", rc=608).splitlines() == [
        "file data/hsb2.dta is read-only; cannot be modified or erased", "r(608);"]
    inside = Shell(cwd=BUNDLED)
    inside.run("use hsb2")
    assert inside.run("save hsb2, replace", rc=608).splitlines() == [
        "file hsb2.dta is read-only; cannot be modified or erased", "r(608);"]
    assert sh.run("export delimited using data/exam.csv, replace", rc=608).splitlines() == [
        "file data/exam.csv is read-only; cannot be modified or erased", "r(608);"]
    assert _digests() == before


# -- start-up: the data commands import neither pandas nor scipy --------------------------------
def test_data_command_modules_import_neither_pandas_nor_scipy():
    code = (
        "import importlib, pkgutil, sys\n"
        "import hlmshell.commands.data as pkg\n"
        "for info in pkgutil.iter_modules(pkg.__path__):\n"
        "    importlib.import_module('hlmshell.commands.data.' + info.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'scipy'}))\n"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                          check=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
