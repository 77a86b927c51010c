"""``estat wcorrelation``: the title, then the standard deviations and the lower triangle of the
correlations (or the covariances), as ``matlist`` lays them out: the ``obs`` column eight wide,
each entry in the display format two spaces apart, columns in blocks that fit 79 characters."""

from __future__ import annotations

import re

from hlmshell.lang.numfmt import fmt_num
from hlmshell.render import renders
from hlmshell.results.wcorrelation import WCorrelation

LABEL = 8
LINESIZE = 79


def _width(fmt: str) -> int:
    m = re.match(r"%-?(\d+)", fmt)
    return int(m.group(1)) if m else 9


def _matrix(rows: list[tuple[str, list[float | None]]], ncols: int, fmt: str) -> list[str]:
    w = max(_width(fmt), len(str(ncols)))
    per_block = max(1, (LINESIZE - LABEL - 2) // (w + 2))
    lines: list[str] = []
    for start in range(0, ncols, per_block):
        cols = range(start, min(start + per_block, ncols))
        if lines:
            lines.append("")
        lines.append("obs".rjust(LABEL) + " |" + "".join(f"  {c + 1:>{w}}" for c in cols))
        lines.append("-" * (LABEL + 1) + "+" + "-" * ((w + 2) * len(cols)))
        for label, values in rows:
            shown = [values[c] for c in cols]
            if all(v is None for v in shown):
                continue
            lines.append(label.rjust(LABEL) + " |" + "".join(
                "" if v is None else "  " + fmt_num(v, fmt).strip().rjust(w) for v in shown))
    return lines


@renders(WCorrelation)
def render_wcorrelation(out: WCorrelation) -> str:
    n = len(out.sd)
    if out.covariance:
        lines = ["", f"Covariances for {out.cluster}:", ""]
        rows = [(str(i + 1), [out.matrix[i][j] if j <= i else None for j in range(n)])
                for i in range(n)]
        return "\n".join(lines + _matrix(rows, n, out.fmt))
    lines = ["", f"Standard deviations and correlations for {out.cluster}:", "",
             "Standard deviations:", ""]
    lines += _matrix([("sd", list(out.sd))], n, out.fmt)
    lines += ["", "Correlations:", ""]
    rows = [(str(i + 1), [out.matrix[i][j] if j <= i else None for j in range(n)])
            for i in range(n)]
    return "\n".join(lines + _matrix(rows, n, out.fmt))
