"""Data in and out of memory: use, save, import/export delimited, clear, preserve/restore."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlmshell.data.dataset import Dataset
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.varlist import expand
from hlmshell.results.shell import Text
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


def _require_clear(session: Session, clear: bool) -> None:
    """Stata refuses to replace changed data unless told ``clear``."""
    if session.changed and not clear and session.nobs + len(session.variables) > 0:
        raise StataError("no; dataset in memory has changed since last saved", 4)


def _install(session: Session, contents: Dataset, filename: str | None, *, changed: bool) -> None:
    """Another dataset in memory: its observations are new ones (an earlier e(sample) has none);
    its labels replace the old ones, and it has no characteristics (not xtset, not reshaped)."""
    session.var_labels = dict(contents.var_labels)
    session.label_sets = dict(contents.label_sets)
    session.label_names = dict(contents.label_names)
    session.sortedby = []
    session.chars = {}
    session.set_data(contents.data, changed=changed, new=True)
    session.filename = filename


@command("Use", "[anything] [if] [in] [using] [, clear]")
def use(session: Session, args: Args) -> None:
    """Load a Stata dataset (.dta); a bare name also finds the bundled data/ files.

    ``use filename`` or ``use [varlist] [if] [in] using filename``.
    """
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
    path, _ = datasets.find_input(session.cwd, name)
    if path.suffix.lower() == ".parquet":
        from hlmshell.commands.data.parquet import read_wanted

        contents = read_wanted(path, wanted)
    else:
        contents = datasets.read_dta(path)
    data = contents.data
    if wanted is not None or args.if_ is not None or args.in_ is not None:
        staged = Session(data=data, out=session.out, cwd=session.cwd)
        keep = expand(list(map(str, data.columns)), wanted) if wanted else list(data.columns)
        rows = row_mask(staged, args.if_, args.in_)
        contents.data = data.loc[rows, keep]
    _install(session, contents, str(path), changed=False)
    return None


@command("SAve", "[filename(.dta)] [, replace]")
def save(session: Session, args: Args) -> Text:
    """Save the data in memory as a Stata dataset (.dta); the bundled data are read-only."""
    from hlmshell.data import files as datasets

    name = args.filename or session.filename
    if not name:
        raise StataError("invalid file specification", 198)
    path, shown = datasets.output_path(session.cwd, name)
    notes = []
    if path.exists() and not args.replace:
        raise StataError(f"file {shown} already exists", 602)
    if args.replace and not path.exists():
        notes.append(f"(file {shown} not found)")
    if path.suffix.lower() == ".parquet":
        from hlmshell.data.parquet import write_parquet

        write_parquet(session.data, path, session.var_labels, session.label_sets,
                      session.label_names, shown=shown)
    else:
        datasets.write_dta(session.data, path, session.var_labels, session.label_sets,
                           session.label_names, shown=shown)
    session.filename = str(path)
    session.changed = False
    # Stata says which format a file of another extension holds (a tempfile, foo.xpt)
    as_dta = " as .dta format" if path.suffix.lower() not in (".dta", ".parquet") else ""
    notes.append(f"file {shown} saved{as_dta}")
    return Text("\n".join(notes))


@command("import", "", subcommand_error="import: unknown subcommand {word}")
def import_(session: Session, args: Args) -> None:
    """Read data from other formats (import delimited)."""
    raise StataError("import: subcommand required", 198)


@command("import DELIMited", "[filename(.csv)] [using] [, clear asdouble VARNAMEs(string) "
         "DELIMiters(string) case(string lower)]")
def import_delimited(session: Session, args: Args) -> Text:
    """Read a comma- or tab-separated text file."""
    from hlmshell.data import files as datasets

    names, delim, case = args.varnames, args.delimiters, args.case
    if names not in (None, "1", "nonames"):
        raise StataError("varnames() invalid", 198)
    if case not in ("preserve", "lower", "upper"):
        raise StataError("case() invalid", 198)
    name = args.using if args.using is not None else args.filename
    if not name or (args.using is not None and args.filename):
        raise syntax_error()
    _require_clear(session, args.clear)
    path, _ = datasets.find_input(session.cwd, name, ".csv")
    sep = None if delim is None else delim.replace("\\t", "\t").replace("tab", "\t")
    if sep is not None and len(sep) != 1:       # one character (no asstring: not implemented)
        raise StataError("delimiters() invalid", 198)
    return load_delimited(session, path, clear=True, delimiter=sep, header=names != "nonames",
                          asdouble=args.asdouble, case=case)


def load_delimited(session: Session, path: Path, *, clear: bool, delimiter: str | None = None,
                   header: bool = True, asdouble: bool = False, case: str = "lower") -> Text:
    """Read a text file into memory as ``import delimited`` does (also ``sysuse exam``)."""
    from hlmshell.data import files as datasets

    _require_clear(session, clear)
    contents, notes = datasets.read_delimited(path, delimiter=delimiter, header=header,
                                              asdouble=asdouble, case=case)
    _install(session, contents, None, changed=True)
    data = contents.data
    return Text("\n".join([*notes, f"({data.shape[1]:,} var{'s' if data.shape[1] != 1 else ''}, "
                                    f"{len(data):,} obs)"]))


def load_dta(session: Session, path: Path, *, clear: bool) -> None:
    """Read a whole .dta file into memory (``sysuse hsb``)."""
    from hlmshell.data import files as datasets

    _require_clear(session, clear)
    _install(session, datasets.read_dta(path), str(path), changed=False)


@command("export", "", subcommand_error="export: unknown subcommand {word}")
def export(session: Session, args: Args) -> None:
    """Write the data to other formats (export delimited)."""
    raise StataError("export: subcommand required", 198)


@command("export DELIMited", "[anything] [if] [in] [using] [, replace DELIMiter(string)]")
def export_delimited(session: Session, args: Args) -> Text:
    """Write the data (or some variables) to a comma-separated text file.

    ``export delimited [varlist] using filename`` or ``export delimited filename``.
    """
    from hlmshell.data import files as datasets

    frame, path, shown = export_selection(session, args, ".csv")
    sep = "," if args.delimiter is None else args.delimiter.replace("tab", "\t")
    datasets.write_delimited(frame, path, sep, shown=shown)
    return Text(f"file {shown} saved")


def export_selection(session: Session, args: Args, ext: str) -> tuple[pd.DataFrame, Path, str]:
    """What an ``export`` writes and where: ``export x filename`` (all the data) or ``export x
    [varlist] [if] [in] using filename``; an existing file without ``replace`` is r(602)."""
    from hlmshell.data import files as datasets
    from hlmshell.lang.expr import row_mask

    if args.using is None:
        if not args.anything:
            raise syntax_error()
        name, varspec = args.anything, ""
    else:
        name, varspec = args.using, args.anything
    keep = expand(session.variables, varspec, allow_empty=True)
    rows = row_mask(session, args.if_, args.in_)
    path, shown = datasets.output_path(session.cwd, name, ext)
    if path.exists() and not args.replace:
        raise StataError(f"file {shown} already exists", 602)
    return session.data.loc[rows, keep], path, shown


_CLEAR = ("", "all", "*", "results", "matrix", "mata", "programs", "ado")


@command("clear", "[anything]")
def clear(session: Session, args: Args) -> None:
    """Drop the data from memory (clear all also drops results, matrices and stored estimates).

    ``clear [all | results | matrix | programs]`` (all drops the programs too); there is no Mata and
    no ado-files here, so ``clear mata`` and ``clear ado`` have nothing to clear.
    """
    import pandas as pd

    what = args.anything.strip()
    if what not in _CLEAR:
        raise syntax_error()
    if what in ("", "all", "*"):
        _install(session, Dataset(pd.DataFrame()), None, changed=False)
    if what in ("all", "*"):
        session.preserved = None
    if what in ("all", "*", "results"):
        session.e = None
        session.r = Results()
        session.estimates = {}
        session.scalars = {}
    if what in ("all", "*", "matrix"):
        session.matrices = {}
    if what in ("all", "*", "programs"):
        session.programs = {}
    return None


@command("preserve", "")
def preserve(session: Session, args: Args) -> None:
    """Keep a copy of the data to come back to with restore."""
    if session.preserved is not None:
        raise StataError("already preserved", 621)
    session.preserved = (Dataset(session.data, dict(session.var_labels), dict(session.label_sets),
                                 dict(session.label_names)),
                         session.filename, session.changed, session.keys.copy(),
                         list(session.sortedby), dict(session.chars))
    return None


@command("restore", "[, not preserve]")
def restore(session: Session, args: Args) -> None:
    """Put back the data saved by preserve (, not: forget it; , preserve: keep it for later)."""
    if args.options["not"] and args.preserve:
        raise syntax_error()
    if session.preserved is None:
        raise StataError("nothing to restore", 622)
    if not args.options["not"]:
        put_back(session)
    if not args.preserve:
        session.preserved = None
    return None


def put_back(session: Session) -> None:
    """The preserved data in memory again (``restore``, and a do-file or program that ends with
    data it preserved)."""
    contents, filename, changed, keys, sortedby, chars = session.preserved
    # the same observations again, so an earlier e(sample) still finds them
    session.set_data(contents.data, changed=changed, keys=keys)
    session.var_labels, session.filename = dict(contents.var_labels), filename
    session.label_sets, session.label_names = dict(contents.label_sets), dict(contents.label_names)
    session.sortedby, session.chars = list(sortedby), dict(chars)
