"""count: the number of observations satisfying if/in, by groups too; sets r(N)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlmshell.data.sorting import apply_by, by_variables
from hlmshell.errors import syntax_error
from hlmshell.lang.command import Command
from hlmshell.lang.expr import row_mask
from hlmshell.lang.syntax import parse_syntax
from hlmshell.render import renders
from hlmshell.render.datacmds import by_header
from hlmshell.shell.registry import command
from hlmshell.shell.session import Results, Session


@dataclass
class CountResult:
    count: int


@renders(CountResult)
def _render(obj: CountResult) -> str:
    return f"  {obj.count:,}"


@command("count", 3, usage="count [if] [in]")
def count(session: Session, cmd: Command) -> list:
    """Count observations."""
    syn = parse_syntax(cmd.rest, allow_exp=False)
    syn.options.finish()
    if syn.anything:
        raise syntax_error()
    groups = apply_by(session, cmd)
    mask = row_mask(session, syn.if_, syn.in_, groups=groups)
    if groups is None:
        n = int(mask.sum())
        session.r = Results(scalars={"N": float(n)})
        return [CountResult(n)]
    out: list = []
    names = by_variables(session, cmd)
    n = 0
    for gid in np.unique(groups):
        rows = np.flatnonzero(groups == gid)
        n = int(mask[rows].sum())
        out.append(by_header(session, names, int(rows[0])))
        out.append(CountResult(n))
    session.r = Results(scalars={"N": float(n)})
    return out
