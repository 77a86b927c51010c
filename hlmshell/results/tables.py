"""Results of the table commands: tabulate (one- and two-way), tabstat and table.

Values are numbers (NaN for missing) or strings, with the text each is shown as already chosen
(the value label, or the number); :mod:`hlmshell.render.tabulate` and :mod:`hlmshell.render.summaries`
lay them out as Stata does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class OneWayTable:
    """``tabulate x``: the distinct values (float, NaN for missing, or str), their texts, counts."""

    title: str
    values: tuple[Any, ...]
    texts: tuple[str, ...]
    freqs: tuple[int, ...]
    label_width: int = 0        # the longest label of the variable's value labels, used or not


@dataclass(frozen=True)
class TableTests:
    """The statistics under a two-way table (None: not asked for)."""

    pearson: tuple[float, int, float] | None = None      # chi2, df, p
    lr: tuple[float, int, float] | None = None
    cramers_v: float | None = None
    fisher: float | None = None
    fisher_one_sided: float | None = None                 # 2 x 2 tables only


@dataclass(frozen=True)
class TwoWayTable:
    """``tabulate r c``: counts[i, j] for row value i and column value j.

    ``cells`` says what each cell shows, in Stata's order: ``freq``, ``row``, ``col``, ``cell``
    (percentages of the row, column and table totals).
    """

    row_title: str
    col_title: str
    row_texts: tuple[str, ...]
    col_texts: tuple[str, ...]
    counts: np.ndarray
    cells: tuple[str, ...] = ("freq",)
    key: bool = False
    tests: TableTests | None = None


@dataclass(frozen=True)
class TabstatGroup:
    """One block of tabstat: the group's label ("Total" for the total) and its statistics,
    values[stat][variable]."""

    label: str
    values: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Tabstat:
    """``tabstat``: statistics (rows or columns) of variables, by group."""

    variables: tuple[str, ...]
    stats: tuple[str, ...]               # Stata's names as shown (Mean, SD, p50...)
    groups: tuple[TabstatGroup, ...]
    formats: tuple[str, ...]             # one display format per variable
    by: str | None = None
    by_label: str = ""
    by_width: int = 8
    columns: str = "variables"           # or "statistics"
    stub: bool = True                    # the Stats/Variable column (no by, or longstub)
    separator: bool = True


@dataclass(frozen=True)
class SummaryTableColumn:
    """One column of ``table``: its header lines and its cells by row (row totals last)."""

    headers: tuple[str, ...]
    cells: tuple[str, ...]


@dataclass(frozen=True)
class StatTable:
    """Stata 17's ``table``: a stub (the row variable's label, then its levels and Total) and the
    columns (one per statistic, or one per column level with a spanning title)."""

    stub_title: str
    stub: tuple[str, ...]
    columns: tuple[SummaryTableColumn, ...]
    span: str = ""                       # two-way: the column variable's label over its columns
