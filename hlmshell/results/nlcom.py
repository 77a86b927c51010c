"""Result of ``nlcom``: the legend of the expressions and the coefficient table of their values."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.results.estimation import CoefTable


@dataclass(frozen=True)
class NlcomOutput:
    """``equations``: (name, expression) as typed, empty with ``noheader``."""

    equations: tuple[tuple[str, str], ...]
    table: CoefTable
    t: bool = False
