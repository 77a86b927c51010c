"""Stata number formats against the numbers printed in the reference log and public Stata logs."""

from __future__ import annotations

import math

import pytest

from hlmshell.lang.numfmt import (
    fmt_display,
    fmt_e,
    fmt_f,
    fmt_fc,
    fmt_g,
    fmt_matrix_entry,
    fmt_num,
)


# %9.0g: coefficient/SE/CI and variance-component cells of the reference log (value, printed text)
@pytest.mark.parametrize("x, text", [
    (12.637070, "12.63707"), (.24361782, ".2436178"), (12.159594, "12.15959"), (13.114553, "13.11455"),
    (8.55352, "8.55352"), (1.0686421, "1.068642"), (6.6957504, "6.69575"), (10.926743, "10.92674"),
    (39.148387, "39.14839"), (.66064688, ".6606469"), (.1793119, ".1793119"), (.0185938, ".0185938"),
    (.14570904, ".145709"), (2.1642702, "2.16427"),
    (-.15586541, "-.1558654"), (-.73527492, "-.7352749"), (.0070099, ".0070099"),
    (-.89076153, "-.8907615"), (11.4742, "11.4742"), (3.75385, "3.75385"), (.073949, ".073949"),
    (.0000493, ".0000493"), (.0002895, ".0002895"), (3.25e-66, "3.25e-66"), (2.58e+58, "2.58e+58"),
    (6.89e-09, "6.89e-09"), (2393.1134, "2393.113"), (4.8e-06, "4.80e-06"), (1.04e-09, "1.04e-09"),
    (12345678, "12345678"), (123456789, "1.23e+08"), (1.0, "1"), (0.0, "0"), (-0.0, "0"),
])
def test_g9(x: float, text: str) -> None:
    assert fmt_g(x) == text.rjust(9)
    assert fmt_num(x, "%9.0g") == text.rjust(9)


# %10.0g: log likelihoods (header, iteration log), matrix list, display
@pytest.mark.parametrize("x, text", [
    (-23557.90510815813, "-23557.905"), (-14260.945, "-14260.945"), (-14209.620, "-14209.62"),
    (1430.50167, "1430.5017"), (-686.726764, "-686.72676"),
    (1.07317138, "1.0731714"), (1.83367972, "1.8336797"), (2.39149942, "2.3914994"),
    (12.6576231, "12.657623"), (.776806017, ".77680602"), (1.80586128, "1.8058613"),
    (12.6370703, "12.63707"),
    (8.55351972, "8.5535197"), (.179311879, ".17931188"), (.447184431, ".44718443"),
    (.0541173104, ".05411731"), (.230774803, ".2307748"), ((0.42 - 0.07) / 0.42, ".83333333"),
])
def test_g10(x: float, text: str) -> None:
    assert fmt_g(x, 10) == text.rjust(10)
    assert fmt_matrix_entry(x) == text.rjust(10)
    assert fmt_display(x) == text


def test_g_rounding_carries_into_new_digit() -> None:
    assert fmt_g(.99999999) == "        1"
    assert fmt_g(9.99999999) == "       10"
    assert fmt_g(99999999.7) == " 1.00e+08"


@pytest.mark.parametrize("x", [None, math.nan, math.inf])
def test_missing(x: float | None) -> None:
    assert fmt_g(x) == "        ."
    assert fmt_f(x, 6, 4) == "     ."
    assert fmt_fc(x, 10) == "         ."
    assert fmt_num(x, "%9.3f") == "        ."


def test_fixed_formats() -> None:
    assert fmt_f(51.87222, 9, 2) == "    51.87"        # z, %8.2f with its separating blank
    assert fmt_f(-6.1012, 9, 2) == "    -6.10"
    assert fmt_f(0.0, 8, 3) == "   0.000"             # P>|z| %5.3f keeps the leading 0
    assert fmt_f(-0.00001, 6, 4) == "0.0000"        # no negative zero
    assert fmt_f(0.1035, 6, 4) == "0.1035"
    assert fmt_num(.5, "%9.3f") == "    0.500"


def test_comma_formats() -> None:
    assert fmt_fc(7185, 10) == "     7,185"
    assert fmt_fc(44.90625, 10, 1) == "      44.9"
    assert fmt_fc(160, 10) == "       160"
    assert fmt_fc(336824, 10) == "   336,824"
    assert fmt_num(7185, "%10.0fc") == "     7,185"
    assert fmt_num(1234567.891, "%12.2fc") == "1,234,567.89"


def test_e_format() -> None:
    assert fmt_e(123456789, 10, 3) == " 1.235e+08"
    assert fmt_num(0.001, "%8.2e") == "1.00e-03"


def test_fmt_num_justification_and_errors() -> None:
    assert fmt_num(12.5, "%-9.0g") == "12.5     "
    assert fmt_num(0.123456, "%9.2g") == "      .12"
    assert fmt_num(1234567, "%12.0gc") == "   1,234,567"
    with pytest.raises(ValueError):
        fmt_num(1.0, "%9.0x")
