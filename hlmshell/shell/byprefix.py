"""The ``by varlist:`` / ``bysort varlist (order):`` prefix: sorting, the sorted check and the groups.

``bysort`` sorts the data in memory first (that is part of what it does in Stata); plain ``by``
requires the data already sorted (``not sorted`` r(5)).  The dispatcher then runs a byable(recall)
command once per group, or hands the groups to a byable(onecall) command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlmshell.errors import StataError
from hlmshell.lang import varlist
from hlmshell.lang.command import Command

if TYPE_CHECKING:
    from hlmshell.shell.session import Session


@dataclass(frozen=True)
class ByGroups:
    """The by-variables and each observation's group number (1, 2, ...; groups contiguous)."""

    variables: list[str]
    ids: np.ndarray
    rc0: bool = False               # by ..., rc0: (a byable(onecall) program's `_byrc0')

    def first_rows(self) -> np.ndarray:
        """Where each group starts."""
        change = np.ones(len(self.ids), dtype=bool)
        change[1:] = self.ids[1:] != self.ids[:-1]
        return np.flatnonzero(change)


def by_groups(session: "Session", cmd: Command) -> ByGroups:
    """Sort (bysort) or check the order (by), and number the groups of ``cmd.by``."""
    from hlmshell.data.sorting import group_ids, is_sorted, sorted_frame

    variables = session.variables
    by = varlist.expand(variables, " ".join(cmd.by or []))
    extra = varlist.expand(variables, " ".join(cmd.by_order)) if cmd.by_order else []
    keys = by + [v for v in extra if v not in by]
    if cmd.by_sort:
        if not is_sorted(session.data, keys):
            session.set_data(sorted_frame(session.data, keys), changed=session.changed)
        session.sortedby = list(keys)
    elif not is_sorted(session.data, keys):
        raise StataError("not sorted", 5)
    return ByGroups(by, group_ids(session.data, by), bool(cmd.by_rc0))
