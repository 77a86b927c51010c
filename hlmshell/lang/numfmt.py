"""Stata display formats (%W.0g, %W.Df, %W.Dfc, %W.De) as pure functions of a number.

Stata's %W.0g keeps one column for the sign, so |x| gets W-1 characters: fixed notation with as many
digits as fit, trailing zeros and a trailing point removed, and the leading 0 of |x| < 1 dropped
(``.4181073``).  It switches to ``d.dde±XX`` when the integer part does not fit, or when |x| < 1 would
show fewer than 3 significant positions (``4.80e-06``; ``.0000493`` stays fixed).
Missing values (None, NaN, ±inf) print as ``.``.
"""

from __future__ import annotations

import math
import re

from hlmshell.lang.limits import MAX_WIDTH

_FORMAT = re.compile(r"^%(-|~)?(0)?(\d+)\.(\d+)(g|f|e)(c)?$")


def is_missing(x: float | None) -> bool:
    return x is None or not math.isfinite(float(x))


def _e_body(ax: float, avail: int, decimals: int | None = None) -> str:
    """|x| in d.dde±XX form within ``avail`` characters (fewer mantissa digits for 3-digit exponents)."""
    d = max(avail - 6, 0) if decimals is None else decimals
    s = f"{ax:.{d}e}"
    while decimals is None and len(s) > avail and d > 0:
        d -= 1
        s = f"{ax:.{d}e}"
    return s


def _strip_zeros(s: str) -> str:
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _g_body(ax: float, avail: int) -> str:
    """|x| in Stata's %g style within ``avail`` characters."""
    if ax == 0:
        return "0"
    if ax < 1:
        s = f"{ax:.{avail - 1}f}"
        if not s.startswith("1"):
            frac = s[2:]
            leading = len(frac) - len(frac.lstrip("0"))
            if len(frac) - leading < 3 or leading == len(frac):
                return _e_body(ax, avail)
            return _strip_zeros(s[1:])
        # rounded up to 1: fall through to the |x| >= 1 branch
    int_digits = len(str(int(ax))) if ax >= 1 else 1
    if int_digits > avail:
        return _e_body(ax, avail)
    d = max(avail - int_digits - 1, 0)
    s = f"{ax:.{d}f}"
    while len(s) > avail and d > 0:  # rounding carried into a new integer digit
        d -= 1
        s = f"{ax:.{d}f}"
    if len(s) > avail:
        return _e_body(ax, avail)
    return _strip_zeros(s)


def fmt_g(x: float | None, width: int = 9) -> str:
    """Stata's %W.0g, right-justified to ``width``."""
    if is_missing(x):
        return ".".rjust(width)
    x = float(x)
    body = _g_body(abs(x), width - 1)
    return (("-" if x < 0 and body != "0" else "") + body).rjust(width)


def fmt_f(x: float | None, width: int, decimals: int) -> str:
    """Stata's %W.Df (keeps the leading 0: ``0.000``)."""
    if is_missing(x):
        return ".".rjust(width)
    s = f"{float(x):.{decimals}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s.rjust(width)


def fmt_fc(x: float | None, width: int, decimals: int = 0) -> str:
    """Stata's %W.Dfc: fixed with thousands separators (``7,185``)."""
    if is_missing(x):
        return ".".rjust(width)
    s = f"{float(x):,.{decimals}f}"
    if s.startswith("-") and float(s.replace(",", "")) == 0:
        s = s[1:]
    return s.rjust(width)


def fmt_e(x: float | None, width: int, decimals: int) -> str:
    """Stata's %W.De (``1.235e+08``)."""
    if is_missing(x):
        return ".".rjust(width)
    return f"{float(x):.{decimals}e}".rjust(width)


def _g_digits(x: float, width: int, digits: int) -> str:
    """%W.Dg with D > 0: at most D significant digits, otherwise as %W.0g."""
    ax = abs(x)
    if ax == 0:
        return "0"
    rounded = float(f"{ax:.{digits - 1}e}")
    exp10 = math.floor(math.log10(rounded))
    if exp10 >= digits or exp10 < -5:
        body = _strip_mantissa(f"{rounded:.{digits - 1}e}")
    else:
        body = _strip_zeros(f"{rounded:.{max(digits - 1 - exp10, 0)}f}")
        if body.startswith("0."):
            body = body[1:]
    return ("-" if x < 0 else "") + body


def _strip_mantissa(s: str) -> str:
    mant, exp = s.split("e")
    return _strip_zeros(mant) + "e" + exp


def _bounded(digits: str) -> int:
    """A format's width or decimals, at most :data:`MAX_WIDTH` (``%999999999.0f`` is invalid)."""
    if len(digits) > 4 or int(digits) > MAX_WIDTH:
        raise ValueError(f"format width {digits} too large")
    return int(digits)


def fmt_num(x: float | None, fmt: str) -> str:
    """Any Stata numeric format string: ``%9.0g``, ``%9.3f``, ``%10.0fc``, ``%-9.0g``, ``%8.2e``."""
    m = _FORMAT.match(fmt.strip())
    if not m:
        raise ValueError(f"invalid format {fmt!r}")
    just, _zero, w, d, kind, comma = m.groups()
    width, decimals = _bounded(w), _bounded(d)
    if kind == "g":
        if is_missing(x):
            s = "."
        elif decimals == 0:
            s = fmt_g(x, width).strip()
        else:
            s = _g_digits(float(x), width, decimals)
        if comma and not is_missing(x) and "e" not in s:
            head, _, tail = s.partition(".")
            sign = "-" if head.startswith("-") else ""
            head = head.lstrip("-")
            head = f"{int(head):,}" if head else head
            s = sign + head + ("." + tail if tail else "")
    elif kind == "f":
        s = (fmt_fc if comma else fmt_f)(x, 0, decimals)
    else:
        s = fmt_e(x, 0, decimals)
    if just == "-":
        return s.ljust(width)
    if just == "~":
        return s.center(width)
    return s.rjust(width)


def fmt_display(x: float | None) -> str:
    """What ``display <exp>`` prints for a number: %10.0g without the padding (``.17931188``)."""
    return fmt_g(x, 10).strip()


def fmt_matrix_entry(x: float | None) -> str:
    """``matrix list`` entries: %10.0g, right-justified in 10 (Stata separates columns by a space)."""
    return fmt_g(x, 10)


_STRING_FORMAT = re.compile(r"^%(-|~)?(\d*)s$")
_DATE_FORMAT = re.compile(r"^%(-)?(\d*)td$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def fmt_date(x: float | None) -> str:
    """Stata's ``%td``: days since 1 January 1960 as ``01jan1960``."""
    if is_missing(x):
        return "."
    import datetime as dt

    day = dt.date(1960, 1, 1) + dt.timedelta(days=math.floor(float(x)))
    return f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year}"


def fmt_value(value: float | str | None, fmt: str) -> str:
    """A number or string in a display format: numeric (:func:`fmt_num`), ``%td`` or ``%-12s``;
    ValueError when the format does not fit the value."""
    m = _STRING_FORMAT.match(fmt)
    if m:
        if not isinstance(value, str):
            raise ValueError(f"{fmt} is a string format")
        width = _bounded(m.group(2) or "0")
        return value.ljust(width) if m.group(1) == "-" else (
            value.center(width) if m.group(1) == "~" else value.rjust(width))
    if isinstance(value, str):
        raise ValueError(f"{fmt} is a numeric format")
    m = _DATE_FORMAT.match(fmt)
    if m:
        text, width = fmt_date(value), _bounded(m.group(2) or "0")
        return text.ljust(width) if m.group(1) else text.rjust(width)
    return fmt_num(value, fmt)
