"""``predict``: new variables from the active model, through the fitted-model protocol.

The model says what it can compute (:attr:`FittedModel.statistics`) and computes it on the data in
memory, by the values of the variables (so a sort or a drop after estimation changes nothing).  A
statistic the model does not offer is refused like any undeclared option.
"""

from __future__ import annotations

import numpy as np

from hlmshell.errors import StataError
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import row_mask
from hlmshell.render import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

STATISTICS = ("XB", "STDP", "FITted", "RESiduals", "RSTandard", "REFfects", "RESEs")


@command("PREDict", f"newvarlist [if] [in] [, {' '.join(STATISTICS)}]")
def predict(session: Session, args: Args) -> Text | None:
    """Predictions after estimation: xb, stdp, fitted, residuals, rstandard, reffects, reses."""
    from hlmshell.model.protocol import statistic

    e = session.e
    if e is None or e.model is None:
        raise StataError("last estimates not found", 301)
    model = e.model
    chosen = [name for name in (s.lower() for s in STATISTICS) if getattr(args, name)]
    if len(chosen) > 1:
        raise StataError("only one statistic may be specified", 198)
    stat = statistic(model, chosen[0] if chosen else model.statistics[0].name)
    if stat is None:
        raise StataError(f"option {chosen[0]} not allowed", 198)
    names = args.newvars
    if len(names) != stat.count:
        if stat.count == 1:
            raise StataError("too many variables specified", 103)
        raise StataError(f"you must specify {stat.count} new variable"
                         f"{'s' if stat.count > 1 else ''}", 103 if len(names) > stat.count else 102)
    mask = row_mask(session, args.if_, args.in_)
    columns = model.predict(stat.name, session.data)
    labels = stat.labels or (stat.label,) * stat.count
    data = session.data.copy()
    missing = 0
    for name, col, label in zip(names, columns, labels):
        col = np.where(mask, col, np.nan)
        if args.storage_type != "double":
            col = col.astype(np.float32).astype(np.float64)
        data[name] = col
        missing = int(np.isnan(col).sum())
        session.var_labels[name] = label
    session.set_data(data)
    if missing:
        return Text(f"({missing:,} missing value{'s' if missing != 1 else ''} generated)")
    return None
