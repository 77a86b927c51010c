"""``contrast`` and ``pwcompare`` in Stata 17/18's layout (``_marg_report``).

The Wald table: a first column as wide as the longest label plus one (at least 13), then ``df``
(11), ``chi2``/``F`` (12), ``P>chi2`` (11), with ``ddf`` (11) under ``small`` and a ``Denominator``
row after F tests.  The contrasts: the coefficient table with ``Contrast`` as its title, cut to
contrast, SE and interval (``cieffects``, the default), to contrast, SE, statistic and p
(``pveffects``) or whole (``effects``); a ``Unadjusted``/``Bonferroni`` title over the p and interval
columns where there are multiple comparisons.
"""

from __future__ import annotations

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_g
from hlmshell.render import renders
from hlmshell.render.coeftable import coef_table_lines, columns_title
from hlmshell.results.contrast import (
    Comparisons,
    ContrastOutput,
    EffectsTable,
    WaldTable,
)

MIN_WIDTH = 12
# where the 14-wide fields of the adjustment titles start (after the bar), a title centred in each
TITLE_FIELDS = {"full": (26, 47), "pv": (26,), "ci": (31,)}


def _first_width(labels: list[str]) -> int:
    return max([MIN_WIDTH, *(len(x) for x in labels)])


def wald_lines(t: WaldTable) -> list[str]:
    labels = [t.equation] + [r.term for r in t.rows] + [r.label + "  " for r in t.rows if r.label]
    w = _first_width(labels + (["Denominator"] if t.F and not t.small else []))
    stat = "F" if t.F else "chi2"
    heads = ["df"] + (["ddf"] if t.small else []) + [stat, f"P>{stat}"]
    widths = [11] + ([11] if t.small else []) + [12, 11]
    width = w + 1 + sum(widths)
    rule = "-" * (w + 1) + "+" + "-" * (sum(widths))
    blank = " " * (w + 1) + "|"
    lines = ["-" * (width + 1),
             " " * (w + 1) + "|" + "".join(h.rjust(n) for h, n in zip(heads, widths)), rule]
    if t.equation:
        lines.append(shorten(t.equation, w).ljust(w) + " |")
    previous = None
    for row in t.rows:
        numbers = fmt_g(row.df, 9).rjust(11)
        if t.small:
            numbers += fmt_f(row.ddf, 11, 2)
        numbers += fmt_f(row.stat, 12, 2) + fmt_f(row.p, 11, 4)
        if row.kind == "term":
            if previous is not None and previous.kind != "term" and lines[-1] != blank:
                lines.append(blank)
            lines.append(shorten(row.term, w).rjust(w) + " |" + numbers)
        else:
            if previous is None or previous.term != row.term:
                if previous is not None and lines[-1] != blank:
                    lines.append(blank)
                lines.append(shorten(row.term, w).rjust(w) + " |")
            lines.append(shorten(row.label, w - 2).rjust(w - 1) + "  |" + numbers)
        previous = row
    if t.F and not t.small:
        lines += [blank, "Denominator".rjust(w) + " |" + fmt_g(t.df_r, 9).rjust(11)]
    lines.append("-" * (width + 1))
    return lines


def _cut(line: str, bar: int, columns: str, title: bool) -> str:
    """A full coefficient-table line cut to the ``ci`` or ``pv`` columns."""
    head, body = line[:bar + 1], line[bar + 1:]
    if columns == "pv":
        return head + body[:39]
    if columns == "ci":
        if set(body) <= {"-"}:
            return head + body[:48]
        return head + (body[:23] + body[39:] if title else body[:22] + " " + body[39:])
    return line


def effects_lines(e: EffectsTable) -> list[str]:
    full = coef_table_lines(e.table)
    bar = full[2].index("+")
    stat = "      t    P>|t|" if e.t else "      z    P>|z|"
    titles = " " * bar + "|" + columns_title(f"{'Contrast':>11}   Std. err.{stat}", e.table.level, 45)
    out = [_cut(full[0], bar, e.columns, False)]
    if e.adjustment:
        above = ""
        for start in TITLE_FIELDS[e.columns]:
            left = start + (14 - len(e.adjustment)) // 2
            above += " " * (left - len(above)) + e.adjustment
        out.append(" " * bar + "|" + above)
    out.append(_cut(titles, bar, e.columns, True))
    out += [_cut(line, bar, e.columns, False) for line in full[2:]]
    return out


def comparisons_lines(c: Comparisons) -> list[str]:
    w = _first_width([c.equation] + [t for t, _ in c.counts])
    lines = ["-" * (w + 15), " " * (w + 1) + "|    Number of", " " * (w + 1) + "|  comparisons",
             "-" * (w + 1) + "+" + "-" * 13]
    if c.equation:
        lines.append(shorten(c.equation, w).ljust(w) + " |")
    lines += [shorten(t, w).rjust(w) + " |" + str(m).rjust(13) for t, m in c.counts]
    lines.append("-" * (w + 15))
    return lines


@renders(ContrastOutput)
def render_contrast(out: ContrastOutput) -> str:
    lines = ["", out.title, "", out.margins_line]
    for block in (out.wald and wald_lines(out.wald), out.comparisons and comparisons_lines(
            out.comparisons), out.effects and effects_lines(out.effects)):
        if block:
            lines += ["", *block]
    return "\n".join(lines)
