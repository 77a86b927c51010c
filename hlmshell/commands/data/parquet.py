"""``import parquet`` and ``export parquet``; ``use``/``save`` of a ``.parquet`` file read and write
the same way (:mod:`hlmshell.data.parquet`: types, variable and value labels kept)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlmshell.commands.data.datafiles import _install, _require_clear, export_selection
from hlmshell.errors import syntax_error
from hlmshell.lang.varlist import expand
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from pathlib import Path

    from hlmshell.data.dataset import Dataset
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def read_wanted(path: Path, wanted: str | None) -> Dataset:
    """The file's data, only the variables of the varlist ``wanted`` (read from the footer first,
    so that the other columns are never read)."""
    from hlmshell.data.parquet import parquet_columns, read_parquet

    columns = expand(parquet_columns(path), wanted) if wanted else None
    return read_parquet(path, columns)


@command("import PARQuet", "[anything] [if] [in] [using] [, clear]")
def import_parquet(session: Session, args: Args) -> Text:
    """Read a Parquet file: ``import parquet filename`` or ``import parquet [varlist] [if] [in]
    using filename``."""
    from hlmshell.data import files as datasets
    from hlmshell.lang.expr import row_mask
    from hlmshell.shell.session import Session

    if args.using is None:
        if args.if_ is not None or args.in_ is not None or not args.anything:
            raise syntax_error()
        name, wanted = args.anything, None
    else:
        name, wanted = args.using, args.anything or None
    _require_clear(session, args.clear)
    path, _ = datasets.find_input(session.cwd, name, ".parquet")
    contents = read_wanted(path, wanted)
    if args.if_ is not None or args.in_ is not None:
        staged = Session(data=contents.data, out=session.out, cwd=session.cwd)
        contents.data = contents.data.loc[row_mask(staged, args.if_, args.in_)]
    _install(session, contents, None, changed=True)
    k, n = contents.data.shape[1], len(contents.data)
    return Text(f"({k:,} var{'s' if k != 1 else ''}, {n:,} obs)")


@command("export PARQuet", "[anything] [if] [in] [using] [, replace]")
def export_parquet(session: Session, args: Args) -> Text:
    """Write the data (or some variables) to a Parquet file with their labels:
    ``export parquet filename`` or ``export parquet [varlist] [if] [in] using filename``."""
    from hlmshell.data.parquet import write_parquet

    frame, path, shown = export_selection(session, args, ".parquet")
    write_parquet(frame, path, session.var_labels, session.label_sets, session.label_names,
                  shown=shown)
    return Text(f"file {shown} saved")
