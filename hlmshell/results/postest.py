"""Results of the generic post-estimation commands: ereturn list, matrix list, estat ic / estimates
stats, estimates dir / table / replay headers, and lrtest.

These hold numbers and names only; :mod:`hlmshell.render.postest` lays them out as Stata does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hlmshell.results.stored import StataMatrix


@dataclass
class ResultsListing:
    """``ereturn list`` (prefix ``e``): the four sections, each in the order the results were set."""

    prefix: str
    scalars: list[tuple[str, float | None]]
    macros: list[tuple[str, str]]
    matrices: list[tuple[str, int, int]]
    functions: list[str] = field(default_factory=list)


@dataclass
class MatrixListing:
    """``matrix list``: ``title`` is what Stata prints before ``[r,c]`` (``e(b)``, ``base``)."""

    title: str
    matrix: StataMatrix
    symmetric: bool
    fmt: str = "%10.0g"
    header: bool = True
    linesize: int = 80


@dataclass
class MatrixDir:
    """``matrix dir``: (name, rows, cols) in the order the matrices were defined."""

    entries: list[tuple[str, int, int]]


@dataclass
class ICRow:
    """One model in ``estat ic`` / ``estimates stats``; ``name`` is ``.`` for unnamed active results."""

    name: str
    N: float | None
    ll0: float | None
    ll: float | None
    df: float | None
    aic: float | None
    bic: float | None


@dataclass
class ICTable:
    """``estat ic`` / ``estimates stats``; ``n_description`` completes "BIC uses N = ..."."""

    rows: list[ICRow]
    n_description: str | None = "number of observations"


@dataclass
class LRTestResult:
    """``lrtest``: the restricted model is nested within the unrestricted one."""

    restricted: str
    unrestricted: str
    chi2: float
    df: float
    p: float
    conservative: bool = False
    reml_note: bool = False


@dataclass
class EstimatesDirRow:
    name: str
    cmd: str
    depvar: str
    npar: int
    title: str


@dataclass
class EstimatesDir:
    """``estimates dir``."""

    rows: list[EstimatesDirRow]


@dataclass
class EstimatesTableRow:
    """One coefficient of ``estimates table``: b and se per model (None where the model lacks it)."""

    name: str
    b: list[float | None]
    se: list[float | None]
    p: list[float | None] = field(default_factory=list)     # for ``star``


@dataclass
class EstimatesTableEquation:
    name: str
    rows: list[EstimatesTableRow]


@dataclass
class EstimatesTable:
    """``estimates table``: coefficients by equation, then the requested statistics."""

    models: list[str]
    equations: list[EstimatesTableEquation]
    stats: list[tuple[str, list[float | None]]]
    bfmt: str = "%10.0g"
    sefmt: str | None = None          # None: no standard-error rows
    stfmt: str = "%10.0g"
    col_width: int = 10
    var_width: int = 12
    linesize: int = 80
    star: tuple[float, float, float] | None = None   # significance levels of *, **, ***


@dataclass
class ReplayHeader:
    """The rule/title/rule block ``estimates replay`` prints before each model."""

    label: str
    linesize: int = 80
