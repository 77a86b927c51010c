"""Plain-data results of ``regress`` (numbers unformatted; ``hlmshell.render.regress`` prints them)."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefTable


@dataclass(frozen=True)
class RegressHeader:
    """The ANOVA table and fit statistics above the coefficient table.

    Missing numbers are NaN (printed as ``.``).
    """

    mss: float
    rss: float
    df_m: int
    df_r: int
    n_obs: int
    F: float
    p_F: float
    r2: float
    r2_a: float
    rmse: float


@dataclass(frozen=True)
class RegressOutput:
    """Everything ``regress`` prints: header (None with ``noheader``), then the coefficient table.

    The rows of ``coefs`` carry the t statistic in ``CoefRow.z``.
    """

    header: RegressHeader | None
    coefs: CoefTable
