"""Plain-data results of ``mixed`` and its postestimation tables (numbers unformatted).

The command builds these; ``hlmshell.render.mixed`` turns them into Stata's fixed-width text.
Missing numbers are ``None`` (or NaN) and print as ``.``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IterationStep:
    """One line of the gradient-based iteration log."""

    ll: float
    note: str = ""          # "(not concave)", "(backed up)", ...


@dataclass(frozen=True)
class IterationLog:
    """The optimisation log printed before the header."""

    reml: bool
    steps: tuple[IterationStep, ...]
    em: bool = True                    # "Performing EM optimization ..." was run
    standard_errors: bool = True       # "Computing standard errors ..." follows


@dataclass(frozen=True)
class GroupInfo:
    """Group sizes of one random-effects level."""

    name: str               # the level variable, e.g. "id"
    n_groups: int
    min_obs: int
    avg_obs: float
    max_obs: int


@dataclass(frozen=True)
class MixedHeader:
    """Title block: method, sample size, group structure, Wald test and log likelihood."""

    reml: bool
    n_obs: int
    groups: tuple[GroupInfo, ...]      # outermost level first; 1 → "Group variable:" lines
    wald_df: int
    wald_chi2: float | None            # None when only _cons is estimated
    wald_p: float | None
    ll: float
    df: "DFSummary | None" = None      # small-sample fits: the DF block and F(df_m, ddf) for chi2


@dataclass(frozen=True)
class DFSummary:
    """``DF method: Kenward-Roger`` with the DF min/avg/max, and the model's F test."""

    title: str
    df_min: float
    df_avg: float
    df_max: float
    F: float                          # NaN when only _cons is estimated
    ddf: float
    p: float


@dataclass(frozen=True)
class CoefRow:
    """One row of the fixed-effects table.

    ``term`` is the factor term the row belongs to (e.g. "sector#c.ses"): consecutive rows with the
    same non-empty ``term`` print under one header row, each labelled by its level (``label`` = "1").
    Rows with an empty ``term`` print ``label`` directly ("ses", "1.sector", "_cons").
    ``status`` is "" for an estimated row, or "omitted", "base" or "empty" (only ``label`` shows).
    """

    label: str
    coef: float | None = None
    se: float | None = None
    z: float | None = None
    p: float | None = None
    lower: float | None = None
    upper: float | None = None
    term: str = ""
    status: str = ""


@dataclass(frozen=True)
class CoefTable:
    """Fixed-effects table (rows already in display order).

    With ``equations`` the table has one block per equation, headed by its name, and ``rows`` is
    empty (``mixed, estmetric``: the depvar equation, then ``lns1_1_1``, ..., ``lnsig_e``).
    """

    depvar: str
    rows: tuple[CoefRow, ...]
    level: float = 95.0
    equations: tuple[tuple[str, tuple[CoefRow, ...]], ...] = ()
    t: bool = False                   # t and P>|t| (small-sample) instead of z and P>|z|
    coef_title: str = "Coefficient"   # "Odds ratio", "IRR" for exponentiated coefficients


@dataclass(frozen=True)
class REParam:
    """One random-effects parameter row: ``var(ses)``, ``cov(ses,_cons)``, ``sd(_cons)``..."""

    label: str
    estimate: float | None
    se: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class REBlock:
    """Parameters of one level, headed ``<level>: <structure>`` (``id: Unstructured``)."""

    level: str
    structure: str             # Identity | Independent | Exchangeable | Unstructured
    params: tuple[REParam, ...]   # empty → printed as ``lev:  (empty)``


@dataclass(frozen=True)
class LRTestVsLinear:
    """The "LR test vs. linear model" footer (``model``: the comparison model's name).

    ``chibar`` selects the ``chibar2(01)`` form (one variance component); otherwise ``chi2(df)``
    with the "conservative" note when ``conservative`` is set.
    """

    chi2: float
    df: int
    p: float
    chibar: bool
    conservative: bool = False
    model: str = "linear"          # the model without random effects: "logistic", "Poisson", ...


@dataclass(frozen=True)
class RETable:
    """Random-effects parameters table with its residual row(s) and LR footer."""

    blocks: tuple[REBlock, ...]
    residual: tuple[REParam, ...]        # usually one row, ``var(Residual)``
    lr: LRTestVsLinear | None = None     # None: nolrtest / not applicable
    level: float = 95.0
    notes: tuple[str, ...] = ()          # paragraphs after the table, each after a blank line


@dataclass(frozen=True)
class ICCRow:
    """One ``estat icc`` row; ``label`` is the level path, innermost first (``class|school``)."""

    label: str
    icc: float | None
    se: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class ICCTable:
    """``estat icc``; ``kind`` is "", "residual" or "conditional" (selects title and note)."""

    kind: str
    rows: tuple[ICCRow, ...]           # outermost level first
    level: float = 95.0


@dataclass(frozen=True)
class RECovMatrix:
    """``estat recovariance [, correlation]`` for one level: a symmetric matrix, lower triangle shown."""

    level: str
    names: tuple[str, ...]             # "ses", "_cons"
    values: tuple[tuple[float, ...], ...]   # full square matrix, row-major
    correlation: bool = False


@dataclass(frozen=True)
class MixedOutput:
    """Everything ``mixed`` prints after the iteration log, in order."""

    header: MixedHeader
    coefs: CoefTable
    re: RETable


@dataclass(frozen=True)
class GroupTable:
    """``estat group``: groups and observations per group at each level, outermost first."""

    groups: tuple[GroupInfo, ...]


@dataclass(frozen=True)
class DFRow:
    """One fixed effect of ``estat df``: its label (grouped under ``term`` as in the coefficient
    table), one df per method, or a status ("omitted", "empty")."""

    label: str
    values: tuple[float, ...] = ()
    term: str = ""
    status: str = ""


@dataclass(frozen=True)
class DFTable:
    """``estat df``: "Degrees of freedom", a column per method, notes after the table."""

    depvar: str
    titles: tuple[str, ...]
    rows: tuple[DFRow, ...]
    notes: tuple[str, ...] = ()
