"""``return list`` / ``return clear``: the r() results of the last r-class command (summarize...)."""

from __future__ import annotations

from hlmshell.errors import syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.results.postest import ResultsListing
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("RETurn", "", subcommand_error="return {word} is not supported")
def return_(session: Session, args: Args) -> None:
    """List (or clear) the r() results left by the last r-class command."""
    raise syntax_error()        # ``return`` alone: a subcommand is needed


return_.needs_subcommand = True  # type: ignore[attr-defined]   # help: no ``return`` line alone


@command("RETurn LIst", "")
def return_list(session: Session, args: Args) -> ResultsListing | None:
    """List the r() results."""
    r = session.r
    if not (r.scalars or r.macros or r.matrices):
        return None
    return ResultsListing(prefix="r", scalars=list(r.scalars.items()), macros=list(r.macros.items()),
                          matrices=[(k, *m.shape) for k, m in r.matrices.items()])


@command("RETurn clear", "")
def return_clear(session: Session, args: Args) -> None:
    """Clear the r() results (in an rclass program: those it is about to return)."""
    if session.frame.returns is not None:
        session.frame.returns = Results()
    else:
        session.r = Results()
