"""Tests of independence in a two-way table of counts: Pearson's and the likelihood-ratio chi2,
Cramér's V and Fisher's exact test, as ``tabulate twoway`` reports them.

Fisher's exact p-value is the probability, under independence with both margins fixed, of the
tables no more probable than the one observed (a relative tolerance of 1e-7 counts ties).  It is
found by the network algorithm of Mehta and Patel: columns are filled one at a time; for each state
(the row sums still to place, sorted) the largest and smallest attainable log weight of the rest is
known exactly (memoised), so whole subtrees are counted in closed form, via
Σ Π 1/x_ij! = n! / (Π r_i! Π c_j!), or skipped; paths that reach a state with the same past weight
are merged.  For 2 x 2 tables the one-sided p-value is the
hypergeometric tail in the direction of the observed (1,1) cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hlmshell.inference.distributions import chi2_sf
from hlmshell.model.errors import ModelError

RELATIVE_TIES = 1e-7
MAX_PATHS = 20_000_000     # open paths in one stage before the test is refused as too large


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    df: int
    p: float


def _expected(counts: np.ndarray) -> np.ndarray:
    n = counts.sum()
    return np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n


def pearson(counts: np.ndarray) -> ChiSquare:
    counts = np.asarray(counts, dtype=float)
    e = _expected(counts)
    df = (counts.shape[0] - 1) * (counts.shape[1] - 1)
    stat = float(((counts - e) ** 2 / e).sum())
    return ChiSquare(stat, df, float(chi2_sf(stat, df)) if df else math.nan)


def likelihood_ratio(counts: np.ndarray) -> ChiSquare:
    counts = np.asarray(counts, dtype=float)
    e = _expected(counts)
    hit = counts > 0
    stat = float(2 * (counts[hit] * np.log(counts[hit] / e[hit])).sum())
    df = (counts.shape[0] - 1) * (counts.shape[1] - 1)
    return ChiSquare(stat, df, float(chi2_sf(stat, df)) if df else math.nan)


def cramers_v(counts: np.ndarray) -> float:
    """Signed (ad - bc)/sqrt(r1 r2 c1 c2) for 2 x 2 tables; sqrt(chi2 / (n min(r-1, c-1))) else."""
    counts = np.asarray(counts, dtype=float)
    if counts.shape == (2, 2):
        (a, b), (c, d) = counts
        rows, cols = counts.sum(axis=1), counts.sum(axis=0)
        return float((a * d - b * c) / math.sqrt(rows.prod() * cols.prod()))
    k = min(counts.shape) - 1
    return math.sqrt(pearson(counts).statistic / (counts.sum() * k))


def _log_weight(x: int) -> float:
    return -math.lgamma(x + 1)


def _fillings(total: int, rows: tuple[int, ...]):
    """Every way to put ``total`` into cells bounded by ``rows`` (one column of the table)."""
    if len(rows) == 1:
        if total <= rows[0]:
            yield (total,)
        return
    rest = sum(rows[1:])
    for x in range(max(0, total - rest), min(total, rows[0]) + 1):
        for tail in _fillings(total - x, rows[1:]):
            yield (x, *tail)


class _Network:
    """Fisher's exact p-value of an r x c table (see the module docstring)."""

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape[0] > counts.shape[1]:
            counts = counts.T                       # fewer rows: smaller states
        self.cols = tuple(int(c) for c in sorted(counts.sum(axis=0), reverse=True))
        self.rows = tuple(sorted(int(r) for r in counts.sum(axis=1)))
        self.observed = float(sum(_log_weight(int(x)) for x in counts.ravel()))
        n = int(counts.sum())
        self.log_const = (sum(math.lgamma(r + 1) for r in self.rows)
                          + sum(math.lgamma(c + 1) for c in self.cols) - math.lgamma(n + 1))
        self.bounds = lru_cache(maxsize=None)(self._bounds)

    def _bounds(self, j: int, rows: tuple[int, ...]) -> tuple[float, float, float]:
        """(smallest, largest, log of the sum of exp) of the log weight of columns j.. given the
        row sums still to place."""
        if j == len(self.cols):
            return 0.0, 0.0, 0.0
        lo, hi = math.inf, -math.inf
        for fill in _fillings(self.cols[j], rows):
            w = sum(_log_weight(x) for x in fill)
            nxt = tuple(sorted(r - x for r, x in zip(rows, fill)))
            a, b, _ = self.bounds(j + 1, nxt)
            lo, hi = min(lo, w + a), max(hi, w + b)
        rest = sum(self.cols[j:])
        log_total = (math.lgamma(rest + 1) - sum(math.lgamma(r + 1) for r in rows)
                     - sum(math.lgamma(c + 1) for c in self.cols[j:]))
        return lo, hi, log_total

    def p_value(self) -> float:
        """Stage by stage: the paths reaching a state are kept as arrays of past weights and
        multiplicities (equal weights, to 1e-11, merged), then counted whole, dropped, or extended by one
        column."""
        limit = self.observed + RELATIVE_TIES * max(1.0, abs(self.observed))
        total = 0.0
        stage: dict[tuple[int, ...], list[tuple[np.ndarray, np.ndarray]]] = {
            self.rows: [(np.zeros(1), np.ones(1))]}
        for j in range(len(self.cols) + 1):
            following: dict[tuple[int, ...], list[tuple[np.ndarray, np.ndarray]]] = {}
            for rows, parts in stage.items():
                w, count = _merged(parts)
                lo, hi, log_total = self.bounds(j, rows)
                done = w + hi <= limit
                total += float((count[done] * np.exp(self.log_const + w[done] + log_total)).sum())
                keep = ~done & (w + lo <= limit)
                if not keep.any():
                    continue
                w, count = w[keep], count[keep]
                for fill in _fillings(self.cols[j], rows):
                    step = sum(_log_weight(x) for x in fill)
                    nxt = tuple(sorted(r - x for r, x in zip(rows, fill)))
                    following.setdefault(nxt, []).append((w + step, count))
            if sum(len(w) for parts in following.values() for w, _ in parts) > MAX_PATHS:
                raise ModelError("exact_too_large")
            stage = following
        return min(total, 1.0)


def _merged(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The paths of several parents as one set, equal past weights (to 1e-11) merged."""
    w = np.concatenate([a for a, _ in parts])
    count = np.concatenate([b for _, b in parts])
    _, first, inverse = np.unique(np.round(w, 11), return_index=True, return_inverse=True)
    return w[first], np.bincount(inverse, weights=count)


def fisher_exact(counts: np.ndarray) -> float:
    """Two-sided Fisher's exact p-value."""
    return _Network(counts).p_value()


def fisher_one_sided(counts: np.ndarray) -> float:
    """One-sided p-value of a 2 x 2 table: the tail beyond the observed (1,1) cell."""
    counts = np.asarray(counts, dtype=np.int64)
    (a, b), (c, d) = counts
    r1, c1, n = a + b, a + c, int(counts.sum())
    lo, hi = max(0, r1 + c1 - n), min(r1, c1)

    def log_p(x: int) -> float:
        return (math.lgamma(r1 + 1) + math.lgamma(n - r1 + 1) + math.lgamma(c1 + 1)
                + math.lgamma(n - c1 + 1) - math.lgamma(n + 1) - math.lgamma(x + 1)
                - math.lgamma(r1 - x + 1) - math.lgamma(c1 - x + 1) - math.lgamma(n - r1 - c1 + x + 1))

    expected = r1 * c1 / n
    tail = range(a, hi + 1) if a >= expected else range(lo, a + 1)
    return min(1.0, sum(math.exp(log_p(x)) for x in tail))
