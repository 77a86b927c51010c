"""merge 1:1|m:1|1:m varlist using filename [, keep() keepusing() generate() nogenerate noreport]

The data in memory are the master.  Variables of the using file that the master also has keep the
master's values.  The result holds the matched and master-only observations in master order, then
the using-only observations, sorted by the key variables; ``_merge`` records 1 (master only),
2 (using only) or 3 (matched), and Stata's table of those counts is printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.lang.varlist import expand, new_name
from hlmshell.results.data import MergeReport
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    import pandas as pd

    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session

_KEEP = {"master": 1, "match": 3, "matched": 3, "using": 2, "1": 1, "2": 2, "3": 3}


def _check_unique(data: pd.DataFrame, keys: list[str], which: str) -> None:
    if data.duplicated(subset=keys).any():
        subject = f"variable {keys[0]} does" if len(keys) == 1 else f"variables {' '.join(keys)} do"
        raise StataError(f"{subject} not uniquely identify observations in the {which} data", 459)


@command("merge", "anything using [, KEEP(string) KEEPUSing(string) GENerate(name) NOGENerate "
                  "noREPort]")
def merge(session: Session, args: Args) -> MergeReport | None:
    """Add variables from a dataset on disk, matching observations on key variables."""
    import pandas as pd

    from hlmshell.data import files as datasets

    keep_text, keepusing = args.keep, args.keepusing
    if args.nogenerate and args.generate is not None:
        raise StataError("options generate() and nogenerate may not be combined", 198)
    kind, _, keyspec = args.anything.strip().partition(" ")
    if kind not in ("1:1", "m:1", "1:m"):
        raise StataError("merge: specify 1:1, m:1 or 1:m (m:m is not supported)", 198)
    keys = expand(session.variables, keyspec)
    mergevar = None if args.nogenerate else new_name(session.variables, args.generate or "_merge")
    path, _ = datasets.find_input(session.cwd, args.using)
    contents = datasets.read_dta(path)
    using, using_labels = contents.data, contents.var_labels
    missing = [k for k in keys if k not in using.columns]
    if missing:
        raise StataError(f"variable {missing[0]} not found in using data", 111)
    for k in keys:
        if session.is_string(k) != (not pd.api.types.is_numeric_dtype(using[k].dtype)):
            raise StataError(f"key variable {k} is str in one dataset and numeric in the other",
                             106)
    if kind[0] == "1":
        _check_unique(session.data, keys, "master")
    if kind[2] == "1":
        _check_unique(using, keys, "using")
    extra = [c for c in using.columns if c not in keys]
    if keepusing is not None:
        extra = [c for c in expand(extra, keepusing) if c not in keys]
    extra_new = [c for c in extra if c not in session.variables]

    master = session.data.copy()
    master["__master_row"] = np.arange(len(master))
    right = using[keys + extra_new].copy()
    right["__using_row"] = np.arange(len(right))
    joined = master.merge(right, on=keys, how="outer", sort=False, indicator=True)
    code = joined["_merge"].map({"left_only": 1, "right_only": 2, "both": 3}).astype(np.int8)
    joined = joined.drop(columns="_merge")
    joined["__code"] = code.to_numpy()
    joined = joined.sort_values(keys + ["__master_row", "__using_row"], kind="stable",
                                na_position="last").reset_index(drop=True)
    counts = {c: int((joined["__code"] == c).sum()) for c in (1, 2, 3)}
    report = MergeReport(counts[1], counts[2], counts[3], mergevar)

    if keep_text is not None:
        wanted = set()
        for word in keep_text.split():
            hits = [v for k, v in _KEEP.items() if k == word or (len(word) >= 3 and k.startswith(word))]
            if not hits:
                raise StataError(f"keep({keep_text}) invalid", 198)
            wanted.add(hits[0])
        joined = joined[joined["__code"].isin(wanted)].reset_index(drop=True)
    # The index says where each observation came from, so that master observations keep their keys
    # (e(sample) still finds them) and using-only ones are new.
    master_row = joined["__master_row"].to_numpy(dtype=float)
    fresh = np.isnan(master_row)
    origin = np.where(fresh, len(master) + np.cumsum(fresh) - 1, np.nan_to_num(master_row))
    result = joined.drop(columns=["__master_row", "__using_row"])
    result.index = origin.astype(np.int64)
    for col in extra_new:
        _restore_dtype(result, col, using[col].dtype)
    for col in session.variables:
        _restore_dtype(result, col, session.data[col].dtype)
    codes = result.pop("__code")
    if mergevar is not None:
        result[mergevar] = codes.astype(np.int8).to_numpy()
    labels = dict(session.var_labels)
    for col in extra_new:
        if col in using_labels:
            labels[col] = using_labels[col]
    session.set_data(result)
    session.var_labels = {k: v for k, v in labels.items() if k in result.columns}
    # value labels the master lacks come from the using file, as Stata's merge copies them
    session.label_sets = {**contents.label_sets, **session.label_sets}
    session.label_names = {**session.label_names,
                           **{c: n for c, n in contents.label_names.items() if c in extra_new}}
    if mergevar is not None:
        # merge.ado labels its variable (whatever generate() names it) with the value label _merge
        session.var_labels[mergevar] = "Matching result from merge"
        session.label_sets["_merge"] = dict(MERGE_LABELS)
        session.label_names[mergevar] = "_merge"
    session.sortedby = list(keys)
    return report if args.report else None


MERGE_LABELS = {1.0: "Master only (1)", 2.0: "Using only (2)", 3.0: "Matched (3)",
                4.0: "Missing updated (4)", 5.0: "Nonmissing conflict (5)"}


def _restore_dtype(frame: pd.DataFrame, col: str, dtype: object) -> None:
    """Integer columns that pandas widened to float for the join go back when nothing is missing."""
    import pandas as pd

    if pd.api.types.is_integer_dtype(dtype) and frame[col].notna().all():
        frame[col] = frame[col].astype(dtype)
