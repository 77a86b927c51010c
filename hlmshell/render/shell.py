"""Renderers of the shell's own results."""

from __future__ import annotations

from hlmshell.lang.numfmt import fmt_g
from hlmshell.render import renders
from hlmshell.results.shell import ByHeader, Displayed, Text

BY_RULE = "-" * 79


@renders(ByHeader)
def by_header(obj: ByHeader) -> str:
    """Stata's rule and ``-> id = 1224`` line before a by-group's output."""
    parts = []
    for name, value, label in obj.values:
        shown = label if label is not None else (
            value if isinstance(value, str) else fmt_g(float(value), 9).strip())
        parts.append(f"{name} = {shown}")
    return f"\n{BY_RULE}\n-> " + ", ".join(parts)


@renders(Displayed)
def displayed(obj: Displayed) -> str:
    return obj.text


@renders(Text)
def text(obj: Text) -> str:
    return obj.text
