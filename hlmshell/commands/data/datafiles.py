"""Data in and out of memory: use, save, import/export delimited, clear, preserve/restore."""

from __future__ import annotations

import pandas as pd

from hlmshell.data import files as datasets
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.scan import unquote
from hlmshell.lang.syntax import Syntax, parse_syntax
from hlmshell.lang.varlist import expand
from hlmshell.render import Text
from hlmshell.shell.registry import command
from hlmshell.shell.session import Results, Session


def _require_clear(session: Session, clear: bool) -> None:
    """Stata refuses to replace changed data unless told ``clear``."""
    if session.changed and not clear and session.nobs + len(session.variables) > 0:
        raise StataError("no; dataset in memory has changed since last saved", 4)


def _install(session: Session, data: pd.DataFrame, labels: dict[str, str], filename: str | None,
             *, changed: bool) -> None:
    session.var_labels = dict(labels)
    session.sortedby = []
    session.set_data(data, changed=changed)
    session.filename = filename


@command("use", 1, usage="use filename [, clear]\nuse varlist [if] [in] using filename [, clear]")
def use(session: Session, cmd: Command) -> None:
    """Load a Stata dataset (.dta); a bare name also finds the bundled data/ files."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    clear = syn.options.take("clear", 5)
    syn.options.take("nolabel", 5)
    syn.options.finish()
    if syn.using is None:
        if syn.if_ is not None or syn.in_ is not None or not syn.anything:
            raise syntax_error()
        name, wanted = syn.anything, None
    else:
        name, wanted = syn.using, syn.anything or None
    _require_clear(session, clear)
    path, _ = datasets.find_input(session.cwd, name)
    data, labels = datasets.read_dta(path)
    if wanted is not None or syn.if_ is not None or syn.in_ is not None:
        staged = Session(data=data, out=session.out, cwd=session.cwd)
        keep = expand(list(map(str, data.columns)), wanted) if wanted else list(data.columns)
        rows = row_mask(staged, syn.if_, syn.in_)
        data = data.loc[rows, keep]
    _install(session, data, labels, str(path), changed=False)
    return None


@command("save", 2, usage="save [filename] [, replace]")
def save(session: Session, cmd: Command) -> Text:
    """Save the data in memory as a Stata dataset (.dta)."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    replace = syn.options.take("replace", 7)
    syn.options.finish()
    if syn.if_ or syn.in_ or syn.using:
        raise syntax_error()
    name = unquote(syn.anything) if syn.anything else session.filename
    if not name:
        raise StataError("invalid file specification", 198)
    path, shown = datasets.output_path(session.cwd, name)
    notes = []
    if path.exists() and not replace:
        raise StataError(f"file {shown} already exists", 602)
    if replace and not path.exists():
        notes.append(f"(file {shown} not found)")
    datasets.write_dta(session.data, path, session.var_labels)
    session.filename = str(path)
    session.changed = False
    notes.append(f"file {shown} saved")
    return Text("\n".join(notes))


def _delimited_syntax(verb: str, rest: str) -> Syntax:
    """The syntax after ``import delimited`` / ``export delimited`` (the only subcommand we have)."""
    kind, _, rest = rest.strip().partition(" ")
    if not kind or not "delimited".startswith(kind) or len(kind) < 5:
        raise StataError(f"{verb}: unknown subcommand {kind}" if kind else f"{verb}: subcommand required",
                         198)
    return parse_syntax(rest, allow_exp=False)


@command("import", 6, usage="import delimited [using] filename [, clear varnames(1|nonames) "
                            "delimiters(\"chars\") case(preserve|lower|upper) asdouble]")
def import_(session: Session, cmd: Command) -> Text:
    """Read a comma- or tab-separated text file (import delimited)."""
    syn = _delimited_syntax("import", cmd.rest)
    clear = syn.options.take("clear", 5)
    asdouble = syn.options.take("asdouble", 8)
    names = syn.options.take_arg("varnames", 7)
    delim = syn.options.take_arg("delimiters", 5)
    case = syn.options.take_arg("case", 4) or "lower"
    syn.options.finish()
    if names not in (None, "1", "nonames"):
        raise StataError("varnames() invalid", 198)
    if case not in ("preserve", "lower", "upper"):
        raise StataError("case() invalid", 198)
    name = syn.using if syn.using is not None else syn.anything
    if not name or (syn.using is not None and syn.anything):
        raise syntax_error()
    _require_clear(session, clear)
    path, _ = datasets.find_input(session.cwd, name, ".csv")
    sep = None if delim is None else unquote(delim).replace("\\t", "\t").replace("tab", "\t")
    data = datasets.read_delimited(path, delimiter=sep, header=names != "nonames",
                                   asdouble=asdouble, case=case)
    _install(session, data, {}, None, changed=True)
    return Text(f"({data.shape[1]:,} var{'s' if data.shape[1] != 1 else ''}, "
                f"{len(data):,} obs)")


@command("export", 6, usage="export delimited [varlist] using filename [, replace delimiter(char)]")
def export(session: Session, cmd: Command) -> Text:
    """Write the data (or some variables) to a comma-separated text file (export delimited)."""
    syn = _delimited_syntax("export", cmd.rest)
    replace = syn.options.take("replace", 7)
    delim = syn.options.take_arg("delimiter", 5)
    syn.options.finish()
    if syn.using is None:
        if not syn.anything:
            raise syntax_error()
        name, varspec = syn.anything, ""
    else:
        name, varspec = syn.using, syn.anything
    keep = expand(session.variables, varspec, allow_empty=True)
    rows = row_mask(session, syn.if_, syn.in_)
    path, shown = datasets.output_path(session.cwd, name, ".csv")
    if path.exists() and not replace:
        raise StataError(f"file {shown} already exists", 602)
    sep = "," if delim is None else unquote(delim).replace("tab", "\t")
    datasets.write_delimited(session.data.loc[rows, keep], path, sep)
    return Text(f"file {shown} saved")


@command("clear", 5, usage="clear [all | results | matrix]")
def clear(session: Session, cmd: Command) -> None:
    """Drop the data from memory (clear all also drops results, matrices and stored estimates)."""
    what = cmd.rest.strip()
    if what not in ("", "all", "*", "results", "matrix", "mata", "programs", "ado"):
        raise syntax_error()
    if what in ("", "all", "*"):
        _install(session, pd.DataFrame(), {}, None, changed=False)
    if what in ("all", "*"):
        session.preserved = None
    if what in ("all", "*", "results"):
        session.e = None
        session.r = Results()
        session.estimates = {}
        session.scalars = {}
    if what in ("all", "*", "matrix"):
        session.matrices = {}
    return None


@command("preserve", 8, usage="preserve")
def preserve(session: Session, cmd: Command) -> None:
    """Keep a copy of the data to come back to with restore."""
    if cmd.rest.strip():
        raise syntax_error()
    if session.preserved is not None:
        raise StataError("already preserved", 621)
    session.preserved = (session.data, dict(session.var_labels), session.filename, session.changed)
    return None


@command("restore", 7, usage="restore [, not preserve]")
def restore(session: Session, cmd: Command) -> None:
    """Put back the data saved by preserve (, not: forget it; , preserve: keep it for later)."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    forget = syn.options.take("not", 3)
    keep = syn.options.take("preserve", 8)
    syn.options.finish()
    if syn.anything or (forget and keep):
        raise syntax_error()
    if session.preserved is None:
        raise StataError("nothing to restore", 622)
    data, labels, filename, changed = session.preserved
    if not forget:
        _install(session, data, labels, filename, changed=changed)
    if not keep:
        session.preserved = None
    return None

