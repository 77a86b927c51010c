"""Stored estimation results by name: copying, name expansion (Stata's ``est_expand``) and the
model summaries (N, ll, df) that ``estat ic``, ``estimates stats/table`` and ``lrtest`` share.

``.`` means the active results.  Stata keeps the name an active result was stored under in the hidden
macro ``e(_estimates_name)``; so do we (``ereturn list`` hides names starting with ``_estimates_``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math

import numpy as np

from hlmshell.errors import StataError
from hlmshell.inference.ic import aic, bic
from hlmshell.results.postest import ICRow
from hlmshell.results.stored import EResults, StataMatrix
from hlmshell.shell.session import Session

NAME_MACRO = "_estimates_name"
HIDDEN_PREFIX = "_estimates_"


def copy_matrix(m: StataMatrix) -> StataMatrix:
    return StataMatrix(np.array(m.values, dtype=float, copy=True), list(m.rownames), list(m.colnames))


def copy_eresults(e: EResults, **macros: str | None) -> EResults:
    """A copy whose dicts, matrices and e(sample) are independent of ``e``; the fit object is shared
    (fit objects are never changed after estimation).  ``macros`` set (str) or remove (None) macros."""
    new_macros = dict(e.macros)
    for key, value in macros.items():
        if value is None:
            new_macros.pop(key, None)
        else:
            new_macros[key] = value
    return dataclasses.replace(
        e,
        scalars=dict(e.scalars),
        macros=new_macros,
        matrices={k: copy_matrix(v) for k, v in e.matrices.items()},
        sample=None if e.sample is None else np.array(e.sample, copy=True),
        functions=list(e.functions),
    )


def require_active(session: Session) -> EResults:
    if session.e is None or not session.e.cmd:
        raise StataError("last estimates not found", 301)
    return session.e


def stored_name(e: EResults) -> str:
    """The name the active results are stored under, or ``.``."""
    return e.macros.get(NAME_MACRO, "") or "."


def expand_names(session: Session, words: list[str], *, star_ok: bool = False) -> list[str]:
    """Stata's est_expand: ``_all`` (and ``*`` with ``star_ok``) → every stored name, ``.`` → the active
    results (their stored name if they have one), patterns with ``*``/``?`` → matching stored names."""
    out: list[str] = []
    for word in words:
        if word == "_all" or (star_ok and word == "*"):
            out += list(session.estimates)
        elif word == ".":
            if session.e is None or not session.e.cmd:
                raise StataError("last estimates (.) not found", 301)
            out.append(stored_name(session.e))
        else:
            found = [n for n in session.estimates if fnmatch.fnmatchcase(n, word)]
            if not found:
                raise StataError(f"estimation result {word} not found", 111)
            out += found
    return out


def lookup(session: Session, name: str) -> EResults:
    """The results called ``name`` (``.`` = the active ones), as stored."""
    if name == ".":
        return require_active(session)
    try:
        return session.estimates[name]
    except KeyError:
        raise StataError(f"estimation result {name} not found", 111) from None


def scalar(e: EResults, name: str) -> float | None:
    value = e.scalars.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def rank_of_v(e: EResults) -> float:
    """Rank of e(V) as Stata's syminv counts it: columns less the zero-diagonal ones; 0 without e(V)."""
    V = e.matrices.get("V")
    if V is None:
        return 0.0
    values = np.asarray(V.values, dtype=float)
    keep = np.diag(values) != 0
    if not keep.any():
        return 0.0
    return float(np.linalg.matrix_rank(values[np.ix_(keep, keep)]))


def model_df(e: EResults) -> float:
    """Degrees of freedom of a model for AIC/BIC and lrtest: e(df_ic), else e(rank), else rank(e(V))."""
    for key in ("df_ic", "rank"):
        value = scalar(e, key)
        if value is not None:
            return value
    return rank_of_v(e)


def ic_row(name: str, e: EResults, *, n: float | None = None, df: float | None = None) -> ICRow:
    """One ``estat ic`` row: AIC = -2 ll + 2 df, BIC = -2 ll + ln(N) df (N = e(N_ic) or e(N))."""
    N = n if n is not None else (scalar(e, "N_ic") if "N_ic" in e.scalars else scalar(e, "N"))
    ll = scalar(e, "ll")
    k = df if df is not None else model_df(e)
    return ICRow(name=name, N=N, ll0=scalar(e, "ll_0"), ll=ll, df=k, aic=aic(ll, k),
                 bic=bic(ll, k, N))
