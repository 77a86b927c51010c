"""Stata's expression language: operators, missing values, functions, stored results, by-groups."""

import math

import numpy as np
import pandas as pd
import pytest

from hlmshell.errors import StataError
from hlmshell.lang.expr import evaluate, evaluate_scalar, parse, row_mask
from hlmshell.shell.session import EResults, Results, Session, StataMatrix


@pytest.fixture
def s() -> Session:
    sess = Session()
    sess.set_data(pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0], "g": [1, 1, 2, 2],
                                "name": ["a", "", "bc", "d"]}), changed=False)
    return sess


def arr(v):
    return np.asarray(v, dtype=float)


def test_missing_compares_greater_than_numbers(s):
    np.testing.assert_array_equal(evaluate(s, "x > 2"), [0, 1, 1, 1])
    np.testing.assert_array_equal(evaluate(s, "x == ."), [0, 1, 0, 0])
    np.testing.assert_array_equal(evaluate(s, "x < ."), [1, 0, 1, 1])
    np.testing.assert_array_equal(evaluate(s, "x != 1"), [0, 1, 1, 1])
    np.testing.assert_array_equal(evaluate(s, "x ~= 1"), [0, 1, 1, 1])


def test_arithmetic_with_missing_is_missing(s):
    np.testing.assert_array_equal(evaluate(s, "x + 1"), [2, np.nan, 4, 5])
    assert math.isnan(evaluate(s, "1/0"))
    assert math.isnan(evaluate(s, "ln(-1)"))
    assert math.isnan(evaluate(s, ". + 2"))
    assert math.isnan(evaluate(s, ".a * 2"))


def test_logical_context_missing_is_true(s):
    np.testing.assert_array_equal(evaluate(s, "x & 1"), [1, 1, 1, 1])
    np.testing.assert_array_equal(evaluate(s, "!x"), [0, 0, 0, 0])
    np.testing.assert_array_equal(evaluate(s, "x > 2 | g == 1"), [1, 1, 1, 1])
    np.testing.assert_array_equal(evaluate(s, "x > 2 & !missing(x)"), [0, 0, 1, 1])


def test_precedence():
    sess = Session()
    assert evaluate(sess, "-2^2") == -4
    assert evaluate(sess, "2^3^2") == 64          # Stata's ^ is left associative
    assert evaluate(sess, "2^-1") == 0.5
    assert evaluate(sess, "1 + 2 * 3") == 7
    assert evaluate(sess, "(1 + 2) * 3") == 9
    assert evaluate(sess, "8 / 4 / 2") == 1
    assert evaluate(sess, "10 - 2 - 3") == 5
    assert evaluate(sess, "1 < 2 == 1") == 1
    assert evaluate(sess, "1 | 0 & 0") == 1
    assert evaluate(sess, "!0 + 1") == 2          # ! binds tightest in Stata


def test_functions():
    sess = Session()
    assert evaluate(sess, "exp(1)") == pytest.approx(math.e)
    assert evaluate(sess, "ln(100)") == pytest.approx(math.log(100))
    assert evaluate(sess, "log10(1000)") == pytest.approx(3)
    assert evaluate(sess, "sqrt(16) + abs(-2)") == 6
    assert evaluate(sess, "round(3.14159, .01)") == pytest.approx(3.14)
    assert evaluate(sess, "round(2.5)") == 3
    assert evaluate(sess, "floor(-1.5) + ceil(1.2) + int(-2.7)") == -2 + 2 - 2
    assert evaluate(sess, "min(3, ., 1)") == 1
    assert evaluate(sess, "max(3, ., 1)") == 3
    assert evaluate(sess, "cond(1 > 2, 10, 20)") == 20
    assert evaluate(sess, "cond(., 10, 20, 30)") == 30
    assert evaluate(sess, "inlist(3, 1, 2, 3)") == 1
    assert evaluate(sess, "inrange(5, 1, .)") == 1
    assert evaluate(sess, "mod(7, 3)") == 1
    assert evaluate(sess, "normal(1.959964)") == pytest.approx(0.975, abs=1e-7)
    assert evaluate(sess, "invnormal(.975)") == pytest.approx(1.959963985)
    assert evaluate(sess, "normalden(0)") == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert evaluate(sess, "chi2tail(1, 3.841459)") == pytest.approx(0.05, abs=1e-7)
    assert evaluate(sess, "ttail(10, 2.228139)") == pytest.approx(0.025, abs=1e-7)
    assert evaluate(sess, "invttail(10, .025)") == pytest.approx(2.228139, abs=1e-6)
    assert evaluate(sess, "invlogit(logit(.3))") == pytest.approx(0.3)
    assert evaluate(sess, "_pi") == pytest.approx(math.pi)


def test_strings(s):
    assert list(evaluate(s, 'name + "z"')) == ["az", "z", "bcz", "dz"]
    np.testing.assert_array_equal(evaluate(s, 'name == "a"'), [1, 0, 0, 0])
    np.testing.assert_array_equal(evaluate(s, "missing(name)"), [0, 1, 0, 0])
    np.testing.assert_array_equal(evaluate(s, "strlen(name)"), [1, 0, 2, 1])
    assert evaluate(s, 'substr("hello", 2, 3)') == "ell"
    assert evaluate(s, 'substr("hello", -3, .)') == "llo"
    assert evaluate(s, 'upper(trim("  ab "))') == "AB"
    assert evaluate(s, 'real("2.5") * 2') == 5
    assert evaluate(s, 'string(1/3)') == ".3333333"
    assert evaluate(s, '"abc" < "abd"') == 1


def test_observation_numbers_and_subscripts(s):
    np.testing.assert_array_equal(evaluate(s, "_n"), [1, 2, 3, 4])
    np.testing.assert_array_equal(evaluate(s, "_N"), [4, 4, 4, 4])
    np.testing.assert_array_equal(evaluate(s, "x[_n-1]"), [np.nan, 1, np.nan, 3])
    np.testing.assert_array_equal(evaluate(s, "x[_N]"), [4, 4, 4, 4])
    np.testing.assert_array_equal(evaluate(s, "sum(x)"), [1, 1, 4, 8])
    groups = np.array([1, 1, 2, 2])
    np.testing.assert_array_equal(evaluate(s, "_n", groups=groups), [1, 2, 1, 2])
    np.testing.assert_array_equal(evaluate(s, "_N", groups=groups), [2, 2, 2, 2])
    np.testing.assert_array_equal(evaluate(s, "x[_n-1]", groups=groups), [np.nan, 1, np.nan, 3])
    np.testing.assert_array_equal(evaluate(s, "sum(x)", groups=groups), [1, 1, 3, 7])
    np.testing.assert_array_equal(evaluate(s, "x[1]", groups=groups), [1, 1, 3, 3])


def test_rows_subset_and_scalar_display(s):
    np.testing.assert_array_equal(evaluate(s, "x * 2", rows=np.array([True, False, True, False])),
                                  [2, 6])
    assert evaluate_scalar(s, "x * 10") == 10          # first observation, as display does
    assert evaluate_scalar(s, "_N") == 4
    assert evaluate_scalar(s, "name") == "a"


def test_row_mask(s):
    np.testing.assert_array_equal(row_mask(s, "x > 2", None), [False, True, True, True])
    np.testing.assert_array_equal(row_mask(s, None, "2/3"), [False, True, True, False])
    np.testing.assert_array_equal(row_mask(s, None, "-2/l"), [False, False, True, True])
    np.testing.assert_array_equal(row_mask(s, None, "f/2"), [True, True, False, False])
    np.testing.assert_array_equal(row_mask(s, None, "3"), [False, False, True, False])
    np.testing.assert_array_equal(row_mask(s, "x < .", "1/3"), [True, False, True, False])
    for bad in ("0/2", "3/9", "a/b", "3/2"):
        with pytest.raises(StataError) as err:
            row_mask(s, None, bad)
        assert err.value.rc == 198


def test_stored_results_and_matrices(s):
    b = StataMatrix(np.array([[12.63697, np.log(2.92465), np.log(6.256862)]]), ["y1"],
                    ["mathach:_cons", "lns1_1_1:_cons", "lnsig_e:_cons"])
    V = StataMatrix(np.diag([0.0594, 0.0025, 0.0001]), b.colnames, b.colnames)
    s.e = EResults(scalars={"ll": -23557.905, "N": 7185.0}, macros={"cmd": "mixed"},
                   matrices={"b": b, "V": V})
    s.r = Results(scalars={"mean": 12.5})
    s.matrices = {"base": b}
    assert evaluate(s, "exp(e(b)[1,2])^2") == pytest.approx(2.92465 ** 2)
    assert evaluate(s, "exp(base[1,3])") == pytest.approx(6.256862)
    assert evaluate(s, 'base[1,"lnsig_e:_cons"]') == pytest.approx(np.log(6.256862))
    assert evaluate(s, "el(base, 1, 1)") == pytest.approx(12.63697)
    assert evaluate(s, "colsof(base) + rowsof(base)") == 4
    assert evaluate(s, "e(ll)") == -23557.905
    assert evaluate(s, "e(cmd)") == "mixed"
    assert math.isnan(evaluate(s, "e(nosuch)"))
    assert evaluate(s, "r(mean)") == 12.5
    assert evaluate(s, "_b[_cons]") == pytest.approx(12.63697)
    assert evaluate(s, "_b[mathach:_cons]") == pytest.approx(12.63697)
    assert evaluate(s, "[lnsig_e]_cons") == pytest.approx(np.log(6.256862))
    assert evaluate(s, "_se[_cons]") == pytest.approx(math.sqrt(0.0594))
    s.scalars = {"k": 3.0}
    assert evaluate(s, "k * 2") == 6
    assert evaluate(s, "scalar(k)") == 3


def test_errors(s):
    cases = {"x +": 198, "(1": 198, "1)": 198, "x x": 198, "": 198, "nosuch + 1": 111,
             "nosuch(1)": 133, 'name + 1': 109, '"a" * "b"': 109, "base[1,1]": 111,
             "e(b)[1,1]": 111}
    for text, rc in cases.items():
        with pytest.raises(StataError) as err:
            evaluate(s, text)
        assert err.value.rc == rc, text


def test_variable_abbreviation(s):
    s.set_data(pd.DataFrame({"mathach": [1.0, 2.0], "meanses": [0.5, 0.5]}))
    np.testing.assert_array_equal(evaluate(s, "math + 1"), [2, 3])
    with pytest.raises(StataError) as err:
        evaluate(s, "m")
    assert err.value.rc == 111 and err.value.message == "m ambiguous abbreviation"


def test_parse_is_not_python_eval():
    with pytest.raises(StataError) as err:
        parse("__import__('os')")
    assert err.value.rc == 198 and err.value.message == "invalid syntax"
