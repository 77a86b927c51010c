"""Text of ``mixed`` and its postestimation tables, in Stata 17's layout.

Each renderer starts with the blank line Stata prints before its block, so a list of results
concatenates to Stata's output.  Column positions (1-based, as in Stata's ``_col()``):
- header: right-hand block at 49, ``=`` at 67, values ending at 78;
- random-effects, ICC tables: 78 wide, ``|`` at 30, estimate/SE/lower/upper ending at 41/52/66/78.
"""

from __future__ import annotations

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_fc, fmt_g, is_missing
from hlmshell.render import renders
from hlmshell.render.coeftable import columns_title, render_coef_table, row_lines, row_width
from hlmshell.render.postest import paragraph
from hlmshell.results.estimation import (
    DFSummary,
    DFTable,
    GroupInfo,
    GroupTable,
    ICCTable,
    IterationLog,
    LRTestVsLinear,
    MixedHeader,
    MixedOutput,
    RECovMatrix,
    REParam,
    RETable,
)

RULE = "-" * 78
MID_RULE = "-" * 29 + "+" + "-" * 48
LR_NOTE = "Note: LR test is conservative and provided only for reference."
ICC_TITLES = {
    "": "Intraclass correlation",
    "residual": "Residual intraclass correlation",
    "conditional": "Conditional intraclass correlation",
}
ICC_CONDITIONAL_NOTE = "Note: ICC is conditional on zero values of random-effects covariates."


def _criterion(reml: bool) -> str:
    return "restricted-likelihood" if reml else "likelihood"


# --- iteration log ---------------------------------------------------------------------------

@renders(IterationLog)
def render_iteration_log(log: IterationLog) -> str:
    lines = [""]
    if log.em:
        lines += ["Performing EM optimization ...", ""]
    lines.append("Performing gradient-based optimization: ")
    for k, step in enumerate(log.steps):
        head = f"Iteration {k}:".ljust(15)
        lines.append(f"{head}log {_criterion(log.reml)} = {fmt_g(step.ll, 10)}  {step.note}")
    if log.standard_errors:
        lines += ["", "Computing standard errors ..."]
    return "\n".join(lines)


# --- header ----------------------------------------------------------------------------------

def _right(left: str, label: str, value: str) -> str:
    """``left`` padded to column 48, then ``label`` at 49, ``=`` at 67 and ``value`` (11 wide)."""
    return left.ljust(48) + label.ljust(18) + "=" + value


def group_table_lines(groups: tuple[GroupInfo, ...]) -> list[str]:
    """The groups table of the several-level header and of ``estat group``.

    Columns follow ``_xtmixed_display.ado`` (Stata 16: ``|`` at 17, counts ending at 28/39/50/61) with
    Stata 17's lower-case titles; the 17 layout itself was not confirmed from a log.
    """
    lines = ["-" * 16 + "-" + "-" * 44,
             " " * 16 + "|     No. of       Observations per group",
             " Group variable |     groups    Minimum    Average    Maximum",
             "-" * 16 + "+" + "-" * 44]
    for g in groups:
        lines.append(shorten(g.name, 12).rjust(15) + " |" + fmt_fc(g.n_groups, 11)
                     + fmt_fc(g.min_obs, 11) + fmt_fc(g.avg_obs, 11, 1) + fmt_fc(g.max_obs, 11))
    lines.append("-" * 61)
    return lines


@renders(GroupTable)
def render_group_table(t: GroupTable) -> str:
    return "\n".join(["", *group_table_lines(t.groups)])


@renders(MixedHeader)
def render_header(h: MixedHeader) -> str:
    title = f"Mixed-effects {'REML' if h.reml else 'ML'} regression"
    lines = ["", _right(title, "Number of obs", fmt_fc(h.n_obs, 11))]
    if len(h.groups) == 1:
        g = h.groups[0]
        lines += [
            _right(f"Group variable: {shorten(g.name, 14)}", "Number of groups", fmt_fc(g.n_groups, 11)),
            " " * 48 + "Obs per group:",
            " " * 62 + "min =" + fmt_fc(g.min_obs, 11),
            " " * 62 + "avg =" + fmt_fc(g.avg_obs, 11, 1),
            " " * 62 + "max =" + fmt_fc(g.max_obs, 11),
        ]
    elif h.groups:
        lines += ["", "Grouping information", *group_table_lines(h.groups), ""]
    ll_label = "Log restricted-likelihood" if h.reml else "Log likelihood"
    ll_text = f"{ll_label} = {fmt_g(h.ll, 10)}"
    if h.df is not None:
        return "\n".join(lines + df_lines(h.df, h.wald_df, ll_text))
    lines += [
        _right("", f"Wald chi2({h.wald_df})", fmt_f(h.wald_chi2, 11, 2)),
        _right(ll_text, "Prob > chi2", fmt_f(h.wald_p, 11, 4)),
    ]
    return "\n".join(lines)


def df_lines(d: DFSummary, df_m: int, ll_text: str) -> list[str]:
    """``_xtmixed_display``'s DiDfTable and F lines (values %10.2fc; F %9.2f; ddf %9.2f)."""
    lines = [_right(f"DF method: {d.title}", "DF:".ljust(14) + "min ", fmt_fc(d.df_min, 11, 2)),
             " " * 62 + "avg =" + fmt_fc(d.df_avg, 11, 2),
             " " * 62 + "max =" + fmt_fc(d.df_max, 11, 2)]
    if not is_missing(d.ddf):
        return lines + [_right("", f"F({df_m},{fmt_f(d.ddf, 9, 2)})", fmt_f(d.F, 11, 2)),
                        _right(ll_text, "Prob > F", fmt_f(d.p, 11, 4))]
    return lines + [" " * 48 + f"F({df_m}, ".ljust(10) + ".  )".ljust(8) + "=" + " " * 5 + ".",
                    _right(ll_text, "Prob > F", " " * 5 + ".")]


# --- random-effects table --------------------------------------------------------------------

def _param_cells(estimate: float | None, se: float | None, lower: float | None,
                 upper: float | None) -> str:
    return (fmt_g(estimate, 9).rjust(11) + fmt_g(se, 9).rjust(11)
            + fmt_g(lower, 9).rjust(14) + fmt_g(upper, 9).rjust(12))


def _param_line(p: REParam) -> str:
    return p.label.rjust(28) + " |" + _param_cells(p.estimate, p.se, p.lower, p.upper)


def _lr_stat(x: float) -> str:
    """%8.2f when 0.005 < x < 1e5 or x == 0, else %8.2e; trimmed."""
    if 0.005 < x < 1e5 or x == 0:
        return fmt_f(x, 8, 2).strip()
    return f"{x:.2e}"


def lr_lines(lr: LRTestVsLinear) -> list[str]:
    msg = f"LR test vs. {lr.model} model: "
    if lr.chibar:
        line = (msg + f"chibar2(01) = {_lr_stat(lr.chi2)}").ljust(54) + "Prob >= chibar2 = "
    else:
        line = (msg + f"chi2({lr.df}) = {_lr_stat(lr.chi2)}").ljust(58) + "Prob > chi2 ="
    lines = [line.ljust(72) + fmt_f(lr.p, 6, 4)]
    if lr.conservative:
        lines += ["", LR_NOTE]
    return lines


def re_table_lines(t: RETable) -> list[str]:
    lines = [RULE,
             "  Random-effects parameters  |" + columns_title("   Estimate   Std. err.", t.level, 29),
             MID_RULE]
    for block in t.blocks:
        level = shorten(block.level, 12)
        if block.params:
            lines.append(f"{level}: {block.structure}".ljust(29) + "|")
            lines += [_param_line(p) for p in block.params]
        else:
            lines.append(f"{level}:".ljust(21) + "(empty)".ljust(8) + "|")
        lines.append(MID_RULE)
    if t.blocks and not t.residual:     # a GLMM's table has no residual rows
        lines.pop()
    lines += [_param_line(p) for p in t.residual]
    lines.append(RULE)
    if t.lr is not None:
        lines += lr_lines(t.lr)
    for note in t.notes:
        lines += ["", *paragraph(note)]
    return lines


@renders(RETable)
def render_re_table(t: RETable) -> str:
    return "\n".join(["", *re_table_lines(t)])


@renders(MixedOutput)
def render_mixed(m: MixedOutput) -> str:
    return "\n".join([render_header(m.header), render_coef_table(m.coefs), render_re_table(m.re)])


# --- estat icc -------------------------------------------------------------------------------

@renders(ICCTable)
def render_icc(t: ICCTable) -> str:
    lines = ["", ICC_TITLES[t.kind], ""]
    n = len(t.rows)
    labels = []
    for i, row in enumerate(t.rows, start=1):
        if len(row.label) > 29:
            k = n - i + 2
            lines.append(f"Level {k}: {row.label}")
            labels.append(f"Level {k}")
        else:
            labels.append(row.label)
    if any(len(r.label) > 29 for r in t.rows):
        lines.append("")
    lines += [RULE, "                       Level |"
              + columns_title("        ICC   Std. err.", t.level, 29), MID_RULE]
    for label, row in zip(labels, t.rows):
        lines.append(label.rjust(28) + " |" + _param_cells(row.icc, row.se, row.lower, row.upper))
    lines.append(RULE)
    if t.kind == "conditional":
        lines.append(ICC_CONDITIONAL_NOTE)
    return "\n".join(lines)


# --- estat recovariance ----------------------------------------------------------------------

@renders(RECovMatrix)
def render_recov(m: RECovMatrix) -> str:
    """Title, then ``matlist``'s lower triangle: 12-wide row names, 11-wide %9.0g cells."""
    what = "correlation" if m.correlation else "covariance"
    k = len(m.names)
    lines = ["", f"Random-effects {what} matrix for level {m.level}", "",
             " " * 13 + "|" + "".join(" " + shorten(nm, 9).rjust(9) + " " for nm in m.names),
             "-" * 13 + "+" + "-" * (11 * k)]
    for i, name in enumerate(m.names):
        cells = "".join(" " + fmt_g(m.values[i][j], 9) + " " if j <= i else " " * 11
                        for j in range(k))
        lines.append(shorten(name, 12).rjust(12) + " |" + cells)
    return "\n".join(lines)


# --- estat df --------------------------------------------------------------------------------

@renders(DFTable)
def render_df_table(t: DFTable) -> str:
    """"Degrees of freedom" and a coefficient-table-like listing: one column per method, its title
    right-aligned over %9.0g values (the layout of Stata's ``_matrix_table`` was not available)."""
    w = row_width(t.rows)
    widths = [max(len(title) + 2, 11) for title in t.titles]

    def numbers(row) -> str:
        if row.status:
            return fmt_g(0.0, widths[0]) + f"  ({row.status})"
        return "".join(fmt_g(v, 9).rjust(c) for v, c in zip(row.values, widths))

    rule = "-" * (w + 2 + sum(widths))
    lines = ["", "Degrees of freedom", "", rule,
             shorten(t.depvar, w).rjust(w) + " |" + "".join(x.rjust(c) for x, c in zip(t.titles, widths)),
             "-" * (w + 1) + "+" + "-" * sum(widths), *row_lines(t.rows, w, numbers), rule]
    for note in t.notes:
        lines += paragraph(note)
    return "\n".join(lines)
