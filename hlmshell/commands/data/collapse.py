"""collapse (stat) varlist [(stat) target=var ...] [if] [in] [, by(varlist) cw]: a dataset of
summary statistics, one observation per by-group.

As Stata's collapse: the default statistic is the mean; statistics ignore missing values (``sum``
of nothing is 0, ``count`` counts nonmissing values, ``percent`` is the group's share of all the
nonmissing values, ``first``/``last`` take the values as they are, ``firstnm``/``lastnm`` the
first and last nonmissing); ``cw`` first drops observations with any collapsed variable missing.
Groups are sorted by the by-variables (missing values form groups of their own); the results are
``float`` (``double`` for sums and for double sources, ``long`` for counts), labelled
``(stat) label``; the by-variables keep their labels.  The result is a new dataset: its observations
have new keys, so an earlier e(sample) matches none.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.data import statistics as stats
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang import varlist
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_STAT = re.compile(r"\(\s*(\w+)\s*\)")
_EXTRA = ("rawsum", "percent")
Target = tuple[str, str, str]          # (statistic, new name, source variable)


def parse_clist(text: str, variables: list[str]) -> list[Target]:
    """``(mean) a b (sd) sa=a`` → [("mean", "a", "a"), ("mean", "b", "b"), ("sd", "sa", "a")]."""
    out: list[Target] = []
    stat = "mean"
    text = re.sub(r"\s*=\s*", "=", text)
    for m in re.finditer(r"\(\s*\w+\s*\)|\S+", text):
        word = m.group(0)
        if word.startswith("("):
            stat = _STAT.match(word).group(1)
            if stats.statistic(stat) is None and stat not in _EXTRA:
                raise StataError(f"({stat}) invalid statistic", 198)
            continue
        if "=" in word:
            new, _, source = word.partition("=")
            if not new or not source:
                raise syntax_error()
            if not varlist.is_valid_name(new):
                raise StataError(f"{new} invalid name", 198)
            out.append((stat, new, varlist.resolve(variables, source)))
        else:
            out += [(stat, v, v) for v in varlist.expand(variables, word)]
    if not out:
        raise StataError("varlist required", 100)
    return out


def _store_type(stat: str, source_type: str) -> str:
    if stat == "count":
        return "long"
    if stat in ("sum", "rawsum") or source_type == "double":
        return "double"
    return "float"


@command("collapse", "anything [if] [in] [, by(varlist) cw]")
def collapse(session: Session, args: Args) -> None:
    """Replace the data with summary statistics (means, sums, counts, percentiles...) by group."""
    import pandas as pd

    from hlmshell.data import storage
    from hlmshell.data.files import storage_type
    from hlmshell.data.sorting import group_ids, sort_order
    from hlmshell.lang.expr import column_values, row_mask

    targets = parse_clist(args.anything, session.variables)
    by = list(args.options["by"] or [])   # (args.by is the by prefix's groups)
    names = [new for _, new, _ in targets]
    clash = next((n for n in names if names.count(n) > 1 or n in by), None)
    if clash is not None:
        raise StataError(f"{clash} multiply defined" if clash not in by else
                         f"{clash} may not be both a by() variable and a result", 198)
    for _, _, source in targets:
        if session.is_string(source):
            raise StataError(f"variable {source} is string; cannot collapse", 109)
    rows = row_mask(session, args.if_, args.in_)
    if args.cw:
        for _, _, source in targets:
            rows &= ~np.isnan(column_values(session.data, source))
    if not rows.any():
        raise StataError("no observations", 2000)
    data = session.data.loc[rows].reset_index(drop=True)
    order = sort_order(data, by)
    data = data.iloc[order].reset_index(drop=True)
    groups = group_ids(data, by) - 1 if by else np.zeros(len(data), dtype=np.int64)
    n_groups = int(groups.max()) + 1
    first = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    result = {name: data[name].to_numpy()[first] for name in by}
    labels = {b: session.var_labels[b] for b in by if b in session.var_labels}
    for stat, new, source in targets:
        x = column_values(data, source).astype(float)
        if stat == "percent":
            values = 100 * stats.by_group(x, groups, n_groups, stats.count) / max(stats.count(x), 1)
        else:
            fn = stats.total if stat == "rawsum" else stats.statistic(stat)
            values = stats.by_group(x, groups, n_groups, fn)
        kind = _store_type(stat, storage_type(session.data[source]))
        result[new] = storage.numeric_series(values, kind).to_numpy()
        labels[new] = f"({stat}) {session.var_labels.get(source) or source}"[:80]
    frame = pd.DataFrame({k: result[k] for k in [*by, *names]})
    attached = {b: session.label_names[b] for b in by if b in session.label_names}
    session.set_data(frame, new=True)
    session.var_labels = labels
    session.label_names = attached
    session.sortedby = list(by)
