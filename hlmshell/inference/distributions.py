"""The distribution functions inference needs, from ``scipy.special`` (imported on first use: it is
not needed to start the shell, and ``scipy.stats`` costs a second at start-up)."""

from __future__ import annotations

from typing import Any


def _special() -> Any:
    from scipy import special

    return special


def normal_cdf(x: Any) -> Any:
    return _special().ndtr(x)


def normal_sf(x: Any) -> Any:
    return _special().ndtr(-x)


def normal_ppf(p: Any) -> Any:
    return _special().ndtri(p)


def chi2_sf(x: Any, df: Any) -> Any:
    """P(X > x) for X ~ chi2(df)."""
    return _special().chdtrc(df, x)


def chi2_cdf(x: Any, df: Any) -> Any:
    return _special().chdtr(df, x)


def chi2_isf(p: Any, df: Any) -> Any:
    return _special().chdtri(df, p)


def t_sf(x: Any, df: Any) -> Any:
    """P(T > x) for T ~ t(df)."""
    return _special().stdtr(df, -x)


def t_cdf(x: Any, df: Any) -> Any:
    return _special().stdtr(df, x)


def t_ppf(p: Any, df: Any) -> Any:
    return _special().stdtrit(df, p)


def f_sf(x: Any, df1: Any, df2: Any) -> Any:
    """P(F > x) for F ~ F(df1, df2)."""
    return _special().fdtrc(df1, df2, x)


def f_cdf(x: Any, df1: Any, df2: Any) -> Any:
    return _special().fdtr(df1, df2, x)


def f_isf(p: Any, df1: Any, df2: Any) -> Any:
    return _special().fdtri(df1, df2, 1 - p)
