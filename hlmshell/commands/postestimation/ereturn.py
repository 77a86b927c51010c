"""``ereturn list``: the active estimation results, as Stata lists them."""

from __future__ import annotations

from hlmshell.commands.postestimation.estnames import HIDDEN_PREFIX
from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.syntax import parse_syntax
from hlmshell.results.postest import ResultsListing
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


@command("ereturn", 4, usage="ereturn list")
def ereturn(session: Session, cmd: Command) -> ResultsListing | None:
    """List the stored estimation results e(): scalars, macros, matrices, functions."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    syn.options.finish()
    words = syn.anything.split()
    if not words:
        raise syntax_error()
    if words[0] not in ("li", "lis", "list"):
        raise StataError(f"ereturn {words[0]} is not supported", 198)
    if len(words) > 1 or syn.if_ or syn.in_ or syn.using:
        raise syntax_error()
    e = session.e
    if e is None:
        return None
    return ResultsListing(
        prefix="e",
        scalars=list(e.scalars.items()),
        macros=[(k, v) for k, v in e.macros.items() if not k.startswith(HIDDEN_PREFIX)],
        matrices=[(k, *m.shape) for k, m in e.matrices.items()],
        functions=list(e.functions),
    )
