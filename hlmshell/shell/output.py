"""Where printed text goes: the terminal (through rich), open logs, and the quietly switch."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from typing import IO, TextIO

from rich.console import Console
from rich.text import Text


def _console(file: TextIO | None = None) -> Console:
    return Console(file=file, highlight=False, markup=False, emoji=False, soft_wrap=True,
                   width=200)


@dataclass
class Output:
    """Prints Stata-layout text; ``quiet`` > 0 suppresses everything except errors."""

    console: Console = field(default_factory=lambda: _console(sys.stdout))
    logs: dict[str, IO[str]] = field(default_factory=dict)
    quiet: int = 0

    def emit(self, text: str, *, style: str | None = None, force: bool = False,
             end: str = "\n") -> None:
        """Print ``text`` (one or more lines) unless output is being suppressed; ``end=""`` leaves
        the line open (``display ... _continue``)."""
        if self.quiet > 0 and not force:
            return
        self.console.print(Text(text, style=style or ""), end=end)
        for log in self.logs.values():
            log.write(text + end)
            log.flush()

    def error(self, text: str) -> None:
        """Errors always show, as in Stata, in red on a terminal."""
        self.emit(text, style="red", force=True)

    def echo(self, line: str) -> None:
        """The ``. command`` echo of a do-file or log."""
        self.emit(f". {line}", force=False)

    def close_logs(self) -> None:
        for log in self.logs.values():
            log.close()
        self.logs.clear()


def capture_output() -> tuple[Output, io.StringIO]:
    """An Output writing to a string buffer (for tests and for ``-e`` runs)."""
    buf = io.StringIO()
    return Output(console=_console(buf)), buf
