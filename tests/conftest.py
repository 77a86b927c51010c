"""What several test modules share: the fixture folder and the one parser of Stata's reference log.

``tests/fixtures/hsb_stata_mixed.log`` is a Stata 17/18 session on the HSB data (copied from the
project's shared reference folder so the tests run on a fresh clone; its notes and the tolerances
for golden tests are in ``tests/fixtures/stata_reference_README.md``).  Each command is echoed as
``. command`` (twice as `` . command``, with a stray leading blank) and followed by what Stata printed;
the transcript has no blank lines, and three paragraphs of commentary were left between blocks.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE_LOG = FIXTURES / "hsb_stata_mixed.log"
REFERENCE_README = FIXTURES / "stata_reference_README.md"
HSB_CSV = FIXTURES / "hsb.csv"          # the CSV twin of data/hsb.dta, as shipped with the reference

Block = tuple[str, list[str]]

_ECHO = re.compile(r"^ ?\. ")
# The commentary paragraphs of the transcript (each one line, right after a block's output).
_COMMENTARY = ("Only one fixed effect", "Here,")


def split_log(text: str) -> list[Block]:
    """Split a Stata-style log into (command, output lines) at each ``. command`` echo.

    Lines are kept as printed (trailing blanks included); anything before the first echo is dropped.
    Used for the reference log and for the logs our own ``hlmshell`` prints.
    """
    blocks: list[Block] = []
    for line in text.splitlines():
        if _ECHO.match(line):
            blocks.append((_ECHO.sub("", line).strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    return blocks


@lru_cache(maxsize=1)
def _reference_blocks() -> tuple[tuple[str, tuple[str, ...]], ...]:
    blocks = []
    for command, lines in split_log(REFERENCE_LOG.read_text(encoding="utf-8")):
        # The transcript lost the word "mixed" here (reference README).
        command = re.sub(r"^qui mathach", "qui mixed mathach", command)
        blocks.append((command, tuple(ln for ln in lines if not ln.startswith(_COMMENTARY))))
    return tuple(blocks)


def reference_log() -> list[Block]:
    """Every block of the reference log, in order: (command, the lines Stata printed for it).

    The commentary is dropped and ``qui mathach`` is restored to ``qui mixed mathach``; the lines
    are otherwise as in the log (a fresh list each call, so callers may change it).
    """
    return [(command, list(lines)) for command, lines in _reference_blocks()]


def reference_output(command: str, occurrence: int = 0) -> list[str]:
    """What Stata printed for the ``occurrence``-th (from 0) ``. command`` of the reference log."""
    found = [lines for cmd, lines in reference_log() if cmd == command]
    if occurrence >= len(found):
        raise LookupError(f"the reference log has {len(found)} blocks for {command!r}, "
                          f"not {occurrence + 1}")
    return found[occurrence]
