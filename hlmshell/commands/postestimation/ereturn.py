"""``ereturn list``: the active estimation results, as Stata lists them."""

from __future__ import annotations

from hlmshell.commands.postestimation.estnames import HIDDEN_PREFIX
from hlmshell.lang.declaration import Args
from hlmshell.results.postest import ResultsListing
from hlmshell.shell.registry import command, parent
from hlmshell.shell.session import Session

parent("ERETurn", subcommand_error="ereturn {word} is not supported", subcommand_rc=198,
       summary="List the stored estimation results e(): scalars, macros, matrices, functions.")


@command("ereturn LIst", "")
def ereturn_list(session: Session, args: Args) -> ResultsListing | None:
    """List the stored estimation results e(): scalars, macros, matrices, functions."""
    e = session.e
    if e is None:
        return None
    return ResultsListing(
        prefix="e",
        scalars=list(e.scalars.items()),
        macros=[(k, v) for k, v in e.macros.items()
                if not k.startswith(HIDDEN_PREFIX) and k not in e.hidden],
        matrices=[(k, *m.shape) for k, m in e.matrices.items()],
        functions=list(e.functions),
    )
