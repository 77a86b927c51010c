"""Distribution shapes as Stata draws them: histogram bins, kernel densities, the normal density.

:func:`histogram_bins` follows ``twoway__histogram_gen``: without ``bin()`` or ``width()`` the number of
bins is int(min(√N, 10 log10 N)), the bins start at the minimum and have width (max − min)/bins; an
observation falls in bin floor((x − start)/width), the maximum in the last bin.  ``discrete`` gives
each value its own bin, of width the smallest gap between distinct values, centred on the value.
Kernel densities follow ``kdensity``: the Epanechnikov kernel 3/(4√5)(1 − z²/5) on |z| < √5 by
default, bandwidth 0.9 min(sd, IQR/1.349) / N^(1/5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from hlmshell.data import statistics


@dataclass(frozen=True, eq=False)
class HistogramBins:
    start: float            # lower limit of the first bin (Stata's r(min))
    width: float
    count: int              # number of bins
    centres: np.ndarray     # of the bins that hold observations, ascending
    frequencies: np.ndarray
    n: int

    @property
    def upper(self) -> float:
        """The upper limit of the last bin (Stata's r(max))."""
        return self.start + self.width * self.count

    def heights(self, kind: str) -> np.ndarray:
        """density (area 1), fraction, frequency or percent."""
        scale = {"density": 1 / (self.n * self.width), "fraction": 1 / self.n,
                 "frequency": 1.0, "percent": 100 / self.n}[kind]
        return self.frequencies * scale

    def area(self, kind: str) -> float:
        """The bars' total area (a density overlay is scaled by it)."""
        return {"density": 1.0, "fraction": self.width, "frequency": self.n * self.width,
                "percent": 100 * self.width}[kind]


def default_bin_count(n: int) -> int:
    return max(1, int(min(math.sqrt(n), 10 * math.log10(n))))


def histogram_bins(x: np.ndarray, *, bins: int | None = None, width: float | None = None,
                   start: float | None = None, discrete: bool = False) -> HistogramBins:
    x = np.asarray(x, dtype=float)
    n = len(x)
    lo, hi = float(x.min()), float(x.max())
    if lo == hi and width is None:
        width = 1.0
    first = lo if start is None else start
    if not discrete:
        lo = first
        if width is None:
            count = bins or default_bin_count(n)
            h = (hi - lo) / count
        else:
            h = width
            count = max(1, math.ceil((hi - lo) / h))
    else:
        if width is None:
            gaps = np.diff(np.unique(x))
            h = float(gaps.min()) if len(gaps) else 1.0
        else:
            h = width
        lo = lo - h / 2
        count = int((hi - lo) / h + 0.5)
    index = np.floor((x - lo) / h)
    index = np.clip(index, 0, count - 1)
    used, freq = np.unique(index, return_counts=True)
    return HistogramBins(lo, h, count, lo + h / 2 + h * used, freq.astype(float), n)


def _epanechnikov(z: np.ndarray) -> np.ndarray:
    return np.where(np.abs(z) < math.sqrt(5), 0.75 * (1 - z * z / 5) / math.sqrt(5), 0.0)


def _parzen(z: np.ndarray) -> np.ndarray:
    a = np.abs(z)
    return np.where(a <= 0.5, 4 / 3 - 8 * a ** 2 + 8 * a ** 3,
                    np.where(a <= 1, 8 * (1 - a) ** 3 / 3, 0.0))


KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "epanechnikov": _epanechnikov,
    "epan2": lambda z: np.where(np.abs(z) < 1, 0.75 * (1 - z * z), 0.0),
    "biweight": lambda z: np.where(np.abs(z) < 1, 15 / 16 * (1 - z * z) ** 2, 0.0),
    "cosine": lambda z: np.where(np.abs(z) < 0.5, 1 + np.cos(2 * math.pi * z), 0.0),
    "gaussian": lambda z: np.exp(-z * z / 2) / math.sqrt(2 * math.pi),
    "parzen": _parzen,
    "rectangle": lambda z: np.where(np.abs(z) < 1, 0.5, 0.0),
    "triangle": lambda z: np.where(np.abs(z) < 1, 1 - np.abs(z), 0.0),
}


def default_bandwidth(x: np.ndarray) -> float:
    """0.9 m / N^(1/5) with m = min(sd, IQR/1.349), or sd when that minimum is not positive
    (summarize's quartiles and sd)."""
    ordered = np.sort(np.asarray(x, dtype=float))
    sd = statistics.sd(ordered) if len(ordered) > 1 else 0.0
    iqr = statistics.stata_percentile(ordered, 75) - statistics.stata_percentile(ordered, 25)
    m = min(sd, iqr / 1.349)
    if m <= 0:
        m = sd
    return 0.9 * m / len(ordered) ** 0.2


def density_grid(x: np.ndarray, bandwidth: float, points: int) -> np.ndarray:
    """``points`` evenly spaced from min − h to max + h (kdensity's default evaluation points)."""
    lo, hi = float(np.min(x)), float(np.max(x))
    delta = (hi - lo + 2 * bandwidth) / (points - 1)
    return lo - bandwidth + np.arange(points) * delta


def kernel_density(x: np.ndarray, at: np.ndarray, bandwidth: float,
                   kernel: str = "epanechnikov") -> np.ndarray:
    """(1 / N h) Σ K((at − x_i) / h) at each point of ``at`` (in blocks: N × points may be large)."""
    x = np.asarray(x, dtype=float)
    at = np.asarray(at, dtype=float)
    K = KERNELS[kernel]
    out = np.empty(len(at))
    step = max(1, 2_000_000 // max(len(x), 1))
    for i in range(0, len(at), step):
        z = (at[i:i + step, None] - x[None, :]) / bandwidth
        out[i:i + step] = K(z).sum(axis=1)
    return out / (len(x) * bandwidth)


def normal_density(x: np.ndarray, mean: float, sd: float) -> np.ndarray:
    z = (np.asarray(x, dtype=float) - mean) / sd
    return np.exp(-z * z / 2) / (sd * math.sqrt(2 * math.pi))


def fitted_normal_density(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The normal density with the data's mean and sd (n − 1 divisor), at ``at`` (zero when the
    data do not vary)."""
    sd = float(np.std(data, ddof=1)) if len(data) > 1 else 0.0
    if sd <= 0:
        return np.zeros(len(at))
    return normal_density(at, float(np.mean(data)), sd)
