"""display: strings, expressions (Stata's %10.0g-style output or a %fmt) and layout directives.

The text after ``display`` is a language of its own (a ``,`` prints a blank, ``,,`` nothing), so the
declaration takes it whole (``anything(raw)``) and :func:`render_display` reads it.  ``display`` is
byable: under ``by`` it runs once per group, after the group's ``-> g = 1`` header.

Formats: numeric (``%9.3f``, ``%10.0g``, ``%9.2fc``...), dates (``%td``) and strings (``%-12s``).
``as text|result|error|input`` and the older ``in red|green|yellow|white|blue`` choose a colour on a
terminal and change nothing in a log; ``_continue`` leaves the line open for the next output.
"""

from __future__ import annotations

import re

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.lang.expr import evaluate_node_scalar, parse_leading
from hlmshell.lang.limits import MAX_WIDTH
from hlmshell.lang.numfmt import fmt_display, fmt_value
from hlmshell.results.shell import Displayed
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session

_FMT = re.compile(r"%-?~?0?\d+\.\d+(?:g|f|e)c?|%-?~?\d*s|%-?\d*td")
_DIRECTIVE = re.compile(r"(_newline|_n|_column|_col|_skip|_s|_dup|_char|_continue|_c)\b\s*"
                        r"(?:\(\s*(\d+)\s*\))?")
_AS = re.compile(r"as\s+(text|txt|result|res|error|err|input|inp)\b|asis\b"
                 r"|in\s+(smcl|red|gr(?:een?|ee|e)?|ye(?:l(?:l(?:ow?)?)?)?|wh(?:i(?:te?)?)?|bl(?:ue?)?)\b")


def render_display(session: Session, text: str) -> str:
    """The text ``display`` prints for its arguments (may contain newlines)."""
    return display_text(session, text)[0]


def display_text(session: Session, text: str) -> tuple[str, bool]:
    """What ``display`` prints, and whether ``_continue`` leaves the line open."""
    out: list[str] = []
    line = ""
    i, n = 0, len(text)
    fmt: str | None = None
    dup_next = 1
    continued = False
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == ",":
            line += " " if not text.startswith(",,", i) else ""
            i += 2 if text.startswith(",,", i) else 1
            continue
        m = _FMT.match(text, i)
        if m:
            fmt = m.group(0)
            i = m.end()
            continue
        m = _AS.match(text, i)
        if m:
            i = m.end()
            continue
        m = _DIRECTIVE.match(text, i)
        if m:
            word, arg = m.group(1), m.group(2)
            k = int(arg) if arg else 1
            if k > MAX_WIDTH:           # _dup(1000000000): no line or count beyond the bound
                raise syntax_error()
            if word in ("_newline", "_n"):
                out.append(line)
                out.extend([""] * (k - 1))
                line = ""
            elif word in ("_column", "_col"):
                line = line.ljust(k - 1)
            elif word in ("_skip", "_s"):
                line += " " * k
            elif word == "_dup":
                dup_next = k
            elif word == "_char":
                line += chr(k)
            else:
                continued = True
            i = m.end()
            continue
        node, end = parse_leading(text, i)
        if end == i:
            raise syntax_error()
        value = evaluate_node_scalar(session, node)
        if fmt is not None:
            try:
                piece = fmt_value(value, fmt)
            except ValueError:
                raise StataError("invalid %format", 120) from None
        else:
            piece = value if isinstance(value, str) else fmt_display(value)
        line += piece * dup_next
        dup_next = 1
        fmt = None
        i = end
    out.append(line)
    return "\n".join(out), continued


@command("DIsplay", "[anything(raw id=directives)]", byable="recall")
def display(session: Session, args: Args) -> Displayed:
    """Display strings and the values of scalar expressions.

    Directives: ``"string"``, ``[%fmt] exp``, ``_n[(#)]``, ``_col(#)``, ``_skip(#)``, ``_dup(#)``,
    ``_char(#)``, ``_continue``, ``as text|result|error|input``, ``in red`` ... and ``,`` (a blank).
    """
    return Displayed(*display_text(session, args.anything))
