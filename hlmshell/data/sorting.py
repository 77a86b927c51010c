"""Sorting and by-groups as Stata does them: missing sorts after every number, sorts are stable.

Each key column becomes integer codes (rank of the value among the column's distinct values); missing
numbers get a code above every value, so ``np.lexsort`` on the codes gives Stata's order.  Strings
sort by byte order with ``""`` first (Stata's string missing is the empty string).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlmshell.lang.expr import column_values


def sort_codes(data: pd.DataFrame, name: str, *, descending: bool = False,
               missing_first: bool = False) -> np.ndarray:
    """Integer codes whose ascending order is the Stata sort order of column ``name``."""
    values = column_values(data, name)
    if values.dtype == object:
        _, codes = np.unique(values.astype(str), return_inverse=True)
        codes = codes.astype(np.int64)
        return -codes if descending else codes
    missing = np.isnan(values)
    codes = np.zeros(len(values), dtype=np.int64)
    if (~missing).any():
        _, inverse = np.unique(values[~missing], return_inverse=True)
        inverse = inverse.astype(np.int64)
        codes[~missing] = -inverse if descending else inverse
    if missing.any():
        extreme = (codes.min() - 1) if missing_first else (codes.max() + 1)
        codes[missing] = extreme
    return codes


def sort_order(data: pd.DataFrame, keys: list[str], *, descending: list[bool] | None = None,
               missing_first: bool = False) -> np.ndarray:
    """Row positions that sort ``data`` by ``keys`` (stable: ties keep their current order)."""
    if not keys or len(data) == 0:
        return np.arange(len(data))
    descending = descending or [False] * len(keys)
    cols = [sort_codes(data, k, descending=d, missing_first=missing_first and d)
            for k, d in zip(keys, descending)]
    return np.lexsort(cols[::-1])


def is_sorted(data: pd.DataFrame, keys: list[str]) -> bool:
    """True when consecutive observations never decrease in the Stata order of ``keys``."""
    if len(data) < 2 or not keys:
        return True
    undecided = np.ones(len(data) - 1, dtype=bool)
    bad = np.zeros(len(data) - 1, dtype=bool)
    for key in keys:
        codes = sort_codes(data, key)
        diff = codes[1:] - codes[:-1]
        bad |= undecided & (diff < 0)
        undecided &= diff == 0
    return not bad.any()


def group_ids(data: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """1, 2, ... numbering runs of equal ``keys`` values in the current order (groups contiguous)."""
    n = len(data)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for key in keys:
        codes = sort_codes(data, key)
        change[1:] |= codes[1:] != codes[:-1]
    return np.cumsum(change)


def sorted_frame(data: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return data.iloc[sort_order(data, keys)].reset_index(drop=True)
