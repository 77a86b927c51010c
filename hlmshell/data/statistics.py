"""Stata's summary statistics of one variable: the definitions summarize, egen, collapse, tabstat,
table and xtile share.

Every function takes the values of one group (a float array, NaN = missing) and ignores missing
values unless its name says otherwise (``first``/``last`` are the first and last values as they
are).  Percentiles follow summarize and ``_pctile``: with P = n p / 100, the mean of the P-th and
(P+1)-th order statistics when P is a whole number, else the ceil(P)-th.  ``altdef`` (xtile,
pctile) interpolates at (n + 1) p / 100.  The variance and standard deviation have n - 1 in the
denominator; skewness and kurtosis are summarize's moment ratios (population moments).
"""

from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np

Stat = Callable[[np.ndarray], float]
NAN = float("nan")


def stata_percentile(sorted_x: np.ndarray, p: float) -> float:
    """Stata's default (summarize/_pctile) percentile of sorted values.

    With P = n p / 100: the mean of x[P] and x[P+1] when P is a whole number, else x[ceil(P)]
    (1-based), clamped to the data.
    """
    n = len(sorted_x)
    if n == 0:
        return NAN
    pos = n * p / 100.0
    whole = np.isclose(pos, round(pos), rtol=0, atol=1e-9)
    if whole:
        i = int(round(pos))
        if i <= 0:
            return float(sorted_x[0])
        if i >= n:
            return float(sorted_x[-1])
        return float((sorted_x[i - 1] + sorted_x[i]) / 2)
    i = int(np.ceil(pos))
    return float(sorted_x[min(max(i, 1), n) - 1])


def altdef_percentile(sorted_x: np.ndarray, p: float) -> float:
    """``altdef``: interpolation at (n + 1) p / 100, clamped to the smallest and largest values."""
    n = len(sorted_x)
    if n == 0:
        return NAN
    pos = (n + 1) * p / 100.0
    i = int(math.floor(pos))
    h = pos - i
    if i < 1:
        return float(sorted_x[0])
    if i >= n:
        return float(sorted_x[-1])
    return float((1 - h) * sorted_x[i - 1] + h * sorted_x[i])


def present(x: np.ndarray) -> np.ndarray:
    return x[~np.isnan(x)]


def mean(x: np.ndarray) -> float:
    x = present(x)
    return float(x.mean()) if x.size else NAN


def variance(x: np.ndarray) -> float:
    x = present(x)
    return float(x.var(ddof=1)) if x.size > 1 else NAN


def sd(x: np.ndarray) -> float:
    return math.sqrt(variance(x)) if not math.isnan(variance(x)) else NAN


def total(x: np.ndarray) -> float:
    """The sum of the nonmissing values (0 when there are none)."""
    return float(present(x).sum())


def count(x: np.ndarray) -> float:
    return float((~np.isnan(x)).sum())


def minimum(x: np.ndarray) -> float:
    x = present(x)
    return float(x.min()) if x.size else NAN


def maximum(x: np.ndarray) -> float:
    x = present(x)
    return float(x.max()) if x.size else NAN


def pctile(p: float) -> Stat:
    return lambda x: stata_percentile(np.sort(present(x)), p)


def iqr(x: np.ndarray) -> float:
    s = np.sort(present(x))
    return stata_percentile(s, 75) - stata_percentile(s, 25) if s.size else NAN


def semean(x: np.ndarray) -> float:
    n = count(x)
    return sd(x) / math.sqrt(n) if n > 1 else NAN


def sebinomial(x: np.ndarray) -> float:
    """sqrt(p(1 - p)/n) for 0/1 values (missing when a value is not 0 or 1)."""
    x = present(x)
    if not x.size or np.any((x != 0) & (x != 1)):
        return NAN
    p = float(x.mean())
    return math.sqrt(p * (1 - p) / x.size)


def sepoisson(x: np.ndarray) -> float:
    """sqrt(mean/n) for counts (missing when a value is negative)."""
    x = present(x)
    if not x.size or np.any(x < 0):
        return NAN
    return math.sqrt(float(x.mean()) / x.size)


def value_range(x: np.ndarray) -> float:
    return maximum(x) - minimum(x)


def cv(x: np.ndarray) -> float:
    m = mean(x)
    return sd(x) / m if m else NAN


def moments(x: np.ndarray) -> tuple[float, float]:
    """(skewness, kurtosis) as summarize, detail computes them."""
    x = present(x)
    if not x.size:
        return NAN, NAN
    dev = x - x.mean()
    m2 = float(np.mean(dev**2))
    if m2 <= 0:
        return NAN, NAN
    return float(np.mean(dev**3)) / m2**1.5, float(np.mean(dev**4)) / m2**2


def first(x: np.ndarray) -> float:
    return float(x[0]) if x.size else NAN


def last(x: np.ndarray) -> float:
    return float(x[-1]) if x.size else NAN


def first_nonmissing(x: np.ndarray) -> float:
    return first(present(x))


def last_nonmissing(x: np.ndarray) -> float:
    return last(present(x))


_NAMED: dict[str, Stat] = {
    "mean": mean, "sd": sd, "variance": variance, "sum": total, "count": count, "min": minimum,
    "max": maximum, "median": pctile(50), "iqr": iqr, "semean": semean, "sebinomial": sebinomial,
    "sepoisson": sepoisson, "range": value_range, "cv": cv, "first": first, "last": last,
    "firstnm": first_nonmissing, "lastnm": last_nonmissing,
    "skewness": lambda x: moments(x)[0], "kurtosis": lambda x: moments(x)[1],
}
_PERCENTILE = re.compile(r"p(\d{1,2})$")


def statistic(name: str) -> Stat | None:
    """The statistic Stata calls ``name`` (``p1``...``p99`` included), None if there is none."""
    m = _PERCENTILE.match(name)
    if m:
        p = int(m.group(1))
        return pctile(p) if 1 <= p <= 99 else None
    return _NAMED.get(name)


def by_group(values: np.ndarray, groups: np.ndarray, n_groups: int, stat: Stat) -> np.ndarray:
    """``stat`` of ``values`` within each group 0..n_groups-1 (rows kept in their order)."""
    out = np.full(n_groups, NAN)
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for chunk in np.split(order, bounds):
        if chunk.size:
            out[groups[chunk[0]]] = stat(values[chunk])
    return out
