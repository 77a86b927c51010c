"""Finding, reading and writing data files the way Stata does.

``use hsb`` looks for ``hsb.dta``: first relative to the session's working directory (an explicit path
is taken as typed), then in the ``data/`` directory shipped next to the package, so the bundled HSB
files load from anywhere; they are read-only (nothing is ever written into that directory).
``.dta`` files are read with pandas: numeric storage is kept as stored (``float`` values are
promoted to float64 without rounding further), string variables stay strings, and the variable
labels, value labels and which variable carries which value label come back with the data
(:class:`~hlmshell.data.dataset.Dataset`).  pandas names a written value label after its variable; :class:`_LabelWriter`
writes Stata's own label names (and labels attached to no variable) instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

import hlmshell
from hlmshell.data.atomic import replacing
from hlmshell.data.dataset import Dataset
from hlmshell.errors import StataError
from hlmshell.lang.expr import MAX_DOUBLE
from hlmshell.lang.scan import unquote
from hlmshell.lang.varlist import RESERVED

BUNDLED = Path(hlmshell.__file__).resolve().parent.parent / "data"
NAME_MAX = 255                        # the longest file name (each part of a path), in bytes


def with_extension(name: str, ext: str) -> str:
    """``hsb`` → ``hsb.dta``; a name that already has an extension is kept as typed."""
    name = unquote(name)
    return name if Path(name).suffix else name + ext


def user_path(cwd: Path, name: str) -> Path:
    """``name`` as a path: ``~`` expanded when it can be, relative names taken from ``cwd``.

    A name the system cannot hold (a part over 255 bytes, a NUL) could not be opened, r(603).
    """
    path = Path(name)
    try:
        path = path.expanduser()
    except RuntimeError:        # ~nosuchuser, or no home directory: keep the name as typed
        pass
    path = path if path.is_absolute() else cwd / path
    if "\0" in name or any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
        raise StataError(f"file {name} could not be opened", 603)
    return path


def find_input(cwd: Path, name: str, ext: str = ".dta") -> tuple[Path, str]:
    """The file ``use name`` reads, and the name Stata shows for it; r(601) when there is none.

    A bare name (no directory part) falls back to the bundled ``data/`` directory.
    """
    shown = with_extension(name, ext)
    if not shown:
        raise StataError("invalid file specification", 198)
    path = user_path(cwd, shown)
    if path.is_file():
        return path, shown
    bundled = BUNDLED / shown
    if Path(shown).name == shown and bundled.is_file():
        return bundled, shown
    raise StataError(f"file {shown} not found", 601)


def output_path(cwd: Path, name: str, ext: str = ".dta") -> tuple[Path, str]:
    """Where ``save name`` writes, and the name Stata shows for it.

    A path into the bundled data directory is refused as Stata refuses a read-only file, r(608):
    ``use hsb`` then ``save, replace`` must not change the installed package.
    """
    shown = with_extension(name, ext)
    if not shown:
        raise StataError("invalid file specification", 198)
    path = user_path(cwd, shown)
    if is_bundled(path):
        raise StataError(f"file {shown} is read-only; cannot be modified or erased", 608)
    return path, shown


def is_bundled(path: Path) -> bool:
    """Whether ``path`` (once links and ``..`` are resolved) lies in the bundled data directory."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        resolved = path.absolute()
    return resolved == BUNDLED or BUNDLED in resolved.parents


# -- .dta ------------------------------------------------------------------------------------------
def read_dta(path: Path) -> Dataset:
    """Data, non-empty variable labels and value labels of a Stata file (values stay numbers).

    The file is untrusted: one that cannot be parsed, has no variables or two of one name is not
    Stata format (r(610)); one whose header claims more observations than it holds is corrupt
    (r(612)), found before any memory is asked for them.
    """
    not_stata = StataError(f"file {path.name} not Stata format", 610)
    try:
        with pd.io.stata.StataReader(path) as reader:
            _check_length(reader, path)
            data = reader.read(convert_categoricals=False, convert_missing=False)
            labels = {k: v for k, v in reader.variable_labels().items() if v}
            sets = {name: {float(k): str(v) for k, v in sorted(pairs.items())}
                    for name, pairs in reader.value_labels().items()}
            attached = {str(col): name for col, name in zip(data.columns, reader._lbllist) if name}
    except StataError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse a hostile file is "not Stata"
        raise not_stata from exc
    if not len(data.columns) or data.columns.duplicated().any():
        raise not_stata
    return Dataset(promote_floats(data), labels, sets, attached)


def _check_length(reader: pd.io.stata.StataReader, path: Path) -> None:
    """r(612) when the observations the header announces cannot be in the file."""
    reader._ensure_open()
    width = reader._setup_dtype().itemsize
    if reader._nobs * width > path.stat().st_size - reader._data_location:
        raise StataError(".dta file corrupt\n    The file unexpectedly ended before it should "
                         "have.", 612)


def promote_floats(data: pd.DataFrame) -> pd.DataFrame:
    """float32 columns as float64 holding exactly the stored values (Stata computes in double)."""
    out = data.copy()
    for col in out.columns:
        if out[col].dtype == np.float32:
            out[col] = out[col].astype(np.float64)
    return out


class _LabelWriter(pd.io.stata.StataWriterUTF8):
    """pandas' format-118 writer with Stata's value-label names: every label set is written under
    its own name, and each variable points to the set attached to it."""

    def __init__(self, path: Path, frame: pd.DataFrame, *, variable_labels: dict[str, str],
                 label_sets: dict[str, dict[float, str]], label_names: dict[str, str]) -> None:
        self._label_sets = label_sets
        self._label_names = label_names
        super().__init__(path, frame, write_index=False, version=118,
                         variable_labels=variable_labels,
                         value_labels={v: label_sets[n] for v, n in label_names.items()
                                       if n in label_sets} or None)

    def _write_value_label_names(self) -> None:
        self._update_map("value_label_names")
        names = b"".join(pd.io.stata._pad_bytes_new(
            self._label_names.get(var, "")[:32].encode(self._encoding), 129)
            for var in self.varlist)
        self._write_bytes(self._tag(names, "value_label_names"))

    def _write_value_labels(self) -> None:
        self._update_map("value_labels")
        body = b"".join(
            self._tag(pd.io.stata.StataNonCatValueLabel(name, pairs, self._encoding)
                      .generate_value_label(self._byteorder), "lbl")
            for name, pairs in self._label_sets.items())
        self._write_bytes(self._tag(body, "value_labels"))


def write_dta(data: pd.DataFrame, path: Path, labels: dict[str, str],
              label_sets: dict[str, dict[float, str]] | None = None,
              label_names: dict[str, str] | None = None, *, shown: str | None = None) -> None:
    """Write a Stata 14+ (format 118) file, keeping string columns as strings; the old file is
    replaced only once the new one is complete (:mod:`hlmshell.data.atomic`).

    Columns of single-precision values are written as ``float`` (lossless), as Stata would store them;
    numbers above Stata's largest double (8.988e307) are missing, as Stata holds them.
    """
    if not len(data.columns):
        raise StataError("no variables defined", 111)
    shown = shown or str(path)
    frame = data.copy()
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col].dtype):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), "").astype(str)
        elif pd.api.types.is_bool_dtype(frame[col].dtype):
            frame[col] = frame[col].astype(np.int8)
        elif storage_type(frame[col]) == "float":
            frame[col] = frame[col].astype(np.float32)
        elif pd.api.types.is_float_dtype(frame[col].dtype):
            frame[col] = frame[col].where(np.isfinite(frame[col]) & (frame[col] <= MAX_DOUBLE))
    kept = {k: v[:80] for k, v in labels.items() if k in frame.columns}
    attached = {k: v for k, v in (label_names or {}).items() if k in frame.columns}
    with replacing(path, shown) as handle:
        _LabelWriter(handle, frame, variable_labels=kept, label_sets=dict(label_sets or {}),
                     label_names=attached).write_file()


# -- delimited text -------------------------------------------------------------------------------
def read_delimited(path: Path, *, delimiter: str | None, header: bool,
                   asdouble: bool, case: str = "lower") -> tuple[Dataset, list[str]]:
    """A text file as Stata's ``import delimited`` stores it, and notes on the names it changed.

    Names are lower-cased (``case`` "preserve" or "upper" as Stata's ``case()``); a header that is
    no valid name, a reserved word (``_n``, ``in``, ``_cons``...) or a name an earlier column took
    (after lower-casing or truncation to 32 characters) names its column ``v#`` (# its position)
    and becomes its variable label.  Whole-number columns become integers (double beyond the long
    range); other numeric columns are stored as ``float`` (rounded to single precision, then held
    as float64) unless ``asdouble``; everything else is a string.  The file is parsed by pyarrow's
    CSV reader, which types the plainly numeric columns itself (blank and ``.`` fields are missing);
    Stata's rules are then applied to the parsed columns, and any other column is read again as text
    and typed from its text.
    """
    import pyarrow as pa
    from pyarrow import csv

    sep = _delimiter(path) if delimiter is None else delimiter
    try:
        first = _header_fields(path, sep)
        raw = [str(c) for c in first] if header else [f"v{k + 1}" for k in range(len(first))]
        columns = _unique(raw)
        read = csv.ReadOptions(column_names=columns, skip_rows=1 if header else 0,
                               block_size=1 << 24)
        parse = csv.ParseOptions(delimiter=sep)
        convert = csv.ConvertOptions(null_values=["", "."], strings_can_be_null=False)
        chunks = _column_chunks(path, read, parse, convert)
        text = [name for name in columns if not _plain_numbers(chunks[name])]
        if text:
            convert = csv.ConvertOptions(column_types={name: pa.string() for name in text},
                                         include_columns=text, strings_can_be_null=False)
            strings = csv.read_csv(path, read_options=read, parse_options=parse,
                                   convert_options=convert)
    except (OSError, pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise StataError(f"file {path.name} could not be read", 603) from exc
    names, labels, notes = _variable_names(raw, case) if header else (list(columns), {}, [])
    out = {}
    for name, col in zip(names, columns):
        if col in text:
            out[name] = _typed(pd.Series(strings.column(col).to_numpy(zero_copy_only=False),
                                         dtype=object), asdouble)
        else:       # column by column, each one's parsed blocks freed once stored
            out[name] = _stored_numbers(chunks.pop(col), asdouble)
            pa.default_memory_pool().release_unused()    # else the pool keeps the freed blocks
    return Dataset(pd.DataFrame(out, copy=False), labels), notes


def _column_chunks(path: Path, read, parse, convert) -> dict:
    """Each column as a pyarrow ChunkedArray of the reader's blocks.

    The streaming reader holds only the parsed blocks (the whole-file reader's buffers reach
    several times the data); it types every column from the first block, so a file whose later
    blocks do not fit those types is read again whole, where pyarrow types from all the rows."""
    import pyarrow as pa
    from pyarrow import csv

    try:
        reader = csv.open_csv(path, read_options=read, parse_options=parse,
                              convert_options=convert)
        names = reader.schema.names
        blocks: list[list] = [[] for _ in names]
        for batch in reader:
            for k, part in enumerate(blocks):
                part.append(batch.column(k))
        return {name: pa.chunked_array(part, type=reader.schema.field(k).type)
                for k, (name, part) in enumerate(zip(names, blocks))}
    except pa.ArrowInvalid:
        table = csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
        return {name: table.column(name) for name in table.column_names}


def _delimiter(path: Path) -> str:
    """The separator of the first line: a comma, tab, semicolon or bar as Python's csv sniffer finds
    it, else a comma (so a one-column file is one column)."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            line = handle.readline()
    except UnicodeDecodeError:
        return ","
    try:
        return csv.Sniffer().sniff(line, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _header_fields(path: Path, sep: str) -> list[str]:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle, delimiter=sep), [])


def _unique(names: list[str]) -> list[str]:
    """Repeated header names as pandas makes them unique (``a``, ``a.1``, ...)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            while f"{name}.{seen[name]}" in seen:
                seen[name] += 1
            out.append(f"{name}.{seen[name]}")
            seen.setdefault(out[-1], 0)
        else:
            seen[name] = 0
            out.append(name)
    return out


def _plain_numbers(column) -> bool:
    """Whether pyarrow read the column as numbers (and not all missing, and no literal nan): else
    it is typed from its text."""
    import pyarrow as pa
    from pyarrow import compute as pc

    kind = column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)) or column.null_count == len(column):
        return False
    return pa.types.is_integer(kind) or not pc.any(pc.is_nan(column)).as_py()


def _stored_numbers(column, asdouble: bool) -> np.ndarray:
    """:func:`_stored` for a column pyarrow parsed, checked and converted inside pyarrow so that
    only the stored array is made in numpy."""
    import pyarrow as pa
    from pyarrow import compute as pc

    missing = column.null_count > 0
    # chunk by chunk (an all-missing chunk's test is null): no whole-column temporaries
    whole = pa.types.is_integer(column.type) or all(
        pc.all(pc.equal(chunk, pc.round(chunk))).as_py() is not False for chunk in column.chunks)
    dtype = np.float64
    if whole:
        bounds = pc.min_max(column)
        small = smallest_int(np.array([bounds["min"].as_py(), bounds["max"].as_py()]))
        if small is not None and not missing:
            dtype = small
        if small is None:           # beyond the long range: double, as Stata stores them
            asdouble = True
    rounded = dtype == np.float64 and not asdouble
    out = np.empty(len(column), dtype=dtype)
    at = 0
    for chunk in column.chunks:     # block by block into the stored array
        if rounded:
            chunk = pc.cast(pc.cast(chunk, pa.float32(), safe=False), pa.float64())
        out[at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        at += len(chunk)
    return out


def _stored(values: np.ndarray, missing: bool, asdouble: bool) -> pd.Series:
    """Stata's storage for numbers: the smallest integer type when all are whole and none is
    missing, double for whole numbers beyond the long range, else float (single precision) or,
    with ``asdouble``, double."""
    finite = values[~np.isnan(values)]
    if np.all(finite == np.round(finite)):
        dtype = smallest_int(finite)
        if dtype is not None and not missing:
            return pd.Series(values.astype(dtype))
        asdouble = asdouble or dtype is None    # beyond the long range: double
    if asdouble:
        return pd.Series(values)
    return pd.Series(values.astype(np.float32).astype(np.float64))


def _variable_names(headers: list[str], case: str) -> tuple[list[str], dict[str, str], list[str]]:
    """Each column's name, the variable labels of the columns named ``v#``, and a note for each."""
    names: list[str] = []
    labels: dict[str, str] = {}
    notes: list[str] = []
    for k, header in enumerate(headers):
        name = {"lower": header.lower(), "upper": header.upper()}.get(case, header)
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip())[:32]
        why = ("not a valid name" if not name or name[0].isdigit()
               else "a reserved name" if name in RESERVED
               else f"name {name} already used" if name in names else None)
        if why is None:
            names.append(name)
            continue
        stub = f"v{k + 1}"
        name, n = stub, 1
        while name in names:
            n += 1
            name = f"{stub}_{n}"
        names.append(name)
        labels[name] = header[:80]
        notes.append(f"(column {k + 1}, {header}: {why}; named {name})")
    return names, labels, notes


def _typed(col: pd.Series, asdouble: bool) -> pd.Series:
    text = col.str.strip()
    blank = text.isin(["", "."])
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    if (numbers.notna() | blank).all() and numbers.notna().any():
        return _stored(numbers.to_numpy(dtype=np.float64), bool(blank.any()), asdouble)
    return pd.Series(col.to_numpy(dtype=object)).astype(str)


def smallest_int(values: np.ndarray) -> type | None:
    """Stata's smallest integer storage for whole numbers: byte, int or long (None: too large)."""
    lo, hi = values.min(), values.max()
    for dtype, (low, high) in ((np.int8, (-127, 100)), (np.int16, (-32767, 32740)),
                               (np.int32, (-2147483647, 2147483620))):
        if lo >= low and hi <= high:
            return dtype
    return None


def _single_precision(values: np.ndarray) -> bool:
    """Whether float64 values are all exactly float32 values (how ``float`` storage is held)."""
    finite = values[np.isfinite(values)]
    with np.errstate(over="ignore"):
        return bool(np.array_equal(finite.astype(np.float32).astype(np.float64), finite))


def storage_type(col: pd.Series) -> str:
    """Stata's storage type name for a column (``str#`` from the longest value).

    ``float`` variables are held as float64 columns of single-precision values, so a float64 column
    whose values all survive a round trip through float32 is reported as ``float``.
    """
    kind = col.dtype
    if pd.api.types.is_bool_dtype(kind) or kind == np.int8:
        return "byte"
    if kind == np.int16:
        return "int"
    if pd.api.types.is_integer_dtype(kind):
        return "long"
    if kind == np.float32:
        return "float"
    if pd.api.types.is_numeric_dtype(kind):
        return "float" if _single_precision(col.to_numpy(dtype=float)) else "double"
    longest = int(col.dropna().astype(str).str.len().max()) if col.notna().any() else 1
    return f"str{max(longest, 1)}" if longest <= 2045 else "strL"


def display_format(col: pd.Series) -> str:
    """Stata's default display format for a column's storage type."""
    kind = storage_type(col)
    if kind.startswith("str"):
        width = int(kind[3:]) if kind != "strL" else 9
        return f"%{max(width, 9)}s"
    return {"byte": "%8.0g", "int": "%8.0g", "long": "%12.0g", "float": "%9.0g"}.get(kind, "%10.0g")


def write_delimited(data: pd.DataFrame, path: Path, delimiter: str, *,
                    shown: str | None = None) -> None:
    """Text with every value's shortest exact form (``float`` values as their single-precision digits),
    replacing the old file only once complete."""
    frame = data.copy()
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col].dtype):
            single = storage_type(frame[col]) == "float"
            values = frame[col].to_numpy(dtype=np.float32 if single else np.float64)
            text = pd.Series(values.astype(str)).str.replace(r"\.0$", "", regex=True)
            frame[col] = text.where(~np.isnan(values), "").to_numpy()
    with replacing(path, shown or str(path), binary=False) as handle:
        frame.to_csv(handle, sep=delimiter, index=False, na_rep="")
