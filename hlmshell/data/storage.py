"""Stata storage types for new values: byte/int/long/float/double/str#.

Stata's default numeric type is ``float``: a generated value is rounded to single precision, so later
results (means, model fits) see exactly the numbers Stata sees.  Floats are kept as float64 columns
holding float32-representable values, so the rest of the code never meets a float32 dtype.
Integer types truncate toward zero and give missing outside their range; they are stored as integer
columns when no value is missing (float64 otherwise).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hlmshell.errors import StataError
from hlmshell.lang.expr import MAX_DOUBLE

NUMERIC_TYPES = ("byte", "int", "long", "float", "double")
_RANGES = {"byte": (-127, 100, np.int8), "int": (-32767, 32740, np.int16),
           "long": (-2147483647, 2147483620, np.int32)}
_STR = re.compile(r"^str(\d+|L)?$")


def is_type_word(word: str) -> bool:
    return word in NUMERIC_TYPES or bool(_STR.match(word))


def is_string_type(word: str) -> bool:
    return bool(_STR.match(word))


def numeric_series(values: np.ndarray, type_name: str = "float") -> pd.Series:
    """Numbers (NaN = missing) as a column of storage type ``type_name``."""
    values = np.asarray(values, dtype=float)
    if type_name == "double":
        with np.errstate(invalid="ignore"):
            return pd.Series(np.where(values > MAX_DOUBLE, np.nan, values))
    if type_name == "float":
        with np.errstate(over="ignore", invalid="ignore"):
            rounded = values.astype(np.float32).astype(np.float64)
        rounded[~np.isfinite(rounded)] = np.nan
        return pd.Series(rounded)
    lo, hi, dtype = _RANGES[type_name]
    with np.errstate(invalid="ignore"):
        out = np.trunc(values)
        out[(out < lo) | (out > hi)] = np.nan
    if np.isnan(out).any():
        return pd.Series(out)
    return pd.Series(out.astype(dtype))


def string_series(values: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=object))


def fits_integer_column(column: pd.Series, values: np.ndarray) -> bool:
    """Whether ``values`` can stay in ``column``'s integer dtype (no missing, integral, in range)."""
    if not pd.api.types.is_integer_dtype(column.dtype):
        return False
    if np.isnan(values).any() or (np.trunc(values) != values).any():
        return False
    info = np.iinfo(column.dtype)
    return bool(((values >= info.min) & (values <= info.max)).all())


def check_type(type_name: str) -> None:
    if not is_type_word(type_name):
        raise StataError(f"{type_name} invalid type", 198)
