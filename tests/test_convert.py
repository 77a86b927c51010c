"""encode/decode and destring/tostring: values, storage types, labels and Stata's messages."""

import numpy as np
import pandas as pd
import pytest
from runner import runner


@pytest.fixture
def exam():
    run = runner()
    run("import delimited exam.csv")
    return run


def test_encode_numbers_sorted_strings_and_labels_them(exam):
    exam("encode schgend, gen(sg)")
    d = exam.session.data
    codes = {s: k + 1.0 for k, s in enumerate(sorted(d["schgend"].unique()))}
    np.testing.assert_array_equal(d["sg"], d["schgend"].map(codes))
    assert d["sg"].dtype == np.int32                       # long
    assert exam.session.label_sets["sg"] == {1.0: "boys", 2.0: "girls", 3.0: "mixed"}
    assert exam.session.label_names["sg"] == "sg"
    exam("decode sg, gen(back)")
    assert (exam.session.data["back"] == d["schgend"]).all()
    exam("mixed normexam i.sg || school:")                  # a string factor now goes into i.
    assert exam.session.e.matrices["b"].colnames[:3] == ["normexam:1b.sg", "normexam:2.sg",
                                                         "normexam:3.sg"]


def test_encode_with_an_existing_label_and_if(exam):
    exam('label define gender 3 "mixed" 1 "boys"')
    exam('encode schgend if school < 10, gen(g) label(gender)')
    d = exam.session.data
    shown = d.loc[d["school"] < 10, "schgend"].unique()
    assert set(exam.session.label_sets["gender"].values()) == {"mixed", "boys", *shown}
    girls = [v for v, t in exam.session.label_sets["gender"].items() if t == "girls"]
    assert girls in ([], [4.0])                              # new strings numbered after 3
    assert d.loc[d["school"] >= 10, "g"].isna().all()
    exam('label define only 1 "boys"')
    out = exam("encode schgend, gen(h) label(only) noextend", rc=459)
    assert out.splitlines()[0] == "there are values of schgend not present in label only"
    assert "h" not in exam.session.variables


@pytest.mark.parametrize("line, message, rc", [
    ("encode normexam, gen(x)", "not possible with numeric variable", 107),
    ("encode schgend", "option generate() required", 198),
    ("encode schgend, gen(school)", "variable school already defined", 110),
    ("decode schgend, gen(x)", "not possible with string variable", 108),
    ("decode school, gen(x)", "school not labeled", 182),
])
def test_errors(exam, line, message, rc):
    before = list(exam.session.variables)
    assert exam(line, rc=rc).splitlines() == [message, f"r({rc});"]
    assert exam.session.variables == before


def test_destring_and_tostring():
    run = runner(data=pd.DataFrame({"a": ["1", "2", "", "40"], "b": ["1.5", "x", "3", "."],
                                    "c": ["10%", "25%", "5%", ""]}))
    out = run("destring a b, replace")
    assert out.splitlines() == ["a: all characters numeric; replaced as byte",
                                "b: contains nonnumeric characters; no replace"]
    np.testing.assert_array_equal(run.session.data["a"], [1, 2, np.nan, 40])
    assert run.session.is_string("b")
    out = run("destring b, gen(b2) force")
    assert out.splitlines() == ["b: contains nonnumeric characters; generated as double",
                                "(1 missing value generated)"]
    np.testing.assert_array_equal(run.session.data["b2"], [1.5, np.nan, 3, np.nan])
    assert run.session.variables == ["a", "b", "b2", "c"]     # next to its source
    run("destring c, replace percent")
    np.testing.assert_allclose(run.session.data["c"], [0.10, 0.25, 0.05, np.nan])
    out = run("destring a, replace")
    assert out.splitlines() == ["a: already numeric; no replace"]
    out = run("tostring a, replace")
    assert out.splitlines() == ["a was float now str2"]     # 1, 2, ., 40 held as float
    assert list(run.session.data["a"]) == ["1", "2", "", "40"]
    run("gen third = 1/3")
    assert run("tostring third, gen(t3)").splitlines() == [
        "third cannot be converted reversibly; no generate"]
    assert run("tostring third, gen(t3) format(%5.2f) force").splitlines() == [
        "t3 generated as str4"]
    assert set(run.session.data["t3"]) == {"0.33"}
    assert run("destring a", rc=198).splitlines() == [
        "must specify either generate or replace option", "r(198);"]
