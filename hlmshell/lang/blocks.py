"""The block structure of a script: ``{ ... }`` after ``foreach``/``forvalues``/``while``/``if``/
``else``/``quietly``/``capture``/``noisily``, and ``program define ... end``.

Stata's rules ([P] foreach, [P] if): the open brace is the last thing on the line that opens the
block, the close brace stands on a line by itself; a program's body runs to the line ``end``.  A
block is read as its opening line, the lines of its body (nested blocks stay flat: they are read
again when the body runs) and its closing line.  Loops and programs are echoed whole before they
run (`` 2. `` numbered lines, as Stata's log shows them); the other blocks run inline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from hlmshell.errors import StataError
from hlmshell.lang.abbrev import Pattern
from hlmshell.lang.command import Command, parse_command
from hlmshell.lang.lines import Line, echo_text, needs_continuation, script_lines

LOOPS = (Pattern("foreach", 7), Pattern("forvalues", 4), Pattern("while", 5))
PROGRAM = Pattern("program", 2)
_PROGRAM_SUBCOMMANDS = (Pattern("drop", 4), Pattern("dir", 2), Pattern("list", 1))


@dataclass(frozen=True)
class Block:
    """A block as written.  ``echo``: its lines echo as they run (an inline block at the top level
    of a do-file); ``kind`` is ``"loop"``, ``"program"`` or ``"inline"``."""

    header: Line
    body: tuple[Line, ...]
    close: Line
    kind: str
    echo: bool = False

    def numbered(self, width: int | None = None) -> str:
        """The echo of a loop or program definition: the header, then numbered lines."""
        first = 1 if self.kind == "program" else 2
        lines = [echo_text(self.header, width=width)]
        for k, ln in enumerate((*self.body, self.close)):
            lines.append(echo_text(ln, first + k, width))
        return "\n".join(lines)


def _command(text: str) -> Command | None:
    try:
        return parse_command(text)
    except StataError:
        return None


def opens_brace(text: str) -> bool:
    """Whether the line ends with an open brace outside quotes."""
    text = text.rstrip()
    if not text.endswith("{"):
        return False
    return text[:-1].count('"') % 2 == 0


def is_close(text: str) -> bool:
    return text.strip() == "}"


def opens_program(text: str) -> bool:
    """``program [define] name ...`` (not ``program drop|dir|list``)."""
    cmd = _command(text)
    if cmd is None or not PROGRAM.matches(cmd.name):
        return False
    word = (cmd.rest.split() or [""])[0].split(",")[0]
    return not any(p.matches(word) for p in _PROGRAM_SUBCOMMANDS) and bool(cmd.rest.strip())


def is_else(text: str) -> bool:
    """A line that continues an ``if`` (``else ...``)."""
    cmd = _command(text)
    return cmd is not None and cmd.name == "else"


def kind_of(text: str) -> str:
    """What a block opened by the line ``text`` is: loop, program or inline."""
    if opens_program(text):
        return "program"
    cmd = _command(text)
    if cmd is not None and any(p.matches(cmd.name) for p in LOOPS):
        return "loop"
    return "inline"


def opens_block(text: str) -> bool:
    return opens_program(text) or opens_brace(text)


def read_block(lines: Sequence[Line], start: int, *, echo: bool = False) -> tuple[Block, int]:
    """The block opened by ``lines[start]`` and the index after its closing line.

    ``unexpected end of file`` r(612) when the lines end first.
    """
    header = lines[start]
    kind = kind_of(header.text)
    echo = echo and kind == "inline"
    depth = 1
    for j in range(start + 1, len(lines)):
        text = lines[j].text
        if kind == "program":
            if text == "end":
                return Block(header, tuple(lines[start + 1:j]), lines[j], kind, echo), j + 1
            continue
        if opens_brace(text):
            depth += 1
        elif is_close(text):
            depth -= 1
            if depth == 0:
                return Block(header, tuple(lines[start + 1:j]), lines[j], kind, echo), j + 1
    raise StataError("unexpected end of file", 612)


def needs_more(text: str) -> bool:
    """Whether typed text is unfinished: a ``///`` or ``/*`` continuation, an open block or program."""
    if needs_continuation(text):
        return True
    depth, in_program = 0, False
    for ln in script_lines(text):
        if in_program:
            in_program = ln.text != "end"
        elif opens_program(ln.text):
            in_program = True
        elif opens_brace(ln.text):
            depth += 1
        elif is_close(ln.text) and depth:
            depth -= 1
    return in_program or depth > 0
