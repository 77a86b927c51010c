"""Renderers shared by the data-management commands (scalar listings)."""

from __future__ import annotations

from dataclasses import dataclass

from hlmshell.lang.numfmt import fmt_g
from hlmshell.render import renders


@dataclass
class ScalarList:
    """``scalar list``: name and value per scalar."""

    items: list[tuple[str, float | str]]


@renders(ScalarList)
def _scalar_list(obj: ScalarList) -> str:
    """``          min2 = -1.9809999`` (as in Stata's output): name right-aligned, value %10.0g."""
    lines = []
    for name, value in obj.items:
        shown = value if isinstance(value, str) else fmt_g(value, 10).strip()
        lines.append(f"{name:>14} = {shown}")
    return "\n".join(lines)
