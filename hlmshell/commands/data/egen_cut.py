"""egen's ``cut()`` (intervals of a variable) and ``mode()`` (the most frequent value per group).

``cut`` follows Stata's ``_gcut.ado``: with ``at(a1 ... am)`` a value x gets the largest a_k with
x >= a_k (missing below a1 and from am on); with ``group(#)`` the cutpoints are the minimum, the
``pctile, nq(#)`` quantiles and the maximum + 1, and the codes 0, 1, ... (``icodes``) are used;
``label`` labels each code with its left end (``string(a_k) + "-"``) in a value label named after
the new variable.  ``mode`` returns missing when a group has several modes, unless ``minmode``,
``maxmode`` or ``nummode(#)`` picks one; missing values count only with ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.data.statistics import stata_percentile
from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.numfmt import fmt_g

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@dataclass(frozen=True)
class CutResult:
    values: np.ndarray
    labels: dict[float, str] | None      # the value label for ``label``


def cut(session: Session, text: str, use: np.ndarray, by: list[str], opts: Args) -> CutResult:
    from hlmshell.lang.expr import column_values

    if by:
        raise StataError("egen ... cut() may not be combined with by", 190)
    words = text.split()
    if len(words) != 1:
        raise StataError(f"cut({text}) invalid, variable name expected", 198)
    name = varlist.resolve(session.variables, words[0])
    x = column_values(session.data, name)
    if x.dtype == object:
        raise StataError("type mismatch", 109)
    at, groups = opts.at, opts.group
    if at is None and groups == 0:
        raise StataError("one of at() or group() must be specified", 198)
    if at is not None and groups != 0:
        raise StataError("cannot specify both at() and group() option", 198)
    x = x.astype(float).copy()
    if at is not None:
        cuts = [float(a) for a in at]
        if cuts != sorted(cuts):
            raise StataError("numlist must be ascending", 124)
        x[x >= cuts[-1]] = np.nan
    touse = use & ~np.isnan(x)
    icodes = opts.icodes or opts.label or at is None
    if at is None:
        s = np.sort(x[touse])
        if not s.size:
            raise StataError("no observations", 2000)
        cuts = [float(np.nanmin(x))]
        cuts += [stata_percentile(s, 100.0 * k / groups) for k in range(1, groups)]
        cuts.append(float(s[-1]) + 1)
    out = np.full(len(x), np.nan)
    labels: dict[float, str] = {}
    for k, c in enumerate(cuts):
        out[touse & (x >= c)] = k if icodes else c
        labels[float(k)] = fmt_g(c, 12).strip() + "-"
    return CutResult(out, labels if opts.label else None)


def free_label_name(name: str, taken: dict) -> str:
    """The new variable's name, or (as _gcut.ado) its name with the last character replaced by the
    first of a-z, 0-9, A-Z that makes it unused."""
    if name not in taken:
        return name
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        if name[:-1] + ch not in taken:
            return name[:-1] + ch
    return name


def mode(session: Session, text: str, use: np.ndarray, gidx: np.ndarray, opts: Args) -> np.ndarray:
    """The mode of variable ``text`` in each group, spread to the group's rows in ``use``."""
    from hlmshell.lang.expr import column_values

    name = varlist.resolve(session.variables, text.strip())
    x = column_values(session.data, name)
    chosen = [o for o in ("minmode", "maxmode") if opts.options[o]] + (
        ["nummode"] if opts.nummode else [])
    if len(chosen) > 1:
        raise StataError("only one of minmode, maxmode, and nummode() allowed", 198)
    is_str = x.dtype == object
    out = np.full(len(x), "" if is_str else np.nan, dtype=object if is_str else float)
    missing = (x == "") if is_str else np.isnan(x.astype(float))
    for g in np.unique(gidx[use]):
        rows = np.flatnonzero(use & (gidx == g))
        vals = x[rows] if opts.missing else x[rows[~missing[rows]]]
        if not len(vals):
            continue
        if is_str:
            distinct, counts = np.unique(vals.astype(str), return_counts=True)
        else:
            distinct, counts = np.unique(vals.astype(float), return_counts=True, equal_nan=True)
        best = distinct[counts == counts.max()]          # ascending
        if len(best) == 1 or opts.minmode:
            value = best[0]
        elif opts.maxmode:
            value = best[-1]
        elif 0 < opts.nummode <= len(best):
            value = best[opts.nummode - 1]
        else:
            continue
        out[rows] = value
    return out
