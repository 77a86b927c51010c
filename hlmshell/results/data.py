"""Results of the data commands (summarize, describe, list, correlate, merge, label, return list).

They hold numbers and names only; :mod:`hlmshell.render.data` lays them out as Stata does
(``return list`` uses :class:`hlmshell.results.postest.ResultsListing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np


@dataclass
class SummaryRow:
    """One variable of ``summarize``: ``n`` is 0 (and the rest NaN) for strings and empty variables."""

    name: str
    n: int
    mean: float = float("nan")
    sd: float = float("nan")
    min: float = float("nan")
    max: float = float("nan")


@dataclass
class SummaryTable:
    rows: list[SummaryRow]
    separator: int = 5


@dataclass
class SummaryDetail:
    """``summarize, detail`` for one variable (``n`` == 0: ``no observations``)."""

    title: str
    n: int
    sum_w: float = float("nan")
    mean: float = float("nan")
    sd: float = float("nan")
    var: float = float("nan")
    skewness: float = float("nan")
    kurtosis: float = float("nan")
    percentiles: dict[int, float] = field(default_factory=dict)   # 1 5 10 25 50 75 90 95 99
    smallest: list[float] = field(default_factory=list)           # four, NaN-padded
    largest: list[float] = field(default_factory=list)            # four, ascending, NaN-padded


@dataclass
class DescribeRow:
    name: str
    storage: str
    display: str
    value_label: str
    label: str


@dataclass
class DescribeTable:
    filename: str | None
    nobs: int
    nvars: int
    timestamp: datetime | None
    rows: list[DescribeRow]
    sortedby: list[str]
    short: bool = False                 # describe, short: the header and the sort order only


@dataclass
class ListColumn:
    """One column of ``list``: raw values (a value label's text for a labelled number) and the
    variable's display format (e.g. ``%9.0g``)."""

    name: str
    values: list[Any]
    fmt: str


@dataclass
class ListTable:
    obs: list[int]            # 1-based observation numbers
    columns: list[ListColumn]
    nobs: int = 0             # observations in the dataset (sets the width of the numbers)


@dataclass
class CorrelationTable:
    names: list[str]
    matrix: np.ndarray
    n: int
    covariance: bool = False


@dataclass
class MergeReport:
    from_master: int
    from_using: int
    matched: int
    mergevar: str | None = "_merge"   # None with nogenerate: no ``(_merge==#)`` notes


@dataclass(frozen=True)
class CountResult:
    """``count``: the number of observations."""

    count: int


@dataclass(frozen=True)
class ScalarList:
    """``scalar list``: name and value per scalar."""

    items: tuple[tuple[str, float | str], ...]


@dataclass(frozen=True)
class LabelListing:
    """``label list`` (each label's values and texts) or ``label dir`` (``names_only``)."""

    labels: tuple[tuple[str, tuple[tuple[float, str], ...]], ...]
    names_only: bool = False
