"""append using filename [filename ...] [, generate(newvar) keep(varlist) nolabel force]: add the
observations of Stata datasets after those in memory.

Variables the files do not share are missing where they are absent; a variable that is a string
in one dataset and numeric in the other is refused (``force`` keeps the master's and makes the
appended values missing).  Value labels the master lacks come from the files unless ``nolabel``.
The master's observations keep their keys; the appended ones are new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def _kind(is_string: bool) -> str:
    return "str" if is_string else "numeric"


@command("append", "[anything] using [, GENerate(name) KEEP(string) NOLabel FORCE]")
def append(session: Session, args: Args) -> None:
    """Append datasets to the data in memory."""
    import pandas as pd

    from hlmshell.data import files as datasets
    from hlmshell.lang.scan import unquote
    from hlmshell.lang.varlist import expand, new_name

    names = [unquote(w) for w in args.using.split()] if args.using else []
    if args.anything or not names:
        raise StataError("invalid file specification", 198)
    gen = new_name(session.variables, args.generate) if args.generate else None
    master = session.data.copy()
    frames = [master]
    sources = [np.zeros(len(master))]
    sets, attached, var_labels = {}, {}, {}
    for k, name in enumerate(names, start=1):
        path, _ = datasets.find_input(session.cwd, name)
        contents = datasets.read_dta(path)
        using = contents.data
        if args.keep:
            using = using[expand([str(c) for c in using.columns], args.keep)]
        for col in using.columns:
            if col not in master.columns:
                continue
            ours = not pd.api.types.is_numeric_dtype(master[col].dtype)
            theirs = not pd.api.types.is_numeric_dtype(using[col].dtype)
            if ours != theirs:
                if not args.force:
                    raise StataError(f"variable {col} is {_kind(ours)} in master but "
                                     f"{_kind(theirs)} in using data", 106)
                using = using.assign(**{col: "" if ours else np.nan})
        frames.append(using)
        sources.append(np.full(len(using), float(k)))
        sets = {**contents.label_sets, **sets}
        attached = {**contents.label_names, **attached}
        var_labels = {**contents.var_labels, **var_labels}
    combined = pd.concat(frames, ignore_index=True, sort=False)
    for col in combined.columns:
        if combined[col].dtype == object:
            combined[col] = combined[col].where(combined[col].notna(), "")
        elif col in master.columns and master[col].dtype.kind in "iu" and combined[col].notna().all():
            combined[col] = combined[col].astype(master[col].dtype)
    if gen is not None:
        combined[gen] = np.concatenate(sources).astype(np.int8)
    labels, mine = dict(session.var_labels), dict(session.label_names)
    session.set_data(combined)           # a plain longer index: the master's keys, then new ones
    session.var_labels = {**{k: v for k, v in var_labels.items() if k not in master.columns}, **labels}
    if not args.nolabel:
        session.label_sets = {**sets, **session.label_sets}
        session.label_names = {**{k: v for k, v in attached.items() if k not in master.columns},
                               **mine}
    session.sortedby = []
