"""Results of the panel-data commands: xtreg (fe, re, mle) and xtsum.

Numbers are unformatted (NaN for missing); :mod:`hlmshell.render.panel` lays them out as Stata 17.
"""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefRow, CoefTable


@dataclass(frozen=True)
class XtregHeader:
    """The block above xtreg's coefficient table."""

    title: str                                 # "Random-effects GLS regression", ...
    n_obs: int
    panelvar: str
    n_groups: int
    g_min: int
    g_avg: float
    g_max: int
    test_label: str                            # "Wald chi2(1)", "F(1,7024)", "LR chi2(1)"
    test: float
    p_label: str                               # "Prob > chi2", "Prob > F"
    p: float
    r2: tuple[float, float, float] | None = None   # within, between, overall (fe, re)
    corr: str | None = None                    # "corr(u_i, X) = 0 (assumed)", ...
    ll: float | None = None                    # mle
    theta: tuple[float, ...] | None = None     # re, theta: one value (balanced) or the summary
    #                                            min p5 p50 p95 max


@dataclass(frozen=True)
class XtregOutput:
    """Everything xtreg prints after its iteration log.

    ``sigmas`` are the rows under the coefficients: (label, value) for fe/re (sigma_u, sigma_e,
    rho), or full rows with SEs and intervals for mle (/sigma_u, /sigma_e, rho).
    """

    header: XtregHeader | None
    coefs: CoefTable
    sigmas: tuple[CoefRow, ...]
    footer: str = ""                           # the F test that all u_i=0, or the LR test


@dataclass(frozen=True)
class MLIterations:
    """``Fitting constant-only model:`` / ``Fitting full model:`` and their iterations."""

    constant_only: tuple[float, ...]
    full: tuple[float, ...]


@dataclass(frozen=True)
class XtsumRow:
    name: str
    mean: float
    overall: tuple[float, float, float]        # sd, min, max
    between: tuple[float, float, float]
    within: tuple[float, float, float]
    N: int
    n: int
    T: float                                   # T-bar (or T when balanced)
    balanced: bool


@dataclass(frozen=True)
class XtsumTable:
    rows: tuple[XtsumRow, ...]
