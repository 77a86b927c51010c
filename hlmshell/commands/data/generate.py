"""generate and replace: create or change a variable from an expression, with by/if/in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlmshell.data import storage
from hlmshell.data.sorting import apply_by
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.lang.command import Command
from hlmshell.lang.expr import evaluate, is_string_value, row_mask
from hlmshell.lang.syntax import parse_syntax
from hlmshell.render import Text
from hlmshell.shell.registry import command
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


def _split_type(anything: str) -> tuple[str | None, str]:
    words = anything.split()
    if len(words) == 2 and storage.is_type_word(words[0]):
        return words[0], words[1]
    if len(words) == 1:
        return None, words[0]
    if len(words) == 2:
        raise StataError(f"{words[0]} invalid type", 198) if words[0].isalpha() else syntax_error()
    raise syntax_error()


@command("generate", 1, usage="generate [type] newvar = exp [if] [in] [, before(var) after(var)]")
def generate(session: Session, cmd: Command) -> Text | None:
    """Create a new variable."""
    syn = parse_syntax(cmd.rest)
    type_name, name = _split_type(syn.anything)
    name = name.split(":")[0]
    if syn.exp is None:
        raise syntax_error()
    varlist.new_name(session.variables, name)
    opts = syn.options
    before = opts.take_arg("before")
    after = opts.take_arg("after")
    opts.finish()
    before = varlist.resolve(session.variables, before) if before else None
    after = varlist.resolve(session.variables, after) if after else None
    groups = apply_by(session, cmd)
    mask = row_mask(session, syn.if_, syn.in_, groups=groups)
    values = full_values(session, syn.exp, groups, mask)
    is_str = is_string_value(values)
    if type_name is not None and storage.is_string_type(type_name) != is_str:
        raise StataError("type mismatch", 109)
    if is_str:
        column = storage.string_series(np.where(mask, values, "").astype(object))
        missing = int((column == "").sum())
    else:
        column = storage.numeric_series(np.where(mask, values, np.nan), type_name or "float")
        missing = int(column.isna().sum())
    new = insert_column(session.data, name, column, before=before, after=after)
    session.set_data(new)
    if missing:
        return Text(f"({plural(missing, 'missing value')} generated)")
    return None


@command("replace", 7, usage="replace oldvar = exp [if] [in] [, nopromote]")
def replace(session: Session, cmd: Command) -> Text:
    """Change the values of an existing variable."""
    syn = parse_syntax(cmd.rest)
    if syn.exp is None or len(syn.anything.split()) != 1:
        raise syntax_error()
    name = varlist.resolve(session.variables, syn.anything.strip())
    syn.options.take("nopromote")
    syn.options.finish()
    groups = apply_by(session, cmd)
    mask = row_mask(session, syn.if_, syn.in_, groups=groups)
    values = full_values(session, syn.exp, groups, mask)
    old_col = session.data[name]
    if is_string_value(values) != session.is_string(name):
        raise StataError("type mismatch", 109)
    new = session.data.copy()
    if session.is_string(name):
        old = np.array(["" if v is None or v != v else str(v) for v in old_col], dtype=object)
        updated = np.where(mask, values, old).astype(object)
        changed = int((updated != old).sum())
        to_missing = int(((updated == "") & (old != "") & mask).sum())
        new[name] = updated
    else:
        old = old_col.to_numpy(dtype=float, na_value=np.nan)
        updated = np.where(mask, values, old)
        if storage.fits_integer_column(old_col, updated):
            new[name] = updated.astype(old_col.dtype)
        else:
            new[name] = updated
        same = (updated == old) | (np.isnan(updated) & np.isnan(old))
        changed = int((~same).sum())
        to_missing = int((np.isnan(updated) & ~np.isnan(old)).sum())
    if changed:
        session.set_data(new)
    noun = "real change" if changed == 1 else "real changes"
    tail = f", {to_missing:,} to missing" if to_missing else ""
    return Text(f"({changed:,} {noun} made{tail})")
