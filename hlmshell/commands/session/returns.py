"""``return list``: the r() results of the last r-class command (summarize, tabulate, ...)."""

from __future__ import annotations

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.results.postest import ResultsListing
from hlmshell.shell.registry import command
from hlmshell.shell.session import Results, Session


@command("return", 3, usage="return list\nreturn clear")
def return_(session: Session, cmd: Command) -> ResultsListing | None:
    """List (or clear) the r() results left by the last r-class command."""
    words = cmd.rest.split()
    if len(words) != 1:
        raise syntax_error()
    if words[0] == "clear":
        session.r = Results()
        return None
    if words[0] not in ("li", "lis", "list"):
        raise StataError(f"return {words[0]} is not supported", 198)
    r = session.r
    if not (r.scalars or r.macros or r.matrices):
        return None
    return ResultsListing(prefix="r", scalars=list(r.scalars.items()), macros=list(r.macros.items()),
                          matrices=[(k, *m.shape) for k, m in r.matrices.items()])
