"""Value labels: label define/values/list/dir/drop, shown by tabulate, list, describe and by, kept by
save/use, preserve/restore and rename; Stata's messages when they go wrong."""

import numpy as np
import pandas as pd
import pytest
from runner import runner


@pytest.fixture
def sh(tmp_path):
    run = runner(cwd=tmp_path)
    run("use hsb")
    return run


def test_define_attach_list_and_stored_results(sh):
    sh('label define sect 0 "Public" 1 Catholic')
    sh("label values sector sect")
    assert sh("label list sect").splitlines() == ["sect:", "           0 Public", "           1 Catholic"]
    r = sh.session.r.scalars
    assert (r["k"], r["min"], r["max"]) == (2.0, 0.0, 1.0)
    assert sh.session.label_names == {"sector": "sect"}
    assert sh.session.value_label("sector", 1.0) == "Catholic"
    sh('label define sect 2 "Other", add')
    sh('label define sect 1 "RC" 0 "", modify')      # "" removes the label of 0
    assert sh.session.label_sets["sect"] == {1.0: "RC", 2.0: "Other"}
    sh('label define yn 0 no 1 yes')
    assert sh("label dir").splitlines() == ["sect", "yn"]
    assert sh.session.r.macros["names"] == "sect yn"
    sh("label drop yn")
    assert list(sh.session.label_sets) == ["sect"]
    sh("label values sector")                       # detach; the label stays defined
    assert sh.session.label_names == {} and "sect" in sh.session.label_sets


@pytest.mark.parametrize("line, message, rc", [
    ('label define sect 0 "x"', "label sect already defined", 110),
    ('label define sect 0 "x", add', "invalid attempt to modify label", 180),
    ('label define z 1.5 "x"', "may not label non-integers", 198),
    ("label list nosuch", "value label nosuch not found", 111),
    ("label drop nosuch", "value label nosuch not found", 111),
    ("label values schoolid sect", "may not label strings", 181),
    ("label values nosuchvar sect", "variable nosuchvar not found", 111),
    ("label frobnicate", "label frobnicate not supported", 199),
    ('label define sect 0 "x", nofix', "option nofix not allowed", 198),
])
def test_errors_leave_the_labels_as_they_were(sh, line, message, rc):
    sh("gen str4 schoolid = id")
    sh('label define sect 0 "Public" 1 "Catholic"')
    sh("label values sector sect")
    before = (dict(sh.session.label_sets), dict(sh.session.label_names))
    assert sh(line, rc=rc).splitlines() == [message, f"r({rc});"]
    assert (sh.session.label_sets, sh.session.label_names) == before


def test_tabulate_list_describe_and_by_show_labels(sh):
    sh('label define sect 0 "Public" 1 "Catholic"')
    sh("label values sector sect")
    tab = sh("tab sector").splitlines()
    assert tab[3:5] == ["     Public |      3,642       50.69       50.69",
                        "   Catholic |      3,543       49.31      100.00"]
    assert sh("tab sector, nolabel").splitlines()[3].startswith("          0 |      3,642")
    two = sh("tab minority sector").splitlines()
    assert two[2] == "  minority |    Public   Catholic |     Total"
    listing = sh("list id sector in 1/2").splitlines()
    assert listing[4] == "    1. | 1224   Public |"
    assert sh("list sector in 1, nolabel").splitlines()[4] == "    1. |      0 |"
    row = [ln for ln in sh("describe sector").splitlines() if ln.startswith("sector")][0]
    assert row.split()[:4] == ["sector", "long", "%12.0g", "sect"]
    headers = [ln for ln in sh("by sector, sort: count").splitlines() if ln.startswith("->")]
    assert headers == ["-> sector = Public", "-> sector = Catholic"]


def test_save_use_keeps_label_names_and_unattached_labels(sh, tmp_path):
    sh('label define sect 0 "Public" 1 "Catholic"')
    sh('label define spare 7 "seven"')
    sh("label values sector sect")
    sh("label values minority sect")
    sh("save labelled")
    sh("clear")
    assert sh.session.label_sets == {} and sh.session.label_names == {}
    sh("use labelled")
    assert sh.session.label_sets == {"sect": {0.0: "Public", 1.0: "Catholic"}, "spare": {7.0: "seven"}}
    assert sh.session.label_names == {"sector": "sect", "minority": "sect"}
    read = pd.read_stata(tmp_path / "labelled.dta", iterator=True)
    assert read.value_labels()["sect"] == {0: "Public", 1: "Catholic"}


def test_preserve_restore_rename_and_drop(sh):
    sh('label define sect 0 "Public" 1 "Catholic"')
    sh("label values sector sect")
    sh("preserve")
    sh("label drop _all")
    sh("drop sector")
    assert sh.session.label_names == {}
    sh("restore")
    assert sh.session.label_names == {"sector": "sect"} and "sect" in sh.session.label_sets
    sh("rename sector catholic")
    assert sh.session.label_names == {"catholic": "sect"}
    assert sh.session.value_label("catholic", 0) == "Public"
    np.testing.assert_array_equal(sh.session.data["catholic"].unique(), [0, 1])
