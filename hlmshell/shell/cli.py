"""The ``hlmshell`` program: the interactive prompt, or a batch run of a do-file, ``-e`` commands or stdin.

    hlmshell                      interactive prompt (when standard input is a terminal)
    hlmshell analysis.do          run a do-file like ``stata -b do analysis.do``
    hlmshell -e 'use hsb' -e sum  run these commands
    hlmshell < commands.do        run the commands read from standard input

A batch run echoes each command as ``. command``, stops at the first error and exits with a non-zero
status: the error's return code when it fits in an exit status (1-255), else 255.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from hlmshell import __version__
from hlmshell.errors import StataError
from hlmshell.lang.lines import Line, script_lines
from hlmshell.shell.dofile import ExitRequest, read_script, run_commands, run_script
from hlmshell.shell.session import Session


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hlmshell",
                                description="A Stata-like shell for multilevel linear models.")
    p.add_argument("dofile", nargs="?", help="a do-file to run in batch (like stata -b do file)")
    p.add_argument("-e", "--execute", action="append", metavar="CMD", default=[],
                   help="run this command (repeat for several); then exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no banner at the prompt")
    p.add_argument("--version", action="version", version=f"hlmshell {__version__}")
    return p


def exit_status(rc: int) -> int:
    """The process exit status for a Stata return code (non-zero stays non-zero)."""
    return rc if 0 <= rc <= 255 else 255


def _run_file(session: Session, name: str) -> int:
    from hlmshell.data.files import user_path  # not at start-up: it brings pandas

    path = user_path(session.cwd, name)
    try:
        if not path.is_file():
            raise StataError(f"file {name} not found", 601)
        text = read_script(path)
    except StataError as err:
        session.out.error(str(err))
        return err.rc
    try:
        rc = run_script(session, text)
    except ExitRequest as request:     # exit, STATA inside the do-file
        return request.rc
    if rc:
        session.out.error(f"r({rc});")   # after ``end of do-file``, as in Stata's batch log
    return rc


def _run_text(session: Session, lines: list[Line]) -> int:
    try:
        return run_commands(session, lines)
    except ExitRequest as request:
        return request.rc


def _text(arg: str) -> str:
    """A command-line argument as text: bytes that are not UTF-8 become U+FFFD, as in a do-file."""
    return arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hlmshell`` script; returns the process exit status."""
    args = _parser().parse_args(argv)
    if not os.environ.get("HLMSHELL_DEBUG"):
        warnings.simplefilter("ignore")     # numpy/pandas warnings are not for the shell's user
    session = Session()
    try:
        if args.dofile is not None:
            rc = _run_file(session, args.dofile)
        elif args.execute:
            rc = _run_text(session, [ln for cmd in args.execute for ln in script_lines(_text(cmd))])
        elif not sys.stdin.isatty():
            rc = _run_text(session, script_lines(sys.stdin.buffer.read().decode("utf-8", "replace")))
        else:
            from hlmshell.shell.repl import (
                run_repl,  # prompt_toolkit only when interactive
            )

            return exit_status(run_repl(session, banner=not args.quiet))
        return exit_status(rc)
    except KeyboardInterrupt:           # Ctrl-C between two commands of a batch run
        session.out.error("--Break--\nr(1);")
        return 1
    finally:
        session.out.close_logs()
