"""A command runner for tests: ``run(line, rc=0)`` runs one line and returns what it printed."""

from __future__ import annotations

from typing import Callable

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session


def runner(**session_args) -> Callable[..., str]:
    """A fresh session (``runner(data=frame, cwd=path)``) and its ``run``; ``run.session`` is it.

    ``run`` asserts the return code (0 unless given) and shows the output when it differs.
    """
    out, buf = capture_output()
    session = Session(out=out, **session_args)

    def run(line: str, rc: int = 0) -> str:
        buf.seek(0)
        buf.truncate()
        got = run_line(session, line)
        assert got == rc, f"{line!r}: rc {got}\n{buf.getvalue()}"
        return buf.getvalue()

    run.session = session
    return run
