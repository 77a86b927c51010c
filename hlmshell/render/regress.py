"""``regress`` output: Stata's ANOVA-style header and the coefficient table with t and P>|t|.

Header geometry (Stata 17): a 12-character left column and `` |``, SS (%11.0g in 12), df (%9.0fc in
10) and MS (%11.0g in 12); on the right, three blanks, a 16-character label, ``=`` and the value in
10 characters (N %10.0fc, F %10.2f, probabilities and R² %10.4f, Root MSE %7.0g).
"""

from __future__ import annotations

from hlmshell.lang.numfmt import fmt_f, fmt_fc, fmt_g
from hlmshell.render import renders
from hlmshell.render.coeftable import coef_table_lines
from hlmshell.results.regress import RegressHeader, RegressOutput

_RULE = "-" * 13 + "+" + "-" * 34


def _right(label: str, value: str) -> str:
    return "   " + label.ljust(16) + "=" + value.rjust(10)


def _anova(source: str, ss: float, df: int, ms: float) -> str:
    return source.rjust(12) + " |" + fmt_g(ss, 11).rjust(12) + fmt_fc(df, 10) + fmt_g(ms, 11).rjust(12)


def header_lines(h: RegressHeader) -> list[str]:
    df_t = h.df_m + h.df_r
    total = h.mss + h.rss
    ms_m = h.mss / h.df_m if h.df_m else float("nan")
    ms_r = h.rss / h.df_r if h.df_r else float("nan")
    ms_t = total / df_t if df_t else float("nan")
    return [
        "      Source |       SS           df       MS   " + _right("Number of obs", fmt_fc(h.n_obs, 10)),
        _RULE + _right(f"F({h.df_m}, {h.df_r})", fmt_f(h.F, 10, 2)),
        _anova("Model", h.mss, h.df_m, ms_m) + _right("Prob > F", fmt_f(h.p_F, 10, 4)),
        _anova("Residual", h.rss, h.df_r, ms_r) + _right("R-squared", fmt_f(h.r2, 10, 4)),
        _RULE + _right("Adj R-squared", fmt_f(h.r2_a, 10, 4)),
        _anova("Total", total, df_t, ms_t) + _right("Root MSE", fmt_g(h.rmse, 7)),
    ]


def coef_lines(output: RegressOutput) -> list[str]:
    """The shared coefficient table, with Stata's t-based column titles."""
    lines = coef_table_lines(output.coefs)
    lines[1] = lines[1].replace("      z    P>|z|", "      t    P>|t|")
    return lines


@renders(RegressOutput)
def render_regress(output: RegressOutput) -> str:
    head = [] if output.header is None else ["", *header_lines(output.header)]
    return "\n".join([*head, "", *coef_lines(output)])
