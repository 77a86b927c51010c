"""Result of ``estat wcorrelation``: a cluster's marginal standard deviations and correlations
(or covariances), in a display format."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WCorrelation:
    """``cluster`` is the text after ``for`` (``id = 1224``); ``matrix`` is square, row-major."""

    cluster: str
    sd: tuple[float, ...]
    matrix: tuple[tuple[float, ...], ...]
    covariance: bool = False
    fmt: str = "%6.3f"
