"""Commands about the session itself: do/run, exit, cd/pwd (``log`` and ``help`` have modules of
their own)."""

from __future__ import annotations

import os

from hlmshell.errors import StataError, syntax_error
from hlmshell.lang.declaration import Args
from hlmshell.results.shell import Text
from hlmshell.shell.dofile import (
    ExitRequest,
    ScriptFailed,
    read_script,
    resolve_dofile,
    run_script,
)
from hlmshell.shell.registry import command
from hlmshell.shell.session import Session


# -- do / run -----------------------------------------------------------------------------------
def _run_dofile(session: Session, args: Args, *, echo: bool) -> None:
    path = resolve_dofile(session, args.filename)
    text = read_script(path)
    if not echo:
        session.out.quiet += 1
    try:
        rc = run_script(session, text, echo=echo, stop=not args.nostop, args=args.anything)
    finally:
        if not echo:
            session.out.quiet -= 1
    if rc:
        raise ScriptFailed(rc)


@command("do", "filename(.do) [anything(id=arguments)] [, nostop]")
def do(session: Session, args: Args) -> None:
    """Run the commands of a do-file, echoing each one; stop at the first error.

    The arguments after the file name are the do-file's `` `1' ``, `` `2' ``... (`` `0' `` all).
    """
    _run_dofile(session, args, echo=True)


@command("run", "filename(.do) [anything(id=arguments)] [, nostop]")
def run(session: Session, args: Args) -> None:
    """Run a do-file silently (only errors show)."""
    _run_dofile(session, args, echo=False)


# -- exit ---------------------------------------------------------------------------------------
@command("exit", "[anything(id=#)] [, clear STATA]")
def exit_(session: Session, args: Args) -> None:
    """Leave the shell (or the running do-file); with changed data, exit, clear.

    ``exit, STATA`` leaves the shell even from inside a do-file.
    """
    rc = 0
    if args.anything:
        try:
            rc = int(args.anything)
        except ValueError:
            raise syntax_error() from None
        if rc < 0:
            raise syntax_error()
    raise ExitRequest(rc, args.clear, leave=args.stata)


# -- cd / pwd -----------------------------------------------------------------------------------
@command("cd", "[filename(/)]")
def cd(session: Session, args: Args) -> Text:
    """Change the working directory (files are read and written relative to it)."""
    from hlmshell.data.files import user_path  # not at start-up: it brings pandas

    target = args.filename or ""
    path = user_path(session.cwd, target or "~")
    if not path.is_dir():
        raise StataError(f"unable to change to {target or path}", 170)
    path = path.resolve()
    try:
        os.chdir(path)
    except OSError:
        raise StataError(f"unable to change to {target or path}", 170) from None
    session.cwd = path
    return Text(str(path))


@command("pwd", "")
def pwd(session: Session, args: Args) -> Text:
    """Show the working directory."""
    return Text(str(session.cwd))
