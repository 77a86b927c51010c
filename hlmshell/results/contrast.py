"""Results of ``contrast`` and ``pwcompare``: the table of Wald tests, the number of comparisons and
the table of the contrasts themselves."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefTable


@dataclass(frozen=True)
class WaldRow:
    """One row of the Wald table: a term's overall test (``kind`` "term", on the term's line), one
    contrast (``"contrast"``, labelled ``(1 vs 0)``) or the term's joint test (``"joint"``)."""

    term: str
    label: str
    kind: str
    df: int
    stat: float                       # chi2 or F
    p: float
    ddf: float | None = None          # small: the denominator df of this test


@dataclass(frozen=True)
class WaldTable:
    """``df chi2 P>chi2`` (or ``df F P>F`` with a ``Denominator`` row after regress, or ``df ddf F
    P>F`` with ``small``), under the depvar's equation line when e(b) has equations."""

    equation: str
    rows: tuple[WaldRow, ...]
    F: bool = False
    df_r: float | None = None
    small: bool = False


@dataclass(frozen=True)
class EffectsTable:
    """The contrasts with their standard errors: ``columns`` is "ci" (contrast, SE, interval), "pv"
    (contrast, SE, z, p) or "full"; ``adjustment`` titles the p and interval columns
    (``Unadjusted``, ``Bonferroni``; "" prints no title line)."""

    table: CoefTable
    columns: str
    t: bool = False
    adjustment: str = ""


@dataclass(frozen=True)
class Comparisons:
    """``Number of comparisons`` per term (pwcompare with mcompare())."""

    equation: str
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ContrastOutput:
    title: str                        # "Contrasts of marginal linear predictions", ...
    wald: WaldTable | None = None
    comparisons: Comparisons | None = None
    effects: EffectsTable | None = None
    margins_line: str = "Margins: asbalanced"
