"""describe [varlist]: the dataset's size and each variable's storage, format and label."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hlmshell.data import files as datasets
from hlmshell.errors import syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.syntax import parse_syntax
from hlmshell.lang.varlist import expand
from hlmshell.results.data import DescribeRow, DescribeTable
from hlmshell.shell.registry import command
from hlmshell.shell.session import Results, Session


@command("describe", 1, usage="describe [varlist]")
def describe(session: Session, cmd: Command) -> DescribeTable:
    """Describe the data in memory: observations, variables, storage types and labels."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    syn.options.finish()
    if syn.if_ or syn.in_ or syn.using:
        raise syntax_error()
    names = expand(session.variables, syn.anything, allow_empty=True)
    rows = [DescribeRow(name, datasets.storage_type(session.data[name]),
                        datasets.display_format(session.data[name]), "",
                        session.var_labels.get(name, "")) for name in names]
    stamp = None
    if session.filename and Path(session.filename).is_file():
        stamp = datetime.fromtimestamp(Path(session.filename).stat().st_mtime)
    session.r = Results(scalars={"N": float(session.nobs), "k": float(len(session.variables)),
                                 "changed": float(session.changed)})
    return DescribeTable(session.filename, session.nobs, len(session.variables), stamp, rows,
                         list(session.sortedby))
