"""Run one command line against a session: prefixes, lookup, execution, errors, output.

This is the one place that catches exceptions.  A :class:`StataError` prints its message and
``r(#);``; anything else is an internal error, reported the same way with r(9999) (and the traceback
only when ``HLMSHELL_DEBUG`` is set).  Either way the session is restored to what it was before the
command, so a failed command never leaves half-changed data or results behind.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from hlmshell.errors import StataError
from hlmshell.lang.command import parse_command
from hlmshell.render import render
from hlmshell.shell import registry as commands
from hlmshell.shell.session import Session


def show(session: Session, results: Any) -> None:
    """Render and print what a command returned (None, one result, or an iterable of them)."""
    if results is None:
        return
    if not isinstance(results, (list, tuple)) and not hasattr(results, "__next__"):
        results = [results]
    for obj in results:
        text = render(obj)
        if text is not None:
            session.out.emit(text)


def execute(session: Session, line: str) -> None:
    """Run ``line``; raises StataError/KeyboardInterrupt for the caller (``run_line``) to report."""
    cmd = parse_command(line)
    if not cmd.name:
        return
    spec = commands.lookup(cmd.name)
    quiet = cmd.quietly and not cmd.noisily
    if quiet:
        session.out.quiet += 1
    try:
        show(session, spec.fn(session, cmd))
    finally:
        if quiet:
            session.out.quiet -= 1


def run_line(session: Session, line: str) -> int:
    """Run one command line; print any error Stata-style; return the return code (0 = success)."""
    try:
        cmd = parse_command(line)
    except StataError as err:
        session.out.error(str(err))
        return err.rc
    if cmd.capture:
        session.out.quiet += 0 if cmd.noisily else 1
    snap = session.snapshot()
    rc = 0
    try:
        execute(session, line)
    except StataError as err:
        if not getattr(err, "keep_state", False):  # a failed do-file keeps what its lines did
            session.restore(snap)
        rc = err.rc
        if not cmd.capture:
            session.out.error(str(err))
    except KeyboardInterrupt:
        session.restore(snap)
        rc = 1
        session.out.error("--Break--\nr(1);")
    except Exception as exc:  # noqa: BLE001 - the shell must survive any bug in a command
        session.restore(snap)
        rc = 9999
        if not cmd.capture:
            detail = traceback.format_exc() if os.environ.get("HLMSHELL_DEBUG") else ""
            session.out.error(f"{detail}internal error: {type(exc).__name__}: {exc}\nr(9999);")
    finally:
        if cmd.capture:
            session.out.quiet -= 0 if cmd.noisily else 1
    if cmd.capture:
        session.rc = rc
        return 0
    return rc
