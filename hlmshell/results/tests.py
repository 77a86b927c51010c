"""Results of ``test``/``testparm`` and ``lincom``."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefTable


@dataclass(frozen=True)
class WaldTestOutput:
    """Numbered constraints, then ``chi2( k) =`` (mixed) or ``F( k, df_r) =`` (regress)."""

    constraints: tuple[str, ...]
    chi2: float | None
    df: int
    p: float
    F: float | None = None
    df_r: int | None = None
    dropped: tuple[int, ...] = ()
    ddf: float | None = None       # ``test ..., small``: the dfmethod()'s denominator df


@dataclass(frozen=True)
class LincomOutput:
    """The constraint line and a one-row coefficient table labelled ``(1)``."""

    constraint: str
    table: CoefTable
    t: bool = False
