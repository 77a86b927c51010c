"""count [if] [in]: the number of observations satisfying if/in (by groups too); sets r(N)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlmshell.results.data import CountResult
from hlmshell.results.stored import Results
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("COUnt", "[if] [in]", byable="recall")
def count(session: Session, args: Args) -> CountResult:
    """Count observations."""
    from hlmshell.lang.expr import row_mask

    n = int(row_mask(session, args.if_, args.in_).sum())
    session.r = Results(scalars={"N": float(n)})
    return CountResult(n)
