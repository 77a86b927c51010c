"""expand [=]exp [if] [in] [, generate(newvar)]: replace each observation by exp copies.

As Stata's expand: exp is truncated to an integer; values below 1 or missing leave the observation
as it is; the copies go after all the original observations.  ``generate()`` marks the originals
0 and the copies 1.  The originals keep their keys; the copies are new observations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.results.shell import Text
from hlmshell.shell.registry import command

if TYPE_CHECKING:
    from hlmshell.lang.declaration import Args
    from hlmshell.shell.session import Session


@command("expand", "[=exp] [anything] [if] [in] [, GENerate(name)]")
def expand(session: Session, args: Args) -> Text:
    """Duplicate observations."""
    from hlmshell.commands.data.generate import full_values, plural
    from hlmshell.lang.expr import is_string_value, row_mask
    from hlmshell.lang.varlist import new_name

    exp = args.exp if args.exp is not None else args.anything
    if not exp:
        raise StataError("invalid syntax", 198)
    gen = new_name(session.variables, args.generate) if args.generate else None
    mask = row_mask(session, args.if_, args.in_)
    values = full_values(session, exp, None)
    if is_string_value(values):
        raise StataError("type mismatch", 109)
    with np.errstate(invalid="ignore"):
        copies = np.where(mask & ~np.isnan(values) & (values >= 1), np.trunc(values), 1) - 1
    copies = copies.astype(np.int64)
    positions = np.concatenate([np.arange(session.nobs), np.repeat(np.arange(session.nobs), copies)])
    data = session.data.iloc[positions].copy()
    created = int(copies.sum())
    if gen is not None:
        data[gen] = np.r_[np.zeros(session.nobs), np.ones(created)].astype(np.int8)
    # the originals keep their positions (keys); copies get positions past the data (new keys)
    data.index = np.r_[np.arange(session.nobs), session.nobs + np.arange(created)]
    session.set_data(data)
    session.sortedby = []
    return Text(f"({plural(created, 'observation')} created)")
