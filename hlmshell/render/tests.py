"""``test`` and ``lincom`` output in Stata's layout."""

from __future__ import annotations

from hlmshell.lang.numfmt import fmt_f, is_missing
from hlmshell.render import renders
from hlmshell.render.coeftable import coef_table_lines
from hlmshell.results.tests import LincomOutput, WaldTestOutput


def _constraint_lines(constraints: tuple[str, ...]) -> list[str]:
    return [f" ({k:2d})  {text}" for k, text in enumerate(constraints, start=1)]


@renders(WaldTestOutput)
def render_test(t: WaldTestOutput) -> str:
    lines = ["", *_constraint_lines(t.constraints)]
    lines += [f"       Constraint {k} dropped" for k in t.dropped]
    lines.append("")
    if t.ddf is not None:
        if is_missing(t.ddf):
            lines.append(f"       F( {t.df} , . ) = .")
        else:
            lines += [f"       F({t.df:3d},{fmt_f(t.ddf, 6, 2)}) =" + fmt_f(t.F, 8, 2),
                      "            Prob > F =" + fmt_f(t.p, 10, 4)]
    elif t.F is not None:
        lines += [f"       F({t.df:3d},{t.df_r:6d}) =" + fmt_f(t.F, 8, 2),
                  "            Prob > F =" + fmt_f(t.p, 10, 4)]
    else:
        lines += [f"           chi2({t.df:3d}) =" + fmt_f(t.chi2, 8, 2),
                  "         Prob > chi2 =" + fmt_f(t.p, 10, 4)]
    return "\n".join(lines)


@renders(LincomOutput)
def render_lincom(out: LincomOutput) -> str:
    table = coef_table_lines(out.table)
    if out.t:
        table[1] = table[1].replace("      z    P>|z|", "      t    P>|t|")
    return "\n".join(["", *_constraint_lines((out.constraint,)), "", *table])
