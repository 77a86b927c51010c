"""``nlcom``: ``%12s`` names with ``:  `` and each expression (nlcom.ado's ParsePrint), then the
coefficient table headed by the dependent variable."""

from __future__ import annotations

from hlmshell.lang.abbrev import shorten
from hlmshell.render import renders
from hlmshell.render.coeftable import coef_table_lines
from hlmshell.results.nlcom import NlcomOutput


@renders(NlcomOutput)
def render_nlcom(out: NlcomOutput) -> str:
    lines = []
    if out.equations:
        lines += ["", *(f"{shorten(name, 12):>12}:  {exp}" for name, exp in out.equations)]
    table = coef_table_lines(out.table)
    if out.t:
        table[1] = table[1].replace("      z    P>|z|", "      t    P>|t|")
    return "\n".join([*lines, "", *table])
