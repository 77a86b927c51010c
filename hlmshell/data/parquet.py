"""Parquet files through pyarrow: ``use``/``save file.parquet``, ``import``/``export parquet``, and the
row groups that ``mixed ... using file.parquet`` streams over.

What a ``.dta`` file keeps is kept: the storage types (byte, int, long as int8/16/32, float as
float32 — read back as the float64 that holds it exactly, as from a ``.dta`` — double, strings), the
variable labels, the value labels and which variable has which, as JSON in the file's schema
metadata under ``hlmshell``.  Parquet files written elsewhere are typed by Stata's rules: integers in
the smallest type that holds them (double beyond long), booleans as byte, dictionary-encoded columns
by their values, anything else (dates, timestamps, decimals) as its text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hlmshell.data.atomic import replacing
from hlmshell.data.dataset import Dataset
from hlmshell.data.files import promote_floats, smallest_int, storage_type
from hlmshell.errors import StataError

if TYPE_CHECKING:
    import pyarrow as pa

METADATA_KEY = b"hlmshell"


def _not_parquet(path: Path, exc: Exception) -> StataError:
    return StataError(f"file {path.name} not Parquet format", 610)


def parquet_columns(path: Path) -> list[str]:
    """The variable names of a Parquet file, from its footer."""
    import pyarrow as pa
    from pyarrow import parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, pa.ArrowInvalid) as exc:
        raise _not_parquet(path, exc) from exc


def read_parquet(path: Path, columns: list[str] | None = None) -> Dataset:
    """The data and labels of a Parquet file (only ``columns``, when given)."""
    import pyarrow as pa
    from pyarrow import parquet as pq

    try:
        table = pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowInvalid) as exc:
        raise _not_parquet(path, exc) from exc
    meta = _metadata(table.schema)
    data = pd.DataFrame({name: _column(table.column(name)) for name in table.column_names})
    names = set(data.columns)
    return Dataset(promote_floats(data),
                   {k: v for k, v in meta.get("variable_labels", {}).items() if k in names},
                   {name: {float(k): v for k, v in pairs.items()}
                    for name, pairs in meta.get("value_labels", {}).items()},
                   {k: v for k, v in meta.get("label_names", {}).items() if k in names})


def _metadata(schema: pa.Schema) -> dict:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def _column(column: pa.ChunkedArray) -> np.ndarray | pd.Series:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_boolean(kind):
        return column.cast(pa.int8()).to_numpy(zero_copy_only=False).astype(np.float64) \
            if column.null_count else column.cast(pa.int8()).to_numpy(zero_copy_only=False)
    if pa.types.is_integer(kind):
        values = column.to_numpy(zero_copy_only=False)
        if column.null_count or not len(values):
            return values.astype(np.float64)
        dtype = smallest_int(values) if kind.bit_width > 8 else np.int8
        return values.astype(dtype if dtype is not None else np.float64)
    if pa.types.is_floating(kind):
        return column.to_numpy(zero_copy_only=False)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = column.cast(pa.string())
    return pd.Series(column.to_numpy(zero_copy_only=False), dtype=object).fillna("").astype(str)


def write_parquet(data: pd.DataFrame, path: Path, var_labels: dict[str, str],
                  label_sets: dict[str, dict[float, str]], label_names: dict[str, str], *,
                  shown: str) -> None:
    """Write the data with their Stata storage types and labels (see the module docstring)."""
    import pyarrow as pa
    from pyarrow import parquet as pq

    if not len(data.columns):
        raise StataError("no variables defined", 111)
    arrays = {}
    for name in data.columns:
        col = data[name]
        kind = storage_type(col)
        if kind.startswith("str"):
            arrays[name] = pa.array(col.astype(object).where(col.notna(), "").astype(str).tolist(),
                                    type=pa.string())
        elif kind == "float":
            arrays[name] = pa.array(col.to_numpy(dtype=np.float32), type=pa.float32())
        else:
            arrays[name] = pa.array(col.to_numpy())
    names = set(data.columns)
    meta = {"variable_labels": {k: v for k, v in var_labels.items() if k in names},
            "value_labels": {name: {repr(float(k)): v for k, v in pairs.items()}
                             for name, pairs in label_sets.items()},
            "label_names": {k: v for k, v in label_names.items() if k in names}}
    table = pa.table(arrays).replace_schema_metadata({METADATA_KEY: json.dumps(meta)})
    with replacing(path, shown) as handle:     # the old file stays if the write fails
        pq.write_table(table, handle, row_group_size=1 << 20)


def row_groups(path: Path, columns: list[str]) -> Iterator[pd.DataFrame]:
    """The file's row groups one at a time (only ``columns``), as ``use`` would type them."""
    import pyarrow as pa
    from pyarrow import parquet as pq

    try:
        handle = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise _not_parquet(path, exc) from exc
    for k in range(handle.num_row_groups):
        table = handle.read_row_group(k, columns=columns)
        yield promote_floats(pd.DataFrame({name: _column(table.column(name))
                                           for name in table.column_names}))
