"""Stata's fixed-effects coefficient table (``_coef_table`` layout, Stata 17+ labels).

Geometry: a left column of ``w`` characters (12 by default, widened to the longest row label, at
most 32), `` |``, then 64 characters: coefficient and SE (%9.0g in 11), z (%8.2f in 9), P>|z|
(%5.3f in 8), CI (%9.0g in 13 and 12).

Factor terms: a group of rows sharing ``CoefRow.term`` prints a header row (the term) and level rows
(``1  |``).  Separator rows (``|`` alone) go before a group unless it opens the table, and after it
when the term is an interaction or has several levels, unless it closes the table; consecutive
separators collapse into one.  Whether a single-level main effect prints compactly (``1.sector``) is
the caller's choice: give it as a plain row.
"""

from __future__ import annotations

from typing import Any, Callable

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_g
from hlmshell.render import renders
from hlmshell.results.estimation import CoefRow, CoefTable

DEFAULT_WIDTH = 12
MAX_WIDTH = 32



def level_text(level: float) -> str:
    """A confidence level as Stata shows it in ``[95% conf. interval]`` (%9.0g, trimmed)."""
    return fmt_g(level, 9).strip()


def ci_title(level: float) -> str:
    return f"[{level_text(level)}% conf. interval]"


def columns_title(before_ci: str, level: float, offset: int) -> str:
    """Column titles after a ``|``: ``before_ci`` then the CI title with ``[`` at ``offset`` for 95%.

    Stata moves the CI title left by one column per extra character of the level (``99.5``).
    """
    shift = len(level_text(level)) - 2
    return before_ci.ljust(offset - 1 - shift) + ci_title(level)


def coef_columns(title: str = "Coefficient", t: bool = False) -> str:
    """The titles of the estimate, SE, z (t) and P columns: ``Coefficient`` or, exponentiated,
    ``Odds ratio``, ``IRR``, right-aligned ten wide (``Coefficient`` overflows by one)."""
    stat = "      t    P>|t|" if t else "      z    P>|z|"
    head = " Coefficient  " if title == "Coefficient" else " " + title.rjust(10) + "   "
    return head + "Std. err." + stat


def _segments(rows: tuple[CoefRow, ...]) -> list[tuple[str, list[CoefRow]]]:
    """Consecutive rows grouped by term ("" for plain rows, one segment each)."""
    out: list[tuple[str, list[CoefRow]]] = []
    for row in rows:
        if row.term and out and out[-1][0] == row.term:
            out[-1][1].append(row)
        else:
            out.append((row.term, [row]))
    return out


def _spaced_after(term: str, rows: list[CoefRow]) -> bool:
    return "#" in term or len(rows) > 1


def _width(table: CoefTable) -> int:
    return row_width((*table.rows, *(r for _, rows in table.equations for r in rows)))


def row_width(rows) -> int:
    """The left column's width for these rows (12, widened to the longest label, at most 32)."""
    longest = DEFAULT_WIDTH
    for row in rows:
        if row.term:
            longest = max(longest, len(row.term), len(row.label) + 2)
        else:
            longest = max(longest, len(row.label))
    return min(longest, MAX_WIDTH)


def _numbers(row: CoefRow) -> str:
    if row.status:      # omitted, base, empty: 0; an offset or exposure: its coefficient 1
        return fmt_g(row.coef if row.status in ("offset", "exposure") else 0.0, 11) + f"  ({row.status})"
    return (fmt_g(row.coef, 9).rjust(11) + fmt_g(row.se, 9).rjust(11)
            + fmt_f(row.z, 9, 2) + fmt_f(row.p, 8, 3)
            + fmt_g(row.lower, 9).rjust(13) + fmt_g(row.upper, 9).rjust(12))


def coef_table_lines(table: CoefTable) -> list[str]:
    """The table's lines (top rule to bottom rule)."""
    w = _width(table)
    rule = "-" * (w + 1) + "+" + "-" * 64
    lines = [
        "-" * (w + 66),
        shorten(table.depvar, w).rjust(w) + " |"
        + columns_title(coef_columns(table.coef_title, t=table.t), table.level, 45),
        rule,
    ]
    for k, (name, rows) in enumerate(table.equations):
        if k:
            lines.append(rule)
        lines.append(shorten(name, w).ljust(w) + " |")
        lines += row_lines(rows, w)
    lines += row_lines(table.rows, w)
    lines.append("-" * (w + 66))
    return lines


def row_lines(rows: tuple[CoefRow, ...], w: int,
               numbers: Callable[[Any], str] | None = None) -> list[str]:
    """Rows under the left column of width ``w``, factor terms grouped; ``numbers`` gives the text
    right of the ``|`` (by default the coefficient columns; any row with ``label`` and ``term``)."""
    numbers = numbers or _numbers
    lines: list[str] = []
    blank = " " * (w + 1) + "|"
    segments = _segments(rows)
    for i, (term, rows) in enumerate(segments):
        if not term:
            lines.append(shorten(rows[0].label, w).rjust(w) + " |" + numbers(rows[0]))
            continue
        if i > 0 and lines[-1] != blank:
            lines.append(blank)
        lines.append(shorten(term, w).rjust(w) + " |")
        for row in rows:
            lines.append(shorten(row.label, w - 2).rjust(w - 1) + "  |" + numbers(row))
        if _spaced_after(term, rows) and i < len(segments) - 1:
            lines.append(blank)
    return lines


@renders(CoefTable)
def render_coef_table(table: CoefTable) -> str:
    """Stata prints a blank line before the table."""
    return "\n".join(["", *coef_table_lines(table)])
