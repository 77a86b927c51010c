"""No internal error and no unbounded work on any number a user types (issue 12, item 7).

Each case gets Stata's message and return code (hlmshell.lang.limits holds the bounds), in time
proportional to what was typed, and leaves the session as it was.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runner import runner


def _fails(run, line: str, rc: int, message: str | list[str], *, within: float = 2.0) -> None:
    data, e, r = run.session.data.copy(), run.session.e, run.session.r
    start = time.perf_counter()
    out = run(line, rc=rc)
    assert time.perf_counter() - start < within, line
    lines = [message] if isinstance(message, str) else message
    assert out.splitlines() == [*lines, f"r({rc});"]
    pd.testing.assert_frame_equal(run.session.data, data)
    assert run.session.e is e and run.session.r is r


@pytest.fixture
def run():
    return runner()


# -- expressions: Stata's 800 dyadic operators and 249 nested parentheses ----------------------
@pytest.mark.parametrize("text", ["-" * 600 + "1", "(" * 300 + "1" + ")" * 300, "!" * 1000 + "1",
                                  "+".join(["1"] * 1000), "abs(" * 400 + "1" + ")" * 400,
                                  "x[" * 300 + "1" + "]" * 300])
def test_too_long_expressions(run, text):
    _fails(run, f"di {text}", 130, "expression too long")


@pytest.mark.parametrize("text, value", [("-" * 249 + "1", "-1"), ("(" * 249 + "1" + ")" * 249, "1"),
                                         ("+".join(["1"] * 800), "800")])
def test_the_longest_expressions_stata_allows(run, text, value):
    assert run(f"di {text}") == f"{value}\n"


def test_the_longest_sum_in_generate(run):
    run("set obs 3")
    run("gen x = " + "+".join(["_n"] * 800))
    assert run.session.data["x"].tolist() == [800.0, 1600.0, 2400.0]


def test_display_of_many_items_takes_linear_time(run):
    start = time.perf_counter()
    out = run("di " + " ".join(["1+2"] * 5000))
    assert out == "3" * 5000 + "\n"
    assert time.perf_counter() - start < 5


# -- numbers where an integer is needed -----------------------------------------------------------
def test_an_infinite_or_huge_length(run):
    assert run('di substr("abc",1,1e309)') == "abc\n"       # 1e309 is missing: to the end
    assert run('di substr("abc",2,1e300)') == "bc\n"


def test_matrix_subscripts_beyond_any_integer(run):
    run("matrix b0 = (1,2)")
    for index in ("1e309", "1e300", ".", "-1e300"):
        _fails(run, f"di b0[1,{index}]", 503, "subscript invalid")


@pytest.mark.parametrize("line", ["matrix A = I(.)", "matrix A = J(.,2,0)", "matrix A = I(0)",
                                  "matrix A = J(2,-1,0)"])
def test_matrix_dimensions_that_are_missing(run, line):
    _fails(run, line, 504, "matrix has missing values or invalid dimension")


@pytest.mark.parametrize("line", ["matrix A = I(1e15)", "matrix A = I(100000)",
                                  "matrix A = J(65535,1,0)"])
def test_matrix_dimensions_beyond_statas(run, line):
    _fails(run, line, 908, "matsize too small")


def test_a_matrix_the_machine_cannot_hold(run, monkeypatch):
    from hlmshell.lang import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 1_000_000)
    _fails(run, "matrix A = I(1000)", 909, "op. sys. refuses to provide memory")
    assert "A" not in run.session.matrices


def test_string_repetition_beyond_a_strl(run):
    _fails(run, 'di "a"*1e300', 1000, "string too long")
    _fails(run, 'di "ab"*1e10', 1000, "string too long")
    assert run('di "ab"*3') == "ababab\n"
    assert run('di "a"*1e308') == "\n"            # 1e308 is beyond Stata's doubles: missing


@pytest.mark.parametrize("n", ["999999999999999999999", "1e10", "2147483621"])
def test_set_obs_beyond_statas_limit(run, n):
    _fails(run, f"set obs {n}", 901, "no room to add more observations")


def test_set_obs_the_machine_cannot_hold(run, monkeypatch):
    from hlmshell.lang import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 1_000_000)
    _fails(run, "set obs 1000000", 901, "no room to add more observations")
    assert run.session.nobs == 0


@pytest.mark.parametrize("n", ["inf", "nan", "2.5", "-1", "x"])
def test_set_obs_needs_a_count(run, n):
    _fails(run, f"set obs {n}", 198, "invalid syntax")


def test_set_obs_in_exponent_notation(run):
    run("set obs 1e3")
    assert run.session.nobs == 1000


@pytest.mark.parametrize("value", ["inf", "nan", ".", "1e300", "2.5"])
def test_integer_options_need_an_integer(value):
    run = runner()
    run("use hsb")
    _fails(run, f"mixed mathach ses || id:, iterate({value})", 198,
           "option iterate() incorrectly specified")


def test_a_memory_error_anywhere_is_statas_r909(run, monkeypatch):
    from hlmshell.commands.session import display

    def greedy(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(display, "display_text", greedy)
    run("set obs 2")
    _fails(run, "di 1", 909, "op. sys. refuses to provide memory")


# -- division by zero in test and lincom ----------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    run = runner()
    run("use hsb")
    run("quietly mixed mathach ses || id:")
    return run


@pytest.mark.parametrize("line", ["test _b[ses]=1/0", "lincom _cons/0", "lincom ses/0",
                                  "test ses/0 = 1", "lincom 1/0*ses", "lincom 1e309*ses"])
def test_division_by_zero_in_a_linear_combination(fitted, line):
    _fails(fitted, line, 198, "invalid syntax")


# -- display: widths and counts bounded -----------------------------------------------------------
@pytest.mark.parametrize("line", ["di %999999999.0f 1", "di %99999.0g 1", "di %9.99999f 1",
                                  'di %99999s "a"', "di %99999td 1"])
def test_formats_wider_than_any_string(run, line):
    _fails(run, line, 120, "invalid %format")


@pytest.mark.parametrize("directive", ["_n(1000000000)", '_col(1000000000) "x"',
                                       '_skip(1000000000) "x"', '_dup(1000000000) "x"',
                                       "_char(1000000000)"])
def test_display_directives_beyond_the_bound(run, directive):
    _fails(run, f"di {directive}", 198, "invalid syntax")


def test_display_directives_within_the_bound(run):
    assert run('di _dup(3) "ab"') == "ababab\n"
    assert run('di "a" _col(6) "b"') == "a    b\n"
    assert run("di %2045.0f 1") == " " * 2044 + "1\n"


# -- tabulate: Stata's table limits ---------------------------------------------------------------
def test_a_two_way_table_of_continuous_variables(fitted):
    _fails(fitted, "tab mathach ses", 134, "too many values", within=1.0)
    _fails(fitted, "tab sector ses", 134, "too many values", within=1.0)


def test_a_one_way_table_beyond_12000_rows():
    run = runner(data=pd.DataFrame({"x": np.arange(12_001.0)}))
    _fails(run, "tab x", 134, "too many values")


# -- hostile .dta files -----------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path) -> Path:
    pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}).to_stata(tmp_path / "ok.dta",
                                                              write_index=False, version=118)
    good = (tmp_path / "ok.dta").read_bytes()
    (tmp_path / "empty.dta").write_bytes(b"")
    (tmp_path / "garbage.dta").write_bytes(b"<stata_dta><header><release>118</release>" + b"\0" * 50)
    (tmp_path / "half.dta").write_bytes(good[:len(good) // 2])
    (tmp_path / "text.dta").write_text("id,x\n1,2\n")
    at = good.find(b"<N>") + 3
    (tmp_path / "huge.dta").write_bytes(good[:at] + struct.pack("<Q", 10**15) + good[at + 8:])
    at = good.find(b"<K>") + 3
    (tmp_path / "novars.dta").write_bytes(good[:at] + struct.pack("<H", 0) + good[at + 2:])
    at = good.find(b"<varnames>") + len(b"<varnames>") + 129
    (tmp_path / "twice.dta").write_bytes(good[:at] + b"x" + good[at + 1:])
    return tmp_path


@pytest.mark.parametrize("name", ["empty", "garbage", "text", "novars", "twice"])
def test_files_that_are_not_stata_format(files, name):
    run = runner(cwd=files)
    run("set obs 1")
    run("gen keep = 1")
    _fails(run, f"use {name}, clear", 610, f"file {name}.dta not Stata format")


@pytest.mark.parametrize("name", ["half", "huge"])
def test_files_that_claim_more_than_they_hold(files, name):
    run = runner(cwd=files)
    _fails(run, f"use {name}", 612, [".dta file corrupt",
                                     "    The file unexpectedly ended before it should have."])


def test_the_good_file_still_loads(files):
    run = runner(cwd=files)
    run("use ok")
    assert run.session.data["y"].tolist() == [3.0, 4.0]


# -- options that need a number in range ------------------------------------------------------------
@pytest.mark.parametrize("line, option", [
    ("mixed mathach ses || id:, level(nan)", "level"), ("lincom ses, level(nan)", "level"),
    ("nlcom _b[ses], df(nan)", "df"), ("estat ic, df(nan)", "df"),
    ("mixed mathach ses || id:, tolerance(inf)", "tolerance"),
    ("mixed mathach ses || id:, tolerance(1)", "tolerance"),
    ("mixed mathach ses || id:, tolerance(0)", "tolerance"),
    ("mixed mathach ses || id:, ltolerance(nan)", "ltolerance")])
def test_options_out_of_range(fitted, line, option):
    _fails(fitted, line, 198, f"option {option}() incorrectly specified")


def test_test_has_no_df_option(fitted):
    _fails(fitted, "test ses=0, df(nan)", 198, "option df() not allowed")


def test_a_crossed_effect_of_a_continuous_variable_takes_linear_time(fitted):
    start = time.perf_counter()
    fitted("quietly mixed mathach ses || _all: R.mathach")
    assert time.perf_counter() - start < 10
    assert fitted.session.e.scalars["N"] == 7185


# -- found by tests/test_fuzz.py --------------------------------------------------------------------
def test_unclosed_macro_quotes_take_linear_time(run):
    start = time.perf_counter()
    assert run('di "' + "m`" * 60 + '"') == "m`" * 60 + "\n"
    assert time.perf_counter() - start < 1
    run("local a 1")
    assert run('di "`x `a\' `b"') == "`x 1 `b\n"


@pytest.mark.parametrize("line", ['di round("a")', 'di round(1,"a")'])
def test_round_of_a_string(run, line):
    _fails(run, line, 109, "type mismatch")


def test_do_of_the_root_folder(run):
    _fails(run, "do /", 601, "file /.do not found")


def test_binomial_trials_that_are_infinite(fitted):
    _fails(fitted, "melogit minority ses || id:, binomial(1e309)", 198, "binomial(1e309) invalid")


def test_ereturn_post_of_a_string_sample_marker():
    run = runner(data=pd.DataFrame({"s": ["a", "b"]}))
    run("matrix b = (1)")
    _fails(run, "ereturn post b, esample(s)", 109, "type mismatch")


def test_estat_wcorrelation_with_a_string_group_variable():
    rng = np.random.default_rng(1)
    run = runner(data=pd.DataFrame({"id": np.repeat(["a", "b", "c", "d"], 3),
                                    "y": rng.normal(size=12), "x": rng.normal(size=12)}))
    run("quietly mixed y x || id:")
    out = run("estat wcorrelation")
    assert "id = a" in out
    _fails(run, "estat wcorrelation, at(id=1)", 109, "type mismatch")
