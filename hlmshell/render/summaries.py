"""Stata's tables of summary statistics: tabstat (tabstat.ado's layout, Stata 17's labels) and
Stata 17's ``table`` (a stub of labels and levels, right-aligned columns).

tabstat: each number in its display format, right-aligned in 10 characters; the left part is the by
column (``byw`` wide) and/or the ``Stats``/``Variable`` column; a rule after each group when there
are several lines per group, and before the Total.  table: the stub's title (the row variable's
label) on its own line, the levels and Total indented by 2; each column as wide as its widest
text, 2 blanks after the bar and 3 between columns.
"""

from __future__ import annotations

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_num
from hlmshell.render import renders
from hlmshell.results.tables import StatTable, Tabstat

LINE = 80


def _cell(value: float, fmt: str) -> str:
    return f"{fmt_num(value, fmt).strip():>10}"


@renders(Tabstat)
def render_tabstat(t: Tabstat) -> str:
    by, byw, stub = t.by, t.by_width, t.stub
    stats_cols = t.columns == "statistics"
    stub_w = 12 if stats_cols else 8
    lleft = ((1 + byw) if by else 0) + ((stub_w + 1) if stub else 0)
    lines = [""]
    if not stub:
        what = f"Summary for variables: {' '.join(t.variables)}" if stats_cols else \
            "Summary statistics: " + ", ".join(t.stats)
        lines.append(what)
        if by:
            lines.append(f"Group variable: {by}" + (f" ({t.by_label})" if t.by_label else ""))
        lines.append("")
    items = t.stats if stats_cols else t.variables
    per_block = max(1, (LINE - (lleft + 1)) // 10)
    several = (len(t.stats) > 1 and not stats_cols) or (len(t.variables) > 1 and stats_cols)
    align = (lambda s: s.ljust(byw)) if (stub and by) else (lambda s: s.rjust(byw))
    for start in range(0, len(items), per_block):
        shown = range(start, min(start + per_block, len(items)))
        if start:
            lines.append("")
        head = (align(shorten(by, byw)) + " " if by else "")
        if stub:
            head += ("Variable".rjust(stub_w) if stats_cols else "   Stats") + " "
        head += "|" + "".join(f"{(items[i] if stats_cols else shorten(items[i], 8)):>10}"
                              for i in shown)
        ndash = 10 * len(shown)
        lines += [head, "-" * lleft + "+" + "-" * ndash]
        for g, group in enumerate(t.groups):
            inner = t.variables if stats_cols else t.stats
            for k, name in enumerate(inner):
                left = (align(group.label[:byw]) if k == 0 else " " * byw) + " " if by else ""
                if stub:
                    left += (shorten(name, stub_w).rjust(stub_w) if stats_cols else
                             name.rjust(8)) + " "
                if stats_cols:
                    cells = "".join(_cell(group.values[i][k], t.formats[k]) for i in shown)
                else:
                    cells = "".join(_cell(group.values[k][i], t.formats[i]) for i in shown)
                lines.append(left + "|" + cells)
            last = g == len(t.groups) - 1
            if last:
                lines.append("-" * (lleft + 1 + ndash))
            elif (several and t.separator) or (g + 1 == len(t.groups) - 1
                                              and t.groups[-1].label == "Total"):
                lines.append("-" * lleft + "+" + "-" * ndash)
    return "\n".join(lines)


@renders(StatTable)
def render_table(t: StatTable) -> str:
    stub_w = max([len(t.stub_title)] + [len(s) + 2 for s in t.stub]) + 1
    widths = [max(len(x) for x in (*c.headers, *c.cells)) for c in t.columns]
    gaps = [2] + [3] * (len(t.columns) - 1)
    body_w = sum(g + w for g, w in zip(gaps, widths)) + 1
    depth = max(len(c.headers) for c in t.columns)
    lines = ["", "-" * (stub_w + 1 + body_w)]
    if t.span:
        pad = (body_w - len(t.span) + 1) // 2
        lines.append(" " * stub_w + "|" + " " * pad + t.span)
    for row in range(depth):
        cells = []
        for c, w, g in zip(t.columns, widths, gaps):
            text = c.headers[row - (depth - len(c.headers))] if row >= depth - len(c.headers) else ""
            cells.append(" " * g + text.rjust(w))
        lines.append(" " * stub_w + "|" + "".join(cells))
    lines += ["-" * stub_w + "+" + "-" * body_w, t.stub_title.ljust(stub_w) + "|"]
    for i, label in enumerate(t.stub):
        cells = "".join(" " * g + c.cells[i].rjust(w) for c, w, g in zip(t.columns, widths, gaps))
        lines.append(("  " + label).ljust(stub_w) + "|" + cells)
    lines.append("-" * (stub_w + 1 + body_w))
    return "\n".join(lines)
