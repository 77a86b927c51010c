"""Running scripts: do-files, ``-e`` commands and standard input, echoed like a Stata log.

A script runs its commands in order, each echoed as ``. command``, and stops at the first error, as
``stata -b do`` does::

    . sumarize
    command sumarize is unrecognized
    r(199);

    end of do-file

    r(199);

The last ``r(#);`` is printed by whoever ran the script (the ``do`` command through the dispatcher, or
the command line).  ``exit`` inside a script ends that script and returns to its caller.
"""

from __future__ import annotations

from pathlib import Path

from hlmshell.errors import StataError
from hlmshell.lang.lines import logical_lines
from hlmshell.lang.scan import unquote
from hlmshell.shell.dispatcher import run_line
from hlmshell.shell.session import Session

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


class ScriptFailed(StataError):
    """A do-file stopped at an error; the messages are already printed, only ``r(#);`` remains.

    ``keep_state`` tells the dispatcher not to undo the commands of the script that did succeed.
    """

    keep_state = True

    def __init__(self, rc: int) -> None:
        super().__init__("", rc)


def run_commands(session: Session, lines: list[str], *, echo: bool = True,
                 stop: bool = True) -> int:
    """Run logical command lines; return the rc of the first failure (the last one if not ``stop``).

    Raises :class:`ExitRequest` when a line is ``exit`` (the caller decides what leaving means).
    """
    failed = 0
    for line in lines:
        if echo:
            session.out.echo(line)
        rc = run_line(session, line)
        if rc:
            failed = rc
            if stop:
                return rc
    return failed


def run_script(session: Session, text: str, *, echo: bool = True, stop: bool = True) -> int:
    """Run the text of a do-file; print ``end of do-file``; return the rc of the failure or 0."""
    global _depth
    if _depth >= MAX_DEPTH:
        raise StataError("do-files nested too deeply", 1000)
    _depth += 1
    try:
        rc = run_commands(session, logical_lines(text), echo=echo, stop=stop)
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
    if not path.suffix:
        path = path.with_suffix(".do")
    if not path.is_file():
        raise StataError(f"file {name if Path(name).suffix else name + '.do'} not found", 601)
    return path


def read_script(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise StataError(f"file {path} could not be opened", 603) from err
