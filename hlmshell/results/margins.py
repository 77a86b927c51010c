"""Results of ``margins``: the header, the legends and the table, and the margins themselves in the
form ``marginsplot`` reads (each margin's estimate, interval and the dimensions it belongs to)."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefTable


@dataclass(frozen=True)
class AtEntry:
    """One line of an at() legend: ``ses = -1``, ``1.sector = .4931106 (mean)``."""

    name: str
    value: float
    stat: str = ""                 # "mean", "median", ... ("" for a value typed)


@dataclass(frozen=True)
class AtRow:
    """The settings of one ``_at`` row; no entries and ``asobserved``: ``(asobserved)``."""

    entries: tuple[AtEntry, ...]
    asobserved: bool = False


@dataclass(frozen=True)
class MarginsHeader:
    """What comes before the table: title, N, model VCE and the legends."""

    title: str                     # "Predictive margins", "Average marginal effects", ...
    n_obs: int
    model_vce: str                 # "OLS", "OIM"; "" prints no line (after mixed)
    expression: str                # "Linear prediction, predict()"
    derivatives: str = ""          # "dy/dx", "ey/ex", ...
    xvars: tuple[str, ...] = ()    # the variables of the derivatives (``1.sector`` for levels)
    over: tuple[str, ...] = ()
    at: tuple[AtRow, ...] = ()     # empty: no legend (also with noatlegend)


@dataclass(frozen=True)
class MarginsOutput:
    """``margins``' display: the header, the table (``Delta-method`` or ``Unconditional`` standard
    errors) and the note on factor-level effects."""

    header: MarginsHeader
    table: CoefTable
    t: bool = False                # t statistics (after regress) instead of z
    factor_note: bool = False
    vce_title: str = "Delta-method"


@dataclass(frozen=True)
class MarginPoint:
    """One margin as ``marginsplot`` sees it: the values that identify it, outermost first
    (``(("_at", 2), ("sector", 1))``), and its estimate with the confidence interval."""

    dims: tuple[tuple[str, float], ...]
    estimate: float
    lower: float
    upper: float
    equation: str = ""             # the derivative's variable (``ses``, ``1.sector``) with dydx()


@dataclass(frozen=True)
class MarginsResult:
    """The last margins of the session (kept for ``marginsplot``): the points, each ``_at`` row's
    values by variable, the title, the statistic's label and the derivative kind."""

    points: tuple[MarginPoint, ...]
    at_values: tuple[tuple[tuple[str, float], ...], ...]
    title: str
    ylabel: str
    derivatives: str = ""
    level: float = 95.0
