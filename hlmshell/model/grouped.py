"""One summary statistic of a group of values (``graph bar (stat) y, over(g)``)."""

from __future__ import annotations

import numpy as np

STATISTICS = ("mean", "median", "sum", "count", "min", "max", "sd")


def statistic(values: np.ndarray, stat: str) -> float:
    """mean, median (Stata's p50: the middle value, or the mean of the middle two), sum, count,
    min, max or sd (n − 1 divisor); NaN for an empty group (count: 0)."""
    v = np.asarray(values, dtype=float)
    if stat == "count":
        return float(len(v))
    if not len(v):
        return 0.0 if stat == "sum" else float("nan")
    if stat == "sd":
        return float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
    return float({"mean": np.mean, "median": np.median, "sum": np.sum, "min": np.min,
                  "max": np.max}[stat](v))
