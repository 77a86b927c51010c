"""Stata layouts of the generic post-estimation results (see :mod:`hlmshell.results.postest`).

Layouts follow Stata 17/18: ``ereturn list`` (names right-aligned to column 22), ``matrix list``
(columns as wide as the widest entry or name plus two), ``estat ic`` / ``estimates stats``
(``estimates.ado``'s column positions), ``estimates table`` (``est_table.ado``'s oneline style) and
``lrtest`` (Stata 17's two-line header).  Blank lines are where Stata prints them.
"""

from __future__ import annotations

import re
import textwrap

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_fc, fmt_g, fmt_num
from hlmshell.render import renders
from hlmshell.results.postest import (
    EstimatesDir,
    EstimatesTable,
    ICTable,
    LRTestResult,
    MatrixDir,
    MatrixListing,
    ReplayHeader,
    ResultsListing,
)


def center(text: str, width: int) -> str:
    """SMCL ``{center w:text}``: the odd padding space goes to the right."""
    pad = max(width - len(text), 0)
    return " " * (pad // 2) + text + " " * (pad - pad // 2)


def paragraph(text: str, hanging: int = 6, width: int = 78) -> list[str]:
    """SMCL ``{p 0 hanging 2}`` at line size 80."""
    return textwrap.wrap(text, width=width, subsequent_indent=" " * hanging,
                         break_long_words=False, break_on_hyphens=False)


# -- ereturn list -------------------------------------------------------------------------------
_NAME_WIDTH = 22


@renders(ResultsListing)
def render_results_listing(obj: ResultsListing) -> str:
    p = obj.prefix
    lines: list[str] = []
    if obj.scalars:
        lines += ["", "scalars:"]
        for name, value in obj.scalars:
            lines.append(f"{p}({name})".rjust(_NAME_WIDTH) + " =  " + fmt_g(value, 18).strip())
    if obj.macros:
        lines += ["", "macros:"]
        for name, text in obj.macros:
            lines.append(f"{p}({name})".rjust(_NAME_WIDTH) + f' : "{text}"')
    if obj.matrices:
        lines += ["", "matrices:"]
        for name, r, c in obj.matrices:
            lines.append(f"{p}({name})".rjust(_NAME_WIDTH) + f" :  {r} x {c}")
    if obj.functions:
        lines += ["", "functions:"]
        for name in obj.functions:
            lines.append(f"{p}({name})".rjust(_NAME_WIDTH))
    return "\n".join(lines)


# -- matrix list --------------------------------------------------------------------------------
def _split_eq(name: str) -> tuple[str, str]:
    eq, sep, rest = name.partition(":")
    return (eq, rest) if sep else ("", name)


def _matrix_block(obj: MatrixListing, cols: range, cells: list[list[str | None]], rowlabels: list[str],
                  width: int, colw: int) -> list[str]:
    m = obj.matrix
    col_split = [_split_eq(m.colnames[j]) for j in cols]
    lines = []
    if any(eq for eq, _ in col_split):
        lines.append(" " * (width + 1) + "".join((f"{eq}:" if eq else "").rjust(colw)
                                                 for eq, _ in col_split).rstrip())
    lines.append(" " * width + "".join(nm.rjust(colw) for _, nm in col_split))
    first_row = cols.start if obj.symmetric else 0
    for i in range(first_row, m.shape[0]):
        row = [cells[i][j] for j in cols]
        lines.append(rowlabels[i].rjust(width) + "".join(s.rjust(colw) for s in row if s is not None))
    return lines


@renders(MatrixListing)
def render_matrix_listing(obj: MatrixListing) -> str:
    m = obj.matrix
    nr, nc = m.shape
    cells: list[list[str | None]] = [
        [None if (obj.symmetric and j > i) else fmt_num(m.values[i, j], obj.fmt).strip()
         for j in range(nc)]
        for i in range(nr)
    ]
    rowlabels = [f"{eq}:{nm}" if eq else nm for eq, nm in map(_split_eq, m.rownames)]
    col_split = [_split_eq(c) for c in m.colnames]
    widest = max([len(s) for row in cells for s in row if s is not None]
                 + [len(nm) for _, nm in col_split]
                 + [len(eq) + 1 for eq, _ in col_split if eq] + [1])
    colw = widest + 2
    width = max([len(r) for r in rowlabels] + [1])
    per_block = max(1, (obj.linesize - width) // colw)
    lines = [""]
    if obj.header:
        lines.append(f"{'symmetric ' if obj.symmetric else ''}{obj.title}[{nr},{nc}]")
    for start in range(0, nc, per_block):
        if start:
            lines.append("")
        lines += _matrix_block(obj, range(start, min(nc, start + per_block)), cells, rowlabels,
                               width, colw)
    return "\n".join(lines)


@renders(MatrixDir)
def render_matrix_dir(obj: MatrixDir) -> str:
    if not obj.entries:
        return ""
    lines = [""]
    for name, r, c in obj.entries:
        lines.append(f"{name:>12}[{r},{c}]")
    return "\n".join(lines)


# -- estat ic / estimates stats -----------------------------------------------------------------
@renders(ICTable)
def render_ic_table(obj: ICTable) -> str:
    lines = ["", "Akaike's information criterion and Bayesian information criterion", "",
             "-" * 13 + "-" + "-" * 63,
             "       Model |          N   ll(null)  ll(model)      df        AIC        BIC",
             "-" * 13 + "+" + "-" * 63]
    for row in obj.rows:
        name = row.name if row.name == "." else shorten(row.name, 12)
        lines.append(name.rjust(12) + " |" + " " + fmt_fc(row.N, 10)
                     + "  " + fmt_g(row.ll0, 9) + "  " + fmt_g(row.ll, 9)
                     + "  " + fmt_f(row.df, 6, 0) + "  " + fmt_g(row.aic, 9)
                     + "  " + fmt_g(row.bic, 9))
    lines.append("-" * 13 + "-" + "-" * 63)
    if obj.n_description:
        lines += paragraph(f"Note: BIC uses N = {obj.n_description}. See [R] BIC note.", width=77)
    return "\n".join(lines)


# -- lrtest -------------------------------------------------------------------------------------
_BOUNDARY_NOTE = ("Note: The reported degrees of freedom assumes the null hypothesis is not on the "
                  "boundary of the parameter space.  If this is not true, then the reported test is "
                  "conservative.")
_REML_NOTE = ("Note: LR tests based on REML are valid only when the fixed-effects specification is "
              "identical for both models.")


@renders(LRTestResult)
def render_lrtest(obj: LRTestResult) -> str:
    def shown(name: str) -> str:
        return name if name == "." else shorten(name, 14)

    df = fmt_g(obj.df, 9).strip()
    chi2 = fmt_f(obj.chi2, 0, 2)
    p = fmt_f(obj.p, 0, 4)
    label = f"LR chi2({df})"
    lw = max(len(label), len("Prob > chi2"))
    vw = max(len(chi2), len(p))
    lines = ["", "Likelihood-ratio test",
             f"Assumption: {shown(obj.restricted)} nested within {shown(obj.unrestricted)}", "",
             f"{label.rjust(lw)} = {chi2.rjust(vw)}",
             f"{'Prob > chi2'.rjust(lw)} = {p.rjust(vw)}"]
    if obj.conservative:
        lines += [""] + paragraph(_BOUNDARY_NOTE)
    if obj.reml_note:
        if not obj.conservative:
            lines.append("")
        lines += paragraph(_REML_NOTE)
    return "\n".join(lines)


# -- estimates dir / replay header --------------------------------------------------------------
@renders(EstimatesDir)
def render_estimates_dir(obj: EstimatesDir) -> str:
    lent = max([len(r.title) for r in obj.rows] + [8])
    lpiece = min(80 - 47, lent)
    rule = 33 + lpiece
    lines = ["", "-" * 13 + "-" + "-" * rule,
             "        name | command      depvar       npar  title ",
             "-" * 13 + "+" + "-" * rule]
    for r in obj.rows:
        name = r.name if r.name == "." else shorten(r.name, 12)
        line = (name.rjust(12) + " | " + r.cmd.ljust(12) + " " + r.depvar.ljust(12) + " "
                + f"{r.npar:4d}" + "  " + r.title[:lpiece])
        lines.append(line.rstrip())
    lines.append("-" * 13 + "-" + "-" * rule)
    return "\n".join(lines)


@renders(ReplayHeader)
def render_replay_header(obj: ReplayHeader) -> str:
    rule = "-" * (obj.linesize - 1)
    return "\n".join(["", rule, obj.label, rule])


# -- estimates table ----------------------------------------------------------------------------
_FACTOR = re.compile(r"^(\d+)([bno]*)\.(.+)$")


def _row_label(name: str) -> tuple[str | None, str]:
    """(term header or None, row label) for a coefficient name, as Stata's _ms_display shows it.

    ``1.sector#c.ses`` → ("sector#c.ses", "1 "); other names show as they are.
    """
    parts = name.split("#")
    levels, terms = [], []
    for part in parts:
        m = _FACTOR.match(part)
        if m:
            levels.append(m.group(1))
            terms.append(m.group(3))
        else:
            terms.append(part)
    if levels and len(parts) > 1:
        return "#".join(terms), " ".join(levels) + " "
    return None, name


def _is_base(name: str) -> bool:
    return any((m := _FACTOR.match(p)) is not None and "b" in m.group(2) for p in name.split("#"))


def _is_omitted(name: str) -> bool:
    return name.startswith("o.") or any((m := _FACTOR.match(p)) is not None and "o" in m.group(2)
                                        for p in name.split("#"))


def _stars(p: float | None, levels: tuple[float, float, float]) -> str:
    """``*``, ``**`` or ``***`` for p below each level (est_table's star option)."""
    if p is None:
        return ""
    return "*" * sum(p < level for level in levels)


def _table_blocks(obj: EstimatesTable, first: int, last: int) -> list[str]:
    vw, cw = obj.var_width, obj.col_width
    ncol = last - first
    extra = 3 if obj.star else 0          # the stars' field after each coefficient

    def hline(corner: str) -> str:
        return "-" * vw + "".join("-" + (corner if k == 0 else "-") + "-" + "-" * (cw + extra)
                                  for k in range(ncol)) + "--"

    def dline(label: str, cols: list[str], *, left: bool = False, align=str.rjust,
              marks: list[str] | None = None) -> str:
        head = label.ljust(vw) if left else label.rjust(vw)
        marks = marks or [""] * len(cols)
        return head + " |" + "".join(" " + align(c, cw) + m.ljust(extra) + "  "
                                     for c, m in zip(cols, marks))

    def value(x: float | None, fmt: str, name: str) -> str:
        if x is None:
            return ""
        if _is_omitted(name) and x == 0:
            return "(omitted)"
        return fmt_num(x, fmt).strip()

    lines = ["", hline("-"),
             dline("Variable", [shorten(m, cw) for m in obj.models[first:last]],
                   align=lambda s, w: center(s, w)),
             hline("+")]
    many_eq = len(obj.equations) > 1
    for k, eq in enumerate(obj.equations):
        if many_eq:
            if k:
                lines.append(hline("+"))
            lines.append(shorten(eq.name, vw).ljust(vw) + " |")
        shown_term = None
        for row in eq.rows:
            bs = row.b[first:last]
            if all(b is None for b in bs) or (_is_base(row.name) and all(b in (None, 0) for b in bs)):
                continue
            term, label = _row_label(row.name)
            if term is not None and term != shown_term:
                lines.append(shorten(term, vw).rjust(vw) + " |")
            shown_term = term
            label = label if term is not None else shorten(label, vw)
            marks = ([_stars(p, obj.star) for p in row.p[first:last]] if obj.star and row.p
                     else None)
            lines.append(dline(label, [value(b, obj.bfmt, row.name) for b in bs], marks=marks))
            if obj.sefmt is not None:
                ses = ["" if (b is None or _is_omitted(row.name) and b == 0) else
                       fmt_num(s, obj.sefmt).strip()
                       for b, s in zip(bs, row.se[first:last])]
                lines.append(" " * vw + " |" + "".join(" " + s.rjust(cw) + "  " for s in ses))
    if obj.stats:
        lines.append(hline("+"))
        if many_eq:
            lines.append(dline("Statistics", [""] * ncol, left=True))
        for name, values in obj.stats:
            fmt = f"%{cw}.0f" if name == "N" else obj.stfmt
            lines.append(dline(name, ["" if v is None else fmt_num(v, fmt).strip()
                                      for v in values[first:last]]))
    lines.append(hline("-"))
    twidth = 1 + (vw + 1) + ncol * (cw + 3 + extra)
    if obj.sefmt is not None:
        lines.append("Legend: b/se".rjust(twidth))
    if obj.star:
        a, b, c = (f"{x:g}" if x >= 0.001 else f"{x}" for x in obj.star)
        lines.append(f"legend: * p<{a}; ** p<{b}; *** p<{c}".rjust(twidth))
    return lines


@renders(EstimatesTable)
def render_estimates_table(obj: EstimatesTable) -> str:
    per_block = max(1, (obj.linesize - 1 - (obj.var_width + 1))
                    // (obj.col_width + 3 + (3 if obj.star else 0)))
    lines: list[str] = []
    for first in range(0, len(obj.models), per_block):
        lines += _table_blocks(obj, first, min(len(obj.models), first + per_block))
    return "\n".join(lines)
