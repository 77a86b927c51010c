"""Running scripts and blocks: do-files, ``-e`` commands and standard input, echoed like a Stata log;
the bodies of loops, ``if``/``else`` and ``quietly {}``/``capture {}`` blocks, and programs.

A script runs its commands in order, each echoed as ``. command``, and stops at the first error, as
``stata -b do`` does::

    . sumarize
    command sumarize is unrecognized
    r(199);

    end of do-file

    r(199);

The last ``r(#);`` is printed by whoever ran the script (the ``do`` command through the dispatcher, or
the command line).  ``exit`` inside a script ends that script and returns to its caller.  Each do-file
(and each program) has its own local macros and temporary objects (:func:`local_frame`).

A loop or program definition is echoed whole before it runs (the lines of its body numbered, as in
Stata's log: ``  2.     display `i'``); its body then runs without echo.  The lines of an ``if`` or
``quietly {`` block at the top level of a do-file echo as they run.  A command inside a block runs
through :func:`hlmshell.shell.dispatcher.run_nested`: its failure ends the block and becomes the
failure of the command that opened it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from hlmshell.errors import StataError
from hlmshell.lang import blocks
from hlmshell.lang.blocks import Block
from hlmshell.lang.lines import Line, echo_text, script_lines
from hlmshell.lang.macros import arguments
from hlmshell.lang.scan import unquote
from hlmshell.shell.dispatcher import Failed, run_line, run_nested
from hlmshell.shell.session import Frame, Session

MAX_DEPTH = 64          # nested do-files
_depth = 0              # do-files running now (scripts run synchronously, one at a time)


class ExitRequest(BaseException):
    """``exit [#] [, clear STATA]``: leave the running script, or the shell at the prompt.

    ``leave`` (``exit, STATA``) leaves the shell even from inside a do-file: the scripts running
    let it through.  A BaseException so that the dispatcher's catch-all for command bugs lets it
    through.
    """

    def __init__(self, rc: int = 0, clear: bool = False, leave: bool = False) -> None:
        super().__init__(rc)
        self.rc = rc
        self.clear = clear
        self.leave = leave


class LoopControl(BaseException):
    """``continue [, break]``: on to the next iteration of the innermost loop, or out of it."""

    def __init__(self, leave: bool) -> None:
        super().__init__(leave)
        self.leave = leave


class ScriptFailed(StataError):
    """A do-file stopped at an error; the messages are already printed, only ``r(#);`` remains.

    ``keep_state`` tells the dispatcher not to undo the commands of the script that did succeed.
    """

    keep_state = True

    def __init__(self, rc: int) -> None:
        super().__init__("", rc)


def run_commands(session: Session, lines: Sequence[Line | str], *, echo: bool = True,
                 stop: bool = True) -> int:
    """Run the commands of a script; return the rc of the first failure (the last one if not
    ``stop``); errors are printed.

    Raises :class:`ExitRequest` when a line is ``exit`` (the caller decides what leaving means).
    """
    shown = [ln if isinstance(ln, Line) else Line(ln.strip(), (ln.strip(),)) for ln in lines]
    return _run_lines(session, shown, echo=echo, nested=False, stop=stop)


def run_block(session: Session, block: Block) -> None:
    """Run the body of a block; the first failure is raised (see :func:`run_nested`)."""
    _run_lines(session, block.body, echo=block.echo, nested=True, stop=True)


def _run_lines(session: Session, lines: Sequence[Line], *, echo: bool, nested: bool,
               stop: bool) -> int:
    failed, i = 0, 0
    while i < len(lines):
        ln = lines[i]
        if not blocks.is_else(ln.text):
            session.frame.if_outcome = None
        if ln.delimit is not None:
            if echo:
                _echo(session, ln)
                session.out.emit(f"delimiter now {ln.delimit}")
            i += 1
            continue
        block = None
        if blocks.opens_block(ln.text):
            try:
                block, i = blocks.read_block(lines, i, echo=echo)
            except StataError as err:              # unexpected end of file
                if echo:
                    _echo(session, ln)
                if nested:
                    raise Failed(err.message, err.rc) from None
                session.out.error(str(err))
                return err.rc
            if echo and block.kind != "inline":
                session.out.emit(block.numbered(session.linesize))
            elif echo:
                _echo(session, ln)
        else:
            if echo:
                _echo(session, ln)
            i += 1
        if nested:
            run_nested(session, ln.text, block=block)
        else:
            rc = run_line(session, ln.text, block=block)
            if rc:
                failed = rc
                if stop:
                    return rc
        if block is not None and block.kind == "inline" and echo:
            _echo(session, block.close)
    return failed


def _echo(session: Session, ln: Line) -> None:
    session.out.emit(echo_text(ln, width=session.linesize))


# -- loops ------------------------------------------------------------------------------------
@contextmanager
def in_loop(session: Session) -> Iterator[None]:
    """While a loop runs (``continue`` is allowed in its body)."""
    session.frame.loops += 1
    try:
        yield
    finally:
        session.frame.loops -= 1


def run_iteration(session: Session, block: Block) -> bool:
    """Run a loop's body once; False when ``continue, break`` left the loop."""
    try:
        run_block(session, block)
    except LoopControl as control:
        return not control.leave
    return True


# -- local macros and temporary objects --------------------------------------------------------
@contextmanager
def local_frame(session: Session, frame: Frame | None = None) -> Iterator[Frame]:
    """Run a do-file or program with its own local macros; its temporary variables, scalars,
    matrices and files are dropped when it ends, and data it preserved are restored (Stata's
    ``preserve``: "restored after program termination", a failure included)."""
    outer, preserved = session.frame, session.preserved
    session.frame = frame if frame is not None else Frame()
    try:
        yield session.frame
    finally:
        inner, session.frame = session.frame, outer
        if session.preserved is not None and session.preserved is not preserved:
            from hlmshell.commands.data.datafiles import put_back

            put_back(session)
            session.preserved = None
        drop_temporaries(session, inner.temporaries)


def drop_temporaries(session: Session, temporaries: list[tuple[str, str]]) -> None:
    variables = [name for kind, name in temporaries if kind == "var" and name in session.variables]
    if variables:
        changed = session.changed
        session.set_data(session.data.drop(columns=variables), changed=changed)
    names = {name for kind, name in temporaries if kind == "name"}
    if names & (set(session.scalars) | set(session.matrices)):
        session.scalars = {k: v for k, v in session.scalars.items() if k not in names}
        session.matrices = {k: v for k, v in session.matrices.items() if k not in names}
    for kind, name in temporaries:
        if kind == "file":
            for path in (name, name + ".dta"):
                if os.path.isfile(path):
                    os.remove(path)


# -- do-files ---------------------------------------------------------------------------------
def run_script(session: Session, text: str, *, echo: bool = True, stop: bool = True,
               args: str = "") -> int:
    """Run the text of a do-file (its arguments `` `1' ``, `` `2' ``... from ``args``); print ``end
    of do-file``; return the rc of the failure or 0."""
    global _depth
    if _depth >= MAX_DEPTH:
        raise StataError("do-files nested too deeply", 1000)
    _depth += 1
    try:
        with local_frame(session, Frame(locals=arguments(args))):
            rc = run_commands(session, script_lines(text), echo=echo, stop=stop)
    except ExitRequest as request:
        if request.leave:
            raise
        rc = request.rc
    finally:
        _depth -= 1
    session.out.emit("\nend of do-file\n" if rc else "\nend of do-file")
    return rc


def resolve_dofile(session: Session, name: str) -> Path:
    """The file ``do name`` means: relative to the session's directory, ``.do`` added if no suffix."""
    from hlmshell.data.files import user_path  # not at start-up: it brings pandas

    name = unquote(name)
    if not name:
        raise StataError("invalid file specification", 198)
    path = user_path(session.cwd, name)
    if not path.suffix and path.name:       # (``/`` has no name to add .do to)
        path = path.with_suffix(".do")
    if not path.is_file():
        raise StataError(f"file {name if Path(name).suffix else name + '.do'} not found", 601)
    return path


def read_script(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise StataError(f"file {path} could not be opened", 603) from err
