"""A script as Stata reads it: comments, ``///`` continuation lines, ``#delimit``, one line per command.

:func:`script_lines` splits a do-file into :class:`Line`\\ s: the command text Stata runs (comments
removed, continuations joined) and the physical lines it was written on, which the log echoes
(``. regress y x ///`` then ``> z``).  Under ``#delimit ;`` a command ends at the next ``;`` instead
of at the end of the line; ``#delimit cr`` goes back.  A command whose first character is ``*`` is a
comment, as are ``//`` (at the start or after a blank) to the end of the line and ``/* ... */``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DELIMIT = re.compile(r"#d(?:e(?:l(?:i(?:m(?:i(?:t)?)?)?)?)?)?(?=[ \t]|$)")


@dataclass(frozen=True)
class Line:
    """One command of a script."""

    text: str                       # what runs: comments removed, continuations joined, trimmed
    source: tuple[str, ...]         # as written (tabs expanded): one entry per physical line
    delimit: str | None = None      # ``#delimit ;`` / ``#delimit cr``: the new delimiter


def script_lines(text: str) -> list[Line]:
    """The commands of a script, in order; blank and comment-only lines dropped."""
    out: list[Line] = []
    i, n = 0, len(text)
    semicolon = False
    while i < n:
        while i < n and (text[i] in " \t\r" or (semicolon and text[i] == "\n")):
            i += 1
        if i >= n:
            break
        if text[i] == "\n":
            i += 1
            continue
        start = i
        m = _DELIMIT.match(text, i)
        if m:
            end = text.find("\n", i)
            end = n if end < 0 else end
            words = _command(text[:end], m.end(), False)[0].split()
            semicolon = bool(words) and words[0] == ";"
            mode = ";" if semicolon else "cr"
            shown = f"#delimit {mode}" if words else "#delimit"
            out.append(Line(shown, (text[start:end].strip(),), mode))
            i = end
            continue
        command, i = _command(text, i, semicolon)
        indent = text[text.rfind("\n", 0, start) + 1:start]
        indent = indent if not indent.strip() else ""
        if command:
            physical = [p.rstrip() for p in (indent + text[start:i]).split("\n") if p.strip()]
            source = physical if len(physical) > 1 else [indent + command]
            out.append(Line(command, tuple(p.expandtabs(8) for p in source)))
    return out


def _command(text: str, i: int, semicolon: bool) -> tuple[str, int]:
    """Read one command from ``text[i]``; return its text (comments removed) and where the next
    starts (after the ending newline or ``;``)."""
    n = len(text)
    out: list[str] = []
    comment = text[i] == "*"        # a ``*`` comment runs to the end of the command
    quote = False
    while i < n:
        c = text[i]
        if quote and not comment:
            out.append(" " if c == "\n" else c)
            i += 1
            if c == '"':
                quote = False
            elif c == "\n" and not semicolon:
                return "".join(out[:-1]).strip(), i
            continue
        if text.startswith("/*", i):
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
        elif c == "\n" and not semicolon:
            return ("" if comment else "".join(out).strip()), i + 1
        elif c == ";" and semicolon:
            return ("" if comment else "".join(out).strip()), i + 1
        else:
            if c == '"':
                quote = True
            out.append(" " if c in "\n\r\t" else c)
            i += 1
    return ("" if comment else "".join(out).strip()), i


def logical_lines(text: str) -> list[str]:
    """The command texts of a script (see :func:`script_lines`)."""
    return [ln.text for ln in script_lines(text) if ln.delimit is None]


def needs_continuation(text: str) -> bool:
    """True when the typed text ends in ``///`` or inside an open ``/* */`` comment (REPL multi-line)."""
    if text.rstrip().endswith("///"):
        return True
    return text.count("/*") > text.count("*/")


def echo_text(ln: Line, number: int | None = None, width: int | None = None) -> str:
    """The log's echo of a command: ``. text`` (or `` 2. text`` inside a block being defined), each
    further physical line as ``> text``; lines longer than ``width`` wrap onto ``> `` lines."""
    head = ". " if number is None else f"{number:>3}. "
    lines: list[str] = []
    for k, part in enumerate(ln.source):
        lead = head if k == 0 else "> "
        lines.extend(_wrap(lead, part, width))
    return "\n".join(lines)


def _wrap(lead: str, text: str, width: int | None) -> list[str]:
    if width is None or len(lead) + len(text) <= width:
        return [lead + text]
    room = max(width - len(lead), 1)
    out = [lead + text[:room]]
    rest = text[room:]
    while rest:
        out.append("> " + rest[:width - 2])
        rest = rest[width - 2:]
    return out
