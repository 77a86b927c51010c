"""egen's row functions: a statistic across variables, observation by observation.

As Stata's ``_growmean`` and friends: missing values are skipped; ``rowtotal`` of nothing is 0
(missing with ``, missing``), ``rowsd`` needs two values, ``rowfirst``/``rowlast`` are the first and
last nonmissing values in the order the variables were given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.lang import varlist

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

ROW_FUNCTIONS = ("rowmean", "rowtotal", "rowmax", "rowmin", "rowmiss", "rownonmiss", "rowsd",
                 "rowfirst", "rowlast", "rowmedian")


def _matrix(session: Session, text: str) -> np.ndarray:
    from hlmshell.lang.expr import column_values

    cols = []
    for name in varlist.expand(session.variables, text):
        col = column_values(session.data, name)
        if col.dtype == object:
            raise StataError("type mismatch", 109)
        cols.append(col)
    return np.column_stack(cols) if cols else np.zeros((session.nobs, 0))


def _edge(m: np.ndarray, present: np.ndarray, last: bool) -> np.ndarray:
    """The first (or last) nonmissing value of each row."""
    out = np.full(len(m), np.nan)
    if not m.shape[1]:
        return out
    cols = present[:, ::-1] if last else present
    k = np.argmax(cols, axis=1)
    k = m.shape[1] - 1 - k if last else k
    hit = present.any(axis=1)
    out[hit] = m[np.flatnonzero(hit), k[hit]]
    return out


def row_function(session: Session, fcn: str, text: str, use: np.ndarray, opts: Args) -> np.ndarray:
    """The row statistic over the variables in ``text``, missing outside ``use``."""
    m = _matrix(session, text)
    present = ~np.isnan(m)
    k = present.sum(axis=1)
    with np.errstate(all="ignore"):
        if fcn == "rowmean":
            out = np.where(k > 0, np.nansum(m, axis=1) / np.maximum(k, 1), np.nan)
        elif fcn == "rowtotal":
            out = np.nansum(m, axis=1)
            if opts.missing:
                out = np.where(k > 0, out, np.nan)
        elif fcn in ("rowmax", "rowmin"):
            fill = -np.inf if fcn == "rowmax" else np.inf
            reduce = np.max if fcn == "rowmax" else np.min
            out = np.where(k > 0, reduce(np.where(present, m, fill), axis=1, initial=fill), np.nan)
        elif fcn == "rowmiss":
            out = (~present).sum(axis=1).astype(float)
        elif fcn == "rownonmiss":
            out = k.astype(float)
        elif fcn == "rowsd":
            mean = np.nansum(m, axis=1) / np.maximum(k, 1)
            ss = np.nansum((m - mean[:, None]) ** 2, axis=1)
            out = np.where(k > 1, np.sqrt(ss / np.maximum(k - 1, 1)), np.nan)
        elif fcn == "rowmedian":
            out = np.full(len(m), np.nan)
            some = k > 0
            if some.any():
                out[some] = np.nanmedian(m[some], axis=1)
        else:
            out = _edge(m, present, last=fcn == "rowlast")
    return np.where(use, out, np.nan)
