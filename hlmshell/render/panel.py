"""Stata 17's layouts of xtreg (fe, re, mle) and xtsum.

xtreg's fe and re headers have the right-hand block at column 49 with ``=`` at 67 and values ending
at 78 (as ``mixed``), the R² block ``     Within  = 0.0547``; mle's is ``ml``'s (values aligned to
the widest, lines ending at 78).  Under the coefficients come sigma_u,
sigma_e and rho (``%10.0g``; rho with "(fraction of variance due to u_i)"), or for mle the
/sigma_u, /sigma_e and rho rows with standard errors and intervals, and the closing test line
(``Prob`` at column 62 for fe, 56 for mle).  xtsum: the name and overall/between/within in 16
columns, mean, std. dev., min and max in %9.0g, then N, n and T-bar.
"""

from __future__ import annotations

from hlmshell.lang.abbrev import shorten
from hlmshell.lang.numfmt import fmt_f, fmt_fc, fmt_g
from hlmshell.render import renders
from hlmshell.render.coeftable import coef_table_lines
from hlmshell.results.panel import MLIterations, XtregHeader, XtregOutput, XtsumTable


def _right(left: str, label: str, value: str) -> str:
    return left.ljust(48) + label.ljust(18) + "=" + value


@renders(MLIterations)
def ml_iterations(log: MLIterations) -> str:
    lines = []
    for title, steps in (("Fitting constant-only model:", log.constant_only),
                         ("Fitting full model:", log.full)):
        lines += ["", title]
        lines += [f"Iteration {k}:".ljust(15) + f"log likelihood = {fmt_g(ll, 10)}"
                  for k, ll in enumerate(steps)]
    return "\n".join(lines)


def _theta_lines(theta: tuple[float, ...]) -> list[str]:
    if len(theta) == 1:
        return [f"theta = {fmt_g(theta[0], 9).strip()}"]
    return ["                      theta",
            "  min      5%       median        95%      max",
            fmt_f(theta[0], 6, 4) + fmt_f(theta[1], 9, 4) + fmt_f(theta[2], 11, 4)
            + fmt_f(theta[3], 11, 4) + fmt_f(theta[4], 9, 4)]


def _ml_header(h: XtregHeader) -> list[str]:
    """The ``ml`` header of xtreg, mle: 17-character labels and ``=`` with the values right-aligned
    to the widest, the block placed so that the lines end at column 78."""
    values = {"Number of obs": fmt_fc(h.n_obs, 0), "Number of groups": fmt_fc(h.n_groups, 0),
              "min": fmt_fc(h.g_min, 0), "avg": fmt_f(h.g_avg, 0, 1), "max": fmt_fc(h.g_max, 0),
              h.test_label: fmt_f(h.test, 0, 2), h.p_label: fmt_f(h.p, 0, 4)}
    w = max(len(v) for v in values.values())
    start = 78 - (17 + 2 + w)

    def right(left: str, label: str, align_right: bool = False) -> str:
        shown = label.rjust(16) if align_right else label.ljust(17)
        return left.ljust(start) + shown.ljust(17) + "= " + values[label].rjust(w)

    return ["", right(h.title, "Number of obs"),
            right(f"Group variable: {shorten(h.panelvar, 12)}", "Number of groups"), "",
            "Random effects u_i ~ Gaussian".ljust(start) + "Obs per group:",
            right("", "min", True), right("", "avg", True), right("", "max", True), "",
            right("", h.test_label), right(f"Log likelihood = {fmt_g(h.ll, 10)}", h.p_label)]


def header_lines(h: XtregHeader) -> list[str]:
    if h.ll is not None:
        return _ml_header(h)
    lines = ["", _right(h.title, "Number of obs", fmt_fc(h.n_obs, 11)),
             _right(f"Group variable: {shorten(h.panelvar, 12)}", "Number of groups",
                    fmt_fc(h.n_groups, 11)), ""]
    left = ["R-squared:", f"     Within  = {fmt_f(h.r2[0], 6, 4)}",
            f"     Between = {fmt_f(h.r2[1], 6, 4)}", f"     Overall = {fmt_f(h.r2[2], 6, 4)}"]
    lines.append(left[0].ljust(48) + "Obs per group:")
    for text, label, value in ((left[1], "min", fmt_fc(h.g_min, 11)),
                               (left[2], "avg", fmt_fc(h.g_avg, 11, 1)),
                               (left[3], "max", fmt_fc(h.g_max, 11))):
        lines.append(text.ljust(62) + f"{label} =" + value)
    lines.append("")
    lines += [_right("", h.test_label, fmt_f(h.test, 11, 2)),
              _right(h.corr or "", h.p_label, fmt_f(h.p, 11, 4))]
    if h.theta is not None:
        lines += _theta_lines(h.theta)
    return lines


def _sigma_line(label: str, value: float, w: int, note: str = "") -> str:
    return f"{label:>{w}} |" + fmt_g(value, 10).rjust(11) + note


@renders(XtregOutput)
def render_xtreg(out: XtregOutput) -> str:
    lines = [] if out.header is None else header_lines(out.header)
    table = coef_table_lines(out.coefs)
    if out.coefs.t:
        table[1] = table[1].replace("      z    P>|z|", "      t    P>|t|")
    w = table[2].index("+")
    mid = "-" * w + "+" + "-" * 64
    body = [*table[:-1], mid]
    for row in out.sigmas:
        if row.se is None:
            note = "   (fraction of variance due to u_i)" if row.label == "rho" else ""
            body.append(_sigma_line(row.label, row.coef, w - 1, note))
        else:
            body.append(f"{row.label:>{w - 1}} |" + fmt_g(row.coef, 9).rjust(11)
                        + fmt_g(row.se, 9).rjust(11) + " " * 17
                        + fmt_g(row.lower, 9).rjust(13) + fmt_g(row.upper, 9).rjust(12))
    body.append(table[-1])
    if out.footer:
        body.append(out.footer)
    return "\n".join([*lines, "", *body])


@renders(XtsumTable)
def render_xtsum(t: XtsumTable) -> str:
    rule = "-" * 17 + "+" + "-" * 44 + "+" + "-" * 16
    lines = ["", "Variable".ljust(17) + "|" + "      Mean" + "  Std. dev." + "        Min"
             + "        Max" + " |    Observations", rule]
    for r in t.rows:
        def cells(stats: tuple[float, float, float], mean: float | None = None) -> str:
            head = " " * 10 if mean is None else " " + fmt_g(mean, 9)
            return head + "".join("  " + fmt_g(v, 9) for v in stats) + " |"
        big_t = f"{'T' if r.balanced else 'T-bar'} = " + fmt_g(r.T, 7)
        lines += [f"{shorten(r.name, 8):<8} overall |" + cells(r.overall, r.mean)
                  + "     N = " + fmt_g(float(r.N), 7),
                  " " * 9 + "between |" + cells(r.between) + "     n = " + fmt_g(float(r.n), 7),
                  " " * 9 + "within  |" + cells(r.within) + " " + big_t.rjust(15)]
        lines.append(" " * 17 + "|" + " " * 44 + "|")
    return "\n".join(lines[:-1])
