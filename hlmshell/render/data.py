"""Stata's layouts for the data commands: summarize, describe, list, correlate, merge, label.

Every renderer returns the text Stata prints after the command echo, starting with Stata's blank
line where Stata has one.
"""

from __future__ import annotations

import math
import textwrap

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_fc, fmt_g, fmt_num, is_missing
from hlmshell.lang.printable import printable
from hlmshell.render import renders
from hlmshell.results.data import (
    CorrelationTable,
    CountResult,
    DescribeTable,
    LabelListing,
    ListTable,
    MergeReport,
    ScalarList,
    SummaryDetail,
    SummaryTable,
)

# -- summarize -----------------------------------------------------------------------------------
_SUM_HEAD = "    Variable |        Obs        Mean    Std. dev.       Min        Max"
_SUM_RULE = "-" * 13 + "+" + "-" * 57


@renders(SummaryTable)
def summary_table(table: SummaryTable) -> str:
    lines = ["", _SUM_HEAD, _SUM_RULE]
    for k, row in enumerate(table.rows):
        if k and table.separator and k % table.separator == 0:
            lines.append(_SUM_RULE)
        line = f"{shorten(row.name, 12):>12} |{fmt_fc(row.n, 11)}"
        if row.n:
            line += "   " + fmt_g(row.mean) + "   " + fmt_g(row.sd)
            line += "  " + fmt_g(row.min) + "  " + fmt_g(row.max)
        lines.append(line)
    return "\n".join(lines)


@renders(SummaryDetail)
def summary_detail(d: SummaryDetail) -> str:
    lines = [""]
    for part in textwrap.wrap(d.title, 50) or [""]:
        lines.append(" " * ((61 - len(part)) // 2) + part)
    lines.append("-" * 61)
    if not d.n:
        lines.append("no observations")
        return "\n".join(lines)
    pct = d.percentiles
    sum_w = fmt_fc(d.sum_w, 11) if d.sum_w == round(d.sum_w) else "  " + fmt_g(d.sum_w)
    stats = [("Obs", fmt_fc(d.n, 11)), ("Sum of wgt.", sum_w),
             ("Mean", "  " + fmt_g(d.mean)), ("Std. dev.", "  " + fmt_g(d.sd)),
             ("Variance", "  " + fmt_g(d.var)), ("Skewness", "  " + fmt_g(d.skewness)),
             ("Kurtosis", "  " + fmt_g(d.kurtosis))]
    rows = ["      Percentiles      Smallest"]
    rows += [f"{p:>2}%" + "    " + fmt_g(pct[p]) + "      " + fmt_g(d.smallest[k])
             for k, p in enumerate((1, 5, 10, 25))]
    rows += ["", "50%    " + fmt_g(pct[50]), " " * 24 + "Largest"]
    rows += [f"{p}%" + "    " + fmt_g(pct[p]) + "      " + fmt_g(d.largest[k])
             for k, p in enumerate((75, 90, 95, 99))]
    # rows that carry a statistic on their right: 10%, 25%, 50%, "Largest", 90%, 95%, 99%
    for row, (label, value) in zip((3, 4, 6, 7, 9, 10, 11), stats):
        rows[row] = rows[row].ljust(31) + "       " + label.ljust(12) + value
    return "\n".join(lines + rows)


# -- describe ------------------------------------------------------------------------------------
@renders(DescribeTable)
def describe_table(d: DescribeTable) -> str:
    rule = "-" * 80
    stamp = d.timestamp.strftime("%d %b %Y %H:%M").lstrip("0") if d.timestamp else ""
    lines = ["", f"Contains data from {d.filename}" if d.filename else "Contains data",
             f" Observations:{fmt_fc(d.nobs, 14)}",
             f"    Variables:{fmt_fc(d.nvars, 14)}" + (" " * 18 + stamp if stamp else "")]
    if d.short:
        return "\n".join([*lines, "Sorted by: " + " ".join(d.sortedby)])
    lines += [rule,
              "Variable      Storage   Display    Value",
              "    name         type    format    label      Variable label",
              rule]
    for r in d.rows:
        name = shorten(r.name, 15)
        lines.append(f"{name:<16}{r.storage:<8}{r.display:<11}{r.value_label:<11}{r.label}".rstrip())
    lines.append(rule)
    lines.append("Sorted by: " + " ".join(d.sortedby))
    return "\n".join(lines)


# -- list ----------------------------------------------------------------------------------------
def _cell(value: object, fmt: str) -> str:
    if fmt.endswith("s"):
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return "" if missing else printable(str(value))
    if isinstance(value, str):        # a value label
        return printable(value)
    if is_missing(value):
        return "."
    return fmt_num(float(value), fmt).strip()


LINE_WIDTH = 80


@renders(ListTable)
def list_table(t: ListTable) -> str:
    """Stata's boxed listing: strings left-aligned, numbers right-aligned, a rule every 5 rows.

    Observation numbers are as wide as the dataset's largest (``  1.`` with 10-99 observations).
    When the table would be wider than the screen, each observation becomes a block of
    ``name | name`` / ``value | value`` line pairs instead, as Stata does.
    """
    if not t.obs:
        return ""
    cols = []
    for c in t.columns:
        cells = [_cell(v, c.fmt) for v in c.values]
        w = max(len(shorten(c.name, 32)), *(len(x) for x in cells))
        left = c.fmt.endswith("s")
        cols.append((shorten(c.name, 32), cells, w, left))
    numw = len(str(max(t.nobs, 1))) + 2
    indent = " " * (numw + 1)
    inner = "   ".join(" " * w for _, _, w, _ in cols)
    if len(indent) + len(inner) + 4 > LINE_WIDTH:
        return _list_blocks(t, cols, numw)
    top = indent + "+" + "-" * (len(inner) + 2) + "+"
    sep = indent + "|" + "-" * (len(inner) + 2) + "|"
    head = indent + "| " + "   ".join(n.rjust(w) if not left else n.ljust(w)
                                       for n, _, w, left in cols) + " |"
    lines = ["", top, head, sep]
    for k, obs in enumerate(t.obs):
        if k and k % 5 == 0:
            lines.append(sep)
        cells = "   ".join(cells[k].ljust(w) if left else cells[k].rjust(w)
                           for _, cells, w, left in cols)
        lines.append(f"{obs}.".rjust(numw) + " | " + cells + " |")
    lines.append(top.replace("|", "+"))
    return "\n".join(lines)


def _list_blocks(t: ListTable, cols: list, numw: int) -> str:
    """One box per observation, its variables packed into rows of ``| name | name |`` pairs."""
    indent = " " * (numw + 1)
    room = LINE_WIDTH - len(indent) - 4
    lines = [""]
    for k, obs in enumerate(t.obs):
        packed: list[list[tuple[str, str]]] = [[]]
        used = 0
        for name, cells, _, left in cols:
            w = max(len(name), len(cells[k]))
            pair = ((name.ljust(w), cells[k].ljust(w)) if left
                    else (name.rjust(w), cells[k].rjust(w)))
            if packed[-1] and used + 3 + w > room:
                packed.append([])
                used = 0
            used += (3 if packed[-1] else 0) + w
            packed[-1].append(pair)
        rows = [(" | ".join(p[0] for p in row), " | ".join(p[1] for p in row)) for row in packed]
        width = max(len(names) for names, _ in rows) + 2
        lines.append(indent + "+" + "-" * width + "+")
        for j, (names, values) in enumerate(rows):
            if j:
                lines.append(indent + "|" + "-" * width + "|")
            label = f"{obs}.".rjust(numw) + " " if j == 0 else indent
            lines.append(label + "| " + names.ljust(width - 2) + " |")
            lines.append(indent + "| " + values.ljust(width - 2) + " |")
        lines.append(indent + "+" + "-" * width + "+")
        lines.append("")
    return "\n".join(lines[:-1])


# -- correlate -----------------------------------------------------------------------------------
@renders(CorrelationTable)
def correlation_table(c: CorrelationTable) -> str:
    lines = [f"(obs={c.n:,})"]
    k = len(c.names)
    for start in range(0, k, 7):
        cols = list(range(start, min(start + 7, k)))
        lines.append("")
        lines.append(" " * 13 + "|" + "".join(f"{shorten(c.names[j], 8):>9}" for j in cols))
        lines.append("-" * 13 + "+" + "-" * (9 * len(cols)))
        for i in range(start, k):
            cells = ""
            for j in cols:
                if j > i:
                    break
                value = c.matrix[i, j]
                cells += " " + (fmt_g(value, 8) if c.covariance else fmt_f(value, 8, 4))
            lines.append(f"{shorten(c.names[i], 12):>12} |" + cells)
    return "\n".join(lines)


# -- merge ---------------------------------------------------------------------------------------
@renders(MergeReport)
def merge_report(m: MergeReport) -> str:
    """Stata 17's merge table; the ``(_merge==#)`` notes name the generated variable, if any."""
    def note(code: int) -> str:
        return f"  ({m.mergevar}=={code})" if m.mergevar else ""

    rule = "    " + "-" * 41
    unmatched = m.from_master + m.from_using
    lines = ["", "    Result                      Number of obs", rule,
             "    Not matched" + fmt_fc(unmatched, 30)]
    if unmatched:
        lines.append("        from master" + fmt_fc(m.from_master, 26) + note(1))
        lines.append("        from using" + fmt_fc(m.from_using, 27) + note(2))
        lines.append("")
    lines.append("    Matched" + fmt_fc(m.matched, 34) + note(3))
    lines.append(rule)
    return "\n".join(lines)


@renders(CountResult)
def count_result(obj: CountResult) -> str:
    return f"  {obj.count:,}"


@renders(ScalarList)
def scalar_list(obj: ScalarList) -> str:
    """``          min2 = -1.9809999`` (as in Stata's output): name right-aligned, value %10.0g."""
    lines = []
    for name, value in obj.items:
        shown = value if isinstance(value, str) else fmt_g(value, 10).strip()
        lines.append(f"{name:>14} = {shown}")
    return "\n".join(lines)


# -- label list / label dir ----------------------------------------------------------------------
@renders(LabelListing)
def label_listing(t: LabelListing) -> str:
    """``name:`` then each value right-aligned in 12 characters and its text (``label list``)."""
    if t.names_only:
        return "\n".join(name for name, _ in t.labels)
    lines = []
    for name, pairs in t.labels:
        lines.append(f"{name}:")
        lines += [f"{fmt_g(v, 12).strip():>12} {text}" for v, text in pairs]
    return "\n".join(lines)
