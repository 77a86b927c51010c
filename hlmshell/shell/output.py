"""Where printed text goes: the terminal (through rich), open logs, and the quietly switch.

Printing never ends the session.  Control characters (an ESC from a data value, which would retitle
or clear the terminal) are shown escaped, ``\\x1b``; a character the terminal's encoding cannot show
is shown as a backslash escape.  A log that cannot be written (a full disk, a file-size limit) is
closed, its file left as it was, and a terminal that cannot be written (stdout to a full device or a
closed pipe) is given up; either way the failure is kept for :meth:`Output.check`, which the
dispatcher calls after each command, so that the command fails with r(693) or r(699).
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from rich.console import Console
from rich.text import Text

from hlmshell.errors import StataError
from hlmshell.lang.printable import printable



def _console(file: TextIO | None = None) -> Console:
    return Console(file=file, highlight=False, markup=False, emoji=False, soft_wrap=True,
                   width=200)


@dataclass
class Output:
    """Prints Stata-layout text; ``quiet`` > 0 suppresses everything except errors.

    ``logs`` are open files by log name, each with ``write``, ``flush``, ``close`` (keep it),
    ``discard`` (forget it) and ``shown`` (its name as typed): :class:`hlmshell.data.atomic.AtomicFile`.
    """

    console: Console = field(default_factory=lambda: _console(sys.stdout))
    logs: dict[str, Any] = field(default_factory=dict)
    quiet: int = 0
    terminal: bool = True               # False once the terminal could not be written
    failure: StataError | None = None   # an output failure not yet reported

    def emit(self, text: str, *, style: str | None = None, force: bool = False,
             end: str = "\n") -> None:
        """Print ``text`` (one or more lines) unless output is being suppressed; ``end=""`` leaves
        the line open (``display ... _continue``)."""
        if self.quiet > 0 and not force:
            return
        text = printable(text)
        if self.terminal:
            self._print(text, style, end)
        self.log_only(text + end)

    def _print(self, text: str, style: str | None, end: str) -> None:
        encoding = getattr(self.console.file, "encoding", None) or "utf-8"
        shown = text.encode(encoding, "backslashreplace").decode(encoding, "replace")
        try:
            self.console.print(Text(shown, style=style or ""), end=end)
        except (OSError, ValueError) as exc:    # ValueError: the stream was closed
            self.terminal = False
            self._fail(StataError("output could not be written to the terminal: file I/O error "
                                  "on write", 693))
            _note(f"hlmshell: standard output could not be written ({exc}); output goes only to "
                  "open logs")

    def log_only(self, text: str) -> None:
        """Write ``text`` to the open logs only (the prompt's typed command: the screen has it)."""
        text = printable(text)
        for name, log in list(self.logs.items()):
            try:
                log.write(text)
                log.flush()
            except OSError as exc:
                del self.logs[name]
                log.discard()
                from hlmshell.data.atomic import write_error

                err = write_error(exc, log.shown)
                self._fail(StataError(f"{err.message}\n(log {name} closed; {log.shown} left as "
                                      "it was)", err.rc))

    def _fail(self, err: StataError) -> None:
        if self.failure is None:
            self.failure = err

    def check(self) -> None:
        """Raise the output failure since the last check, if any (the dispatcher, after a command)."""
        err, self.failure = self.failure, None
        if err is not None:
            raise err

    def error(self, text: str) -> None:
        """Errors always show, as in Stata, in red on a terminal."""
        self.emit(text, style="red", force=True)

    def echo(self, line: str) -> None:
        """The ``. command`` echo of a do-file or log."""
        self.emit(f". {line}", force=False)

    def close_logs(self) -> None:
        """Close every log (at the end of a session): each is renamed into place."""
        for name, log in list(self.logs.items()):
            del self.logs[name]
            try:
                log.close()
            except StataError as err:
                self.error(str(err))


def _note(text: str) -> None:
    """A last word on standard error when standard output is gone (if that fails too, nothing)."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def capture_output() -> tuple[Output, io.StringIO]:
    """An Output writing to a string buffer (for tests and for ``-e`` runs)."""
    buf = io.StringIO()
    return Output(console=_console(buf)), buf
