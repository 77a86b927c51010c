"""Renderers shared by the data-management commands (by-group headers, scalar listings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hlmshell.lang.expr import column_values
from hlmshell.lang.numfmt import fmt_g
from hlmshell.render import Text, renders

BY_RULE = "-" * 79


def by_header(session: Any, names: list[str], row: int) -> Text:
    """Stata's ``-> id = 1224`` header before each by-group's output."""
    parts = []
    for name in names:
        value = column_values(session.data, name)[row]
        shown = value if isinstance(value, str) else fmt_g(float(value), 9).strip()
        parts.append(f"{name} = {shown}")
    return Text(f"\n{BY_RULE}\n-> " + ", ".join(parts))


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
