"""generate and replace: create or change a variable from an expression, with by/if/in."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def plural(n: int, word: str) -> str:
    """``1 missing value`` / ``5 missing values`` with Stata's thousands separators."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def full_values(session: Session, exp: str, groups: np.ndarray | None,
                mask: np.ndarray | None = None) -> np.ndarray:
    """The expression at the observations in ``mask`` (all by default), missing elsewhere.

    Only the selected observations are evaluated, so a running ``sum()`` accumulates over them alone,
    as when Stata's generate evaluates ``exp`` observation by observation under ``if``.
    """
    from hlmshell.lang.expr import evaluate

    value = evaluate(session, exp, rows=mask, groups=groups)
    is_str = isinstance(value, str) or (isinstance(value, np.ndarray) and value.dtype == object)
    out = np.full(session.nobs, "" if is_str else np.nan, dtype=object if is_str else float)
    if mask is None:
        out[:] = value
    else:
        out[mask] = value
    return out


def insert_column(data: pd.DataFrame, name: str, column: pd.Series, *, before: str | None = None,
                  after: str | None = None) -> pd.DataFrame:
    """A new frame with ``column`` added at the end (or before/after another variable)."""
    new = data.copy()
    new[name] = column.to_numpy() if len(column) == len(new) else column
    if before or after:
        cols = [c for c in new.columns if c != name]
        k = cols.index(before) if before else cols.index(after) + 1  # type: ignore[arg-type]
        cols.insert(k, name)
        new = new[cols]
    return new


def by_ids(args: Args) -> np.ndarray | None:
    """The by-group of each observation under a ``by`` prefix (None without one)."""
    return None if args.by is None else args.by.ids


@command("Generate", "newvarname =exp [if] [in] [, before(varname) after(varname)]",
         byable="onecall")
def generate(session: Session, args: Args) -> Text | None:
    """Create a new variable."""
    from hlmshell.data import storage
    from hlmshell.lang.expr import is_string_value, row_mask

    if args.before and args.after:
        raise StataError("options before() and after() may not be combined", 198)
    name, type_name = args.newvars[0], args.storage_type
    groups = by_ids(args)
    mask = row_mask(session, args.if_, args.in_, groups=groups)
    values = full_values(session, args.exp, groups, mask)
    is_str = is_string_value(values)
    if type_name is not None and storage.is_string_type(type_name) != is_str:
        raise StataError("type mismatch", 109)
    if is_str:
        column = storage.string_series(np.where(mask, values, "").astype(object))
        missing = int((column == "").sum())
    else:
        column = storage.numeric_series(np.where(mask, values, np.nan), type_name or "float")
        missing = int(column.isna().sum())
    new = insert_column(session.data, name, column, before=args.before, after=args.after)
    session.set_data(new)
    if missing:
        return Text(f"({plural(missing, 'missing value')} generated)")
    return None


@command("replace", "varname =exp [if] [in] [, NOPromote]", byable="onecall")
def replace(session: Session, args: Args) -> Text:
    """Change the values of an existing variable."""
    from hlmshell.lang.expr import is_string_value, row_mask

    name = args.varname
    groups = by_ids(args)
    mask = row_mask(session, args.if_, args.in_, groups=groups)
    values = full_values(session, args.exp, groups, mask)
    old_col = session.data[name]
    if is_string_value(values) != session.is_string(name):
        raise StataError("type mismatch", 109)
    new = session.data.copy()
    if session.is_string(name):
        old = np.array(["" if v is None or v != v else str(v) for v in old_col], dtype=object)
        updated = np.where(mask, values, old).astype(object)
        if args.nopromote:
            updated = _fit_strings(old_col, updated)
        changed = int((updated != old).sum())
        to_missing = int(((updated == "") & (old != "") & mask).sum())
        new[name] = updated
    else:
        old = old_col.to_numpy(dtype=float, na_value=np.nan)
        updated = np.where(mask, values, old)
        new[name] = _stored_numbers(old_col, updated, args.nopromote)
        updated = new[name].to_numpy(dtype=float, na_value=np.nan)
        same = (updated == old) | (np.isnan(updated) & np.isnan(old))
        changed = int((~same).sum())
        to_missing = int((np.isnan(updated) & ~np.isnan(old)).sum())
    if changed:
        session.set_data(new)
    noun = "real change" if changed == 1 else "real changes"
    tail = f", {to_missing:,} to missing" if to_missing else ""
    return Text(f"({changed:,} {noun} made{tail})")


def _stored_numbers(column: pd.Series, values: np.ndarray, nopromote: bool) -> np.ndarray:
    """The new values as the column keeps them.

    By default an integer column stays integer while the values fit and is promoted otherwise;
    with ``nopromote`` the values are stored in the column's type as it is (integers truncated,
    missing out of range; a ``float`` column rounds to single precision), as Stata's replace does.
    """
    from hlmshell.data import storage
    from hlmshell.data.files import storage_type

    if nopromote:
        return storage.numeric_series(values, storage_type(column)).to_numpy()
    if storage.fits_integer_column(column, values):
        return values.astype(column.dtype)
    return values


def _fit_strings(column: pd.Series, values: np.ndarray) -> np.ndarray:
    """``nopromote`` on a string variable: new values cut to its current width (``str#``)."""
    from hlmshell.data.files import storage_type

    kind = storage_type(column)
    if kind == "strL":
        return values
    width = int(kind[3:])
    return np.array([v[:width] for v in values], dtype=object)
