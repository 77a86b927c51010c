"""Text of the me commands and of ``logit``/``probit``/``poisson``, in Stata 17's layout.

The me header follows ``_me_display.ado`` (Stata 15.1's code, Stata 17's casing): the title and
``Number of obs`` (label at 49, ``=`` at 67, value ending at 78), meglm's ``Family:``/``Link:``,
``Binomial variable:``/``Overdispersion:`` (values ending at 31), the group line and ``Obs per
group`` (or the several-level groups table of ``mixed``), ``Integration method:`` with
``Integration pts.``, then the Wald test and the log likelihood.

The table is ``mixed``'s coefficient table with the rest of e(b) below the fixed effects: each
level's variances under the level's name, its covariances in a block of their own (with z and P,
their CI symmetric), variance rows without z and P, their CI from the log scale.  Labels sit right
against the ``|`` (``   var(_cons)|``); one too long for the column is split after its comma
(``cov(urban,`` / ``_cons)``) as ``_coef_table`` wraps them.
"""

from __future__ import annotations

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_fc, fmt_g
from hlmshell.render import renders
from hlmshell.render.coeftable import MAX_WIDTH, coef_columns, columns_title, row_lines, row_width
from hlmshell.render.mixed import group_table_lines, lr_lines
from hlmshell.results.estimation import CoefRow
from hlmshell.results.me import GLMHeader, GLMIterationLog, MEHeader, MEIterationLog, METable


def _right(left: str, label: str, value: str) -> str:
    """``left`` padded to column 48, ``label`` at 49, ``=`` at 67 and ``value`` (11 wide)."""
    return left.ljust(48) + label.ljust(18) + "=" + value


def _at31(label: str, value: str) -> str:
    """``_col(32 - length)``: the value ending at column 31."""
    return label + " " * max(31 - len(label) - len(value), 1) + value


@renders(MEHeader)
def render_me_header(h: MEHeader) -> str:
    lines = ["", _right(h.title, "Number of obs", fmt_fc(h.n_obs, 11))]
    if h.family:
        lines += [_at31("Family:", h.family), _at31("Link:", h.link)]
    if h.binomial:
        label = "Binomial variable:" if h.binomial_variable else "Binomial trials:"
        lines.append(_at31(label, shorten(h.binomial, 12) if h.binomial_variable else h.binomial))
    if h.dispersion:
        lines.append(_at31("Overdispersion:", h.dispersion))
    if len(h.groups) == 1:
        g = h.groups[0]
        lines += [_right(f"Group variable: {shorten(g.name, 14)}", "Number of groups",
                         fmt_fc(g.n_groups, 11)), "",
                  " " * 48 + "Obs per group:",
                  " " * 62 + "min =" + fmt_fc(g.min_obs, 11),
                  " " * 62 + "avg =" + fmt_fc(g.avg_obs, 11, 1),
                  " " * 62 + "max =" + fmt_fc(g.max_obs, 11), ""]
    elif h.groups:
        lines += ["", *group_table_lines(h.groups), ""]
    else:
        lines.append("")
    if not h.intmethod:             # no random effects: no integration
        lines.append(_right("", f"Wald chi2({h.wald_df})", fmt_f(h.wald_chi2, 11, 2)))
    elif h.xt:
        points = f"Integration points = {h.intpoints:3d}" if h.intpoints else "Integration method: laplace"
        lines += [_right(points, f"Wald chi2({h.wald_df})", fmt_f(h.wald_chi2, 11, 2))]
    else:
        method = f"Integration method: {h.intmethod}"
        lines.append(_right(method, "Integration pts.", str(h.intpoints).rjust(11))
                     if h.intpoints else method)
        lines += ["", _right("", f"Wald chi2({h.wald_df})", fmt_f(h.wald_chi2, 11, 2))]
    lines.append(_right(f"Log likelihood = {fmt_g(h.ll, 10)}", "Prob > chi2",
                        fmt_f(h.wald_p, 11, 4)))
    return "\n".join(lines)


def _log_lines(label: str, values: tuple[float, ...]) -> list[str]:
    return [f"{label} {k}:".ljust(15) + f"log likelihood = {fmt_g(v, 10)}  " for k, v in enumerate(values)]


@renders(MEIterationLog)
def render_me_log(log: MEIterationLog) -> str:
    return "\n".join(["", "Fitting fixed-effects model:", "", *_log_lines("Iteration", log.glm), "",
                      "Refining starting values:", "", *_log_lines("Grid node", log.grid), "",
                      "Fitting full model:", "", *_log_lines("Iteration", log.steps)])


@renders(GLMIterationLog)
def render_glm_log(log: GLMIterationLog) -> str:
    return "\n".join(["", *_log_lines("Iteration", log.steps)])


def _re_numbers(row: CoefRow) -> str:
    """Estimate and SE; z and P only where the row has them (covariances); the CI."""
    zp = " " * 17 if row.z is None else fmt_f(row.z, 9, 2) + fmt_f(row.p, 8, 3)
    return (fmt_g(row.coef, 9).rjust(11) + fmt_g(row.se, 9).rjust(11) + zp
            + fmt_g(row.lower, 9).rjust(13) + fmt_g(row.upper, 9).rjust(12))


def _label_lines(label: str, w: int) -> list[str]:
    """A parameter's label right against the ``|``: split after a comma when it does not fit."""
    width = w + 1
    if len(label) <= width:
        return [label.rjust(width) + "|"]
    head, sep, tail = label.partition(",")
    if sep and len(tail) <= width:
        return [shorten(head + ",", w - 1).rjust(w - 1) + "  |", tail.rjust(width) + "|"]
    name = label[label.index("(") + 1:-1] if "(" in label else label
    prefix = label[:label.index("(") + 1] if "(" in label else ""
    short = prefix + shorten(name, width - len(prefix) - 1) + (")" if prefix else "")
    return [short.rjust(width) + "|"]


def me_table_lines(t: METable) -> list[str]:
    titles = [s.title for s in t.sections if s.title]
    w = max(row_width(t.rows), min(max([len(x) - 1 for x in titles] + [0]), MAX_WIDTH))
    rule = "-" * (w + 1) + "+" + "-" * 64
    lines = ["-" * (w + 66),
             shorten(t.depvar, w).rjust(w) + " |"
             + columns_title(coef_columns(t.coef_title), t.level, 45),
             rule]
    lines += row_lines(t.rows, w)
    for section in t.sections:
        lines.append(rule)
        if section.title:
            title = section.title if len(section.title) <= w + 1 else shorten(section.title, w + 1)
            lines.append(title.ljust(w) + " |" if len(title) <= w else title + "|")
        for row in section.rows:
            if not section.parameters:
                lines.append(shorten(row.label, w).rjust(w) + " |" + _re_numbers(row))
                continue
            labels = _label_lines(row.label, w)
            lines += labels[:-1]
            lines.append(labels[-1] + _re_numbers(row))
    lines.append("-" * (w + 66))
    if t.lr is not None:
        lines += lr_lines(t.lr)
    lines += list(t.notes)
    return lines


@renders(METable)
def render_me_table(t: METable) -> str:
    return "\n".join(me_table_lines(t))


@renders(GLMHeader)
def render_glm_header(h: GLMHeader) -> str:
    """Stata 17's compact header: the right block's labels at 57, ``=`` at 71."""
    values = [fmt_fc(h.n_obs, 0).strip(), fmt_f(h.chi2, 0, 2).strip(), fmt_f(h.p, 0, 4).strip(),
              fmt_f(h.r2_p, 0, 4).strip()]
    width = max(6, *(len(v) for v in values))

    def right(left: str, label: str, value: str) -> str:
        return left.ljust(56) + label.ljust(14) + "= " + value.rjust(width)

    return "\n".join(["", right(h.title, "Number of obs", values[0]),
                      right("", f"LR chi2({h.df_m})", values[1]),
                      right("", "Prob > chi2", values[2]),
                      right(f"Log likelihood = {fmt_g(h.ll, 10).strip()}", "Pseudo R2", values[3])])
