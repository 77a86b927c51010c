"""A command runner for tests: ``run(line, rc=0)`` runs one line and returns what it printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.output import capture_output
from hlmshell.shell.session import Session

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


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


def fixture_models(file: str) -> dict[str, dict]:
    """The models of an R fixture (``tests/fixtures/<file>``) by name."""
    return {m["name"]: m for m in json.loads((FIXTURES / file).read_text())["models"]}


def bundled_csv(data: str) -> tuple[Session, Callable[..., str]]:
    """A session with the repository's ``data/<data>.csv`` imported as doubles, and its ``run``."""
    run = runner(cwd=ROOT)
    run(f"import delimited data/{data}.csv, clear asdouble")
    return run.session, run
