"""A script as Stata reads it: comments, ``///`` continuation lines, one logical line per command."""

from __future__ import annotations


def strip_comments(text: str) -> str:
    """Remove ``/* */`` and ``//`` comments and join ``///`` continuations (quotes respected)."""
    out: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        c = text[i]
        if quote:
            out.append(c)
            if c == quote:
                quote = None
            i += 1
        elif c == '"':
            quote = '"'
            out.append(c)
            i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif text.startswith("///", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            out.append(" ")
        elif text.startswith("//", i) and (i == 0 or text[i - 1] in " \t\n"):
            end = text.find("\n", i)
            i = n if end < 0 else end
        else:
            out.append(c)
            i += 1
    return "".join(out)


def logical_lines(text: str) -> list[str]:
    """Split a script into commands: one per line after comments and ``///`` joins; blank lines dropped.

    A line whose first non-blank character is ``*`` is a comment.
    """
    kept = []
    for line in text.splitlines():
        kept.append("" if line.lstrip().startswith("*") else line)
    lines = []
    for line in strip_comments("\n".join(kept)).split("\n"):
        if line.strip():
            lines.append(line.strip())
    return lines


def needs_continuation(text: str) -> bool:
    """True when the typed text ends in ``///`` or inside an open ``/* */`` comment (REPL multi-line)."""
    if text.rstrip().endswith("///"):
        return True
    return text.count("/*") > text.count("*/")
