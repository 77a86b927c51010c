"""Pointwise confidence bands: estimate ± t(df) × se (``lfitci``), or normal-based without df."""

from __future__ import annotations

import numpy as np

from hlmshell.inference.distributions import normal_ppf, t_ppf


def confidence_band(estimate: np.ndarray, se: np.ndarray, level: float,
                    df: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) at confidence ``level`` (percent); t quantiles when ``df`` is given."""
    p = 1 - (100 - level) / 200
    crit = float(normal_ppf(p) if df is None else t_ppf(p, df))
    return estimate - crit * se, estimate + crit * se


def scaled_interval(estimate: np.ndarray, se: np.ndarray,
                    scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(estimate − scale·se, estimate + scale·se): ``serrbar``'s bars."""
    return estimate - scale * se, estimate + scale * se
