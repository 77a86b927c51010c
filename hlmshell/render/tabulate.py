"""Stata's one- and two-way tables of frequencies (``tabulate``), with percentages and tests.

A two-way cell shows one line per item asked for (frequency, row, column and cell percentages, in
that order), frequencies in %10.0fc and percentages in %10.2f, each followed by a blank; with more
than one line per cell every row block ends with a rule, and a key box above the table names the
items.  The tests follow after a blank line, labels right-aligned to 25 characters.
"""

from __future__ import annotations

import textwrap

import numpy as np

from hlmshell.lang.numfmt import fmt_f, fmt_fc
from hlmshell.render import renders
from hlmshell.results.tables import OneWayTable, TableTests, TwoWayTable

_KEY = {"freq": "frequency", "row": "row percentage", "col": "column percentage",
        "cell": "cell percentage"}


def _wrap_title(title: str, width: int) -> list[str]:
    return textwrap.wrap(title, width, break_long_words=True) or [""]


@renders(OneWayTable)
def one_way(t: OneWayTable) -> str:
    """Stata's one-way table; a long variable label wraps in the stub (``Repair`` / ``record 1978``).

    The stub is as wide as the longest text shown or the longest label the variable's value labels
    hold, at least 11 (Stata's ``tab _merge`` of matches only is 23 wide: ``Nonmissing conflict
    (5)``).
    """
    total = sum(t.freqs)
    width = max([11, t.label_width] + [len(v) for v in t.texts])
    title = _wrap_title(t.title, width)
    rule = "-" * (width + 1) + "+" + "-" * 35
    lines = [""]
    lines += [f"{part:>{width}} |" for part in title[:-1]]
    lines.append(f"{title[-1]:>{width}} |      Freq.     Percent        Cum.")
    lines.append(rule)
    cum = 0
    for label, freq in zip(t.texts, t.freqs):
        cum += freq
        lines.append(f"{label:>{width}} |{fmt_fc(freq, 11)}{fmt_f(100 * freq / total, 12, 2)}"
                     f"{fmt_f(100 * cum / total, 12, 2)}")
    lines.append(rule)
    lines.append(f"{'Total':>{width}} |{fmt_fc(total, 11)}{fmt_f(100.0, 12, 2)}")
    return "\n".join(lines)


def _cell_lines(t: TwoWayTable) -> list[np.ndarray]:
    """For each item of the cells, the (r+1) x (c+1) table of numbers, totals last."""
    counts = t.counts.astype(float)
    full = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1))
    full[:-1, :-1] = counts
    full[-1, :-1] = counts.sum(axis=0)
    full[:-1, -1] = counts.sum(axis=1)
    full[-1, -1] = counts.sum()
    with np.errstate(all="ignore"):
        items = {"freq": full, "row": 100 * full / full[:, -1:], "col": 100 * full / full[-1:, :],
                 "cell": 100 * full / full[-1, -1]}
    return [items[c] for c in t.cells]


def _key(cells: tuple[str, ...]) -> list[str]:
    texts = ["Key"] + [_KEY[c] for c in cells]
    w = max(len(x) for x in texts)
    rule = "+" + "-" * (w + 2) + "+"
    return [rule, f"| {'Key'.ljust(w)} |", "|" + "-" * (w + 2) + "|",
            *(f"| {_KEY[c].ljust(w)} |" for c in cells), rule]


@renders(TwoWayTable)
def two_way(t: TwoWayTable) -> str:
    """Stata's two-way table: a stub of width 10, one 11-wide column per value, Total last.

    Columns beyond what fits in 80 characters continue in further panels, as Stata does.
    """
    rows = list(t.row_texts)
    cols = [c[:10] for c in t.col_texts]
    width = max([10] + [len(v) for v in rows])
    tables = _cell_lines(t)
    several = len(tables) > 1
    per_panel = max(1, (80 - (width + 2) - 11) // 11)
    starts = list(range(0, len(cols), per_panel)) or [0]
    lines: list[str] = []
    if t.key:
        lines += ["", *_key(t.cells)]
    for start in starts:
        panel = list(range(start, min(start + per_panel, len(cols))))
        last = start == starts[-1]
        shown = panel + ([len(cols)] if last else [])
        area = 11 * len(panel)
        rule = "-" * (width + 1) + "+" + "-" * area + ("+" + "-" * 10 if last else "")
        row_title = _wrap_title(t.row_title, width)
        head = row_title[:-1] or [""]
        col_title = t.col_title[:area]
        lines.append("")
        lines += [f"{part:>{width}} |" for part in head[:-1]]
        lines.append(f"{head[-1]:>{width}} |" + " " * ((area - len(col_title) + 1) // 2) + col_title)
        lines.append(f"{row_title[-1]:>{width}} |" + "".join(f"{cols[j]:>10} " for j in panel)
                     + ("|     Total" if last else ""))
        lines.append(rule)
        for i, label in enumerate([*rows, "Total"]):
            if i == len(rows) and not several:
                lines.append(rule)
            for k, (item, table) in enumerate(zip(t.cells, tables)):
                texts = [fmt_fc(table[i, j], 10) if item == "freq" else fmt_f(table[i, j], 10, 2)
                         for j in shown]
                stub = label if k == 0 else ""
                body = "".join(x + " " for x in texts[:len(panel)])
                total = ("|" + texts[-1] + " ") if last else ""
                lines.append(f"{stub:>{width}} |" + body + total)
            if several and i < len(rows):
                lines.append(rule)
    if t.tests is not None:
        lines += ["", *test_lines(t.tests)]
    return "\n".join(lines)


def test_lines(tests: TableTests) -> list[str]:
    """``Pearson chi2(1) =   4.1698   Pr = 0.041`` and the other statistics asked for."""
    lines = []
    for name, result in (("Pearson", tests.pearson), ("Likelihood-ratio", tests.lr)):
        if result is not None:
            chi2, df, p = result
            lines.append(f"{name + f' chi2({df})':>25} = " + fmt_f(chi2, 8, 4) + "   Pr = "
                         + fmt_f(p, 5, 3))
    if tests.cramers_v is not None:
        lines.append(f"{'Cramér' + chr(39) + 's V':>25} = " + fmt_f(tests.cramers_v, 8, 4))
    if tests.fisher is not None:
        lines.append(f"{'Fisher' + chr(39) + 's exact':>25} = " + fmt_f(tests.fisher, 21, 3))
    if tests.fisher_one_sided is not None:
        lines.append(f"{'1-sided Fisher' + chr(39) + 's exact':>25} = "
                     + fmt_f(tests.fisher_one_sided, 21, 3))
    return lines
