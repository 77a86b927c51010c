"""Normal probability plots (``qnorm`` and ``pnorm``) from sorted data.

With N values in ascending order, P_i = i/(N + 1); ``qnorm`` plots x_(i) against the normal quantile
mean + sd·Φ⁻¹(P_i), ``pnorm`` plots Φ((x_(i) − mean)/sd) against P_i (sd with the n − 1 divisor).
"""

from __future__ import annotations

import numpy as np

from hlmshell.inference.distributions import normal_cdf, normal_ppf


def plotting_positions(n: int) -> np.ndarray:
    return np.arange(1, n + 1) / (n + 1)


def normal_quantiles(sorted_x: np.ndarray) -> np.ndarray:
    """The x-axis of ``qnorm``: the normal quantiles matching the sorted values."""
    sd = float(np.std(sorted_x, ddof=1)) if len(sorted_x) > 1 else 0.0
    return normal_ppf(plotting_positions(len(sorted_x))) * sd + float(np.mean(sorted_x))


def normal_probabilities(sorted_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pnorm``'s (normal probabilities, empirical probabilities) of the sorted values."""
    sd = float(np.std(sorted_x, ddof=1)) if len(sorted_x) > 1 else float("nan")
    z = (sorted_x - float(np.mean(sorted_x))) / sd
    return normal_cdf(z), plotting_positions(len(sorted_x))
