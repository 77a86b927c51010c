"""The numbers of one box in a box plot, as ``graph box`` draws it.

The box spans the lower to the upper quartile with a line at the median; the whiskers end at the
adjacent values: the most extreme observations within 1.5 IQR of the nearer quartile; the
observations beyond them are the outside values, drawn as markers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.data.statistics import stata_percentile


@dataclass(frozen=True, eq=False)
class BoxSummary:
    lower_quartile: float
    median: float
    upper_quartile: float
    lower_adjacent: float
    upper_adjacent: float
    outside: np.ndarray


def box_summary(values: np.ndarray) -> BoxSummary:
    """The box of the (non-missing) ``values``, with summarize's quartiles."""
    x = np.sort(np.asarray(values, dtype=float))
    q1, median, q3 = (stata_percentile(x, p) for p in (25, 50, 75))
    reach = 1.5 * (q3 - q1)
    inside = x[(x >= q1 - reach) & (x <= q3 + reach)]
    lower = float(inside.min()) if len(inside) else q1
    upper = float(inside.max()) if len(inside) else q3
    outside = x[(x < lower) | (x > upper)]
    return BoxSummary(q1, median, q3, min(lower, q1), max(upper, q3), outside)
