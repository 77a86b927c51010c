"""describe [varlist]: the dataset's size and each variable's storage, format and label."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hlmshell.results.data import DescribeRow, DescribeTable
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("Describe", "[varlist] [, Short]")
def describe(session: Session, args: Args) -> DescribeTable:
    """Describe the data in memory: observations, variables, storage types and labels."""
    from hlmshell.data import files as datasets

    rows = [DescribeRow(name, datasets.storage_type(session.data[name]),
                        datasets.display_format(session.data[name]),
                        session.label_names.get(name, ""),
                        session.var_labels.get(name, "")) for name in args.varlist]
    stamp = None
    if session.filename and Path(session.filename).is_file():
        stamp = datetime.fromtimestamp(Path(session.filename).stat().st_mtime)
    session.r = Results(scalars={"N": float(session.nobs), "k": float(len(session.variables)),
                                 "changed": float(session.changed)})
    return DescribeTable(session.filename, session.nobs, len(session.variables), stamp,
                         [] if args.short else rows, list(session.sortedby), short=bool(args.short))
