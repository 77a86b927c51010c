"""``margins`` in Stata 17/18's layout.

The header: the title with ``Number of obs = N`` ending in column 78, ``Model VCE: OIM`` (not after
``mixed``, which posts no e(vce)), a blank line, the legends (``Expression:``, ``dy/dx wrt:``,
``Over:`` with their values in column 13, then the at() legend: ``At:`` for one row, ``1._at:``...
for several, names padded to the longest, values (%9.0g) right-aligned to the widest, ``(mean)``
after a statistic), a blank line, and the coefficient table with ``Delta-method`` (or
``Unconditional``) centred over ``std. err.``.
"""

from __future__ import annotations

from hlmshell.lang.numfmt import fmt_fc, fmt_g
from hlmshell.render import renders
from hlmshell.render.coeftable import coef_table_lines, columns_title
from hlmshell.results.estimation import CoefTable
from hlmshell.results.margins import AtRow, MarginsHeader, MarginsOutput

FACTOR_NOTE = "Note: {} for factor levels is the discrete change from the base level."


def title_line(title: str, n_obs: int) -> str:
    """``Predictive margins ... Number of obs = 7,185`` (the count ends in column 78)."""
    right = f"Number of obs = {fmt_fc(n_obs, 0)}"
    return title + " " * max(78 - len(title) - len(right), 1) + right


def legend(name: str, value: str) -> str:
    return f"{name + ':':<11} {value}"


def at_legend_lines(rows: tuple[AtRow, ...]) -> list[str]:
    if not rows:
        return []
    entries = [e for row in rows for e in row.entries]
    name_w = max((len(e.name) for e in entries), default=0)
    values = {id(e): fmt_g(e.value, 9).strip() for e in entries}
    value_w = max((len(v) for v in values.values()), default=0)
    titles = ["At"] if len(rows) == 1 else [f"{i}._at" for i in range(1, len(rows) + 1)]
    title_w = max(len(t) for t in titles) + 2
    lines: list[str] = []
    for title, row in zip(titles, rows):
        head = f"{title}: ".rjust(title_w)
        if row.asobserved or not row.entries:
            lines.append(head + "(asobserved)")
            continue
        for k, e in enumerate(row.entries):
            text = f"{e.name:<{name_w}} = {values[id(e)]:>{value_w}}"
            if e.stat:
                text += f" ({e.stat})"
            lines.append((head if k == 0 else " " * title_w) + text)
    return lines


def header_lines(h: MarginsHeader) -> list[str]:
    lines = ["", title_line(h.title, h.n_obs)]
    if h.model_vce:
        lines.append(f"Model VCE: {h.model_vce}")
    lines += ["", legend("Expression", h.expression)]
    if h.derivatives:
        lines.append(legend(f"{h.derivatives} wrt", " ".join(h.xvars)))
    if h.over:
        lines.append(legend("Over", " ".join(h.over)))
    lines += at_legend_lines(h.at)
    return lines


def table_lines(table: CoefTable, coef_title: str, t: bool, se_title: str = "Delta-method"
                ) -> list[str]:
    """A coefficient table whose header reads ``Delta-method`` / ``Margin   std. err.`` (the title
    centred in the 12 columns over the standard error)."""
    lines = coef_table_lines(table)
    width = lines[2].index("+")
    stat = "      t    P>|t|" if t else "      z    P>|z|"
    above = " " * width + "|" + " " * (12 + max(12 - len(se_title), 0) // 2) + se_title
    titles = " " * width + "|" + columns_title(f"{coef_title:>11}   std. err.{stat}", table.level, 45)
    return [lines[0], above, titles, *lines[2:]]


@renders(MarginsOutput)
def render_margins(out: MarginsOutput) -> str:
    h = out.header
    lines = header_lines(h)
    lines += ["", *table_lines(out.table, h.derivatives or "Margin", out.t, out.vce_title)]
    if out.factor_note:
        lines.append(FACTOR_NOTE.format(h.derivatives))
    return "\n".join(lines)
